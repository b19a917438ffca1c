"""The daemon's events, followed on one plain thread, with reconnect back-off.

Each event becomes an ``ImagesChanged`` message (the list coalesces them); when the stream
breaks, ``DaemonLost`` (the banner, with the wait before the next try) and, once it is back,
``DaemonBack``. The App owns one ``EventsThread`` and hands it the service to follow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.messages import DaemonBack, DaemonLost, ImagesChanged
from tui.service.errors import DaemonUnreachable, ImagedeckError

if TYPE_CHECKING:
    from textual.message import Message

    from tui.service import ImageService
    from tui.service.images import EventStream
    from tui.service.models import DaemonEvent

BACKOFF_START = 0.5
BACKOFF_MAX = 10.0


class EventsThread:
    """One events stream at a time, on a daemon thread; ``stop`` shuts its socket."""

    def __init__(
        self,
        post: Callable[[Message], object],
        record_use: Callable[[ImageService, DaemonEvent], None],
    ) -> None:
        """``post``: the App's post_message; ``record_use``: sees each event first (last use)."""
        self._post = post
        self._record_use = record_use
        self._events: EventStream | None = None
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None

    def start(self, service: ImageService) -> None:
        """Follow ``service``'s events (stopping the previous thread first)."""
        self.stop()
        stop = threading.Event()
        # A plain daemon thread, not a Textual worker: it blocks in a socket read, and a worker
        # thread that never returns would hold up the app's exit (the executor waits for it).
        thread = threading.Thread(
            target=self._loop, args=(service, stop), name="daemon-events", daemon=True
        )
        with self._lock:
            self._stop = stop
        thread.start()

    def _loop(self, service: ImageService, stop: threading.Event) -> None:
        """Daemon events become ImagesChanged messages (coalesced by the list).

        When the stream breaks the app shows a banner and reconnects with back-off.
        """
        backoff = BACKOFF_START
        lost = False
        while not stop.is_set():
            try:
                stream = service.open_events()
                with self._lock:
                    if stop.is_set():
                        stream.close()
                        return
                    self._events = stream
                if lost:
                    lost = False
                    backoff = BACKOFF_START
                    self._post(DaemonBack())
                for event in stream:
                    if stop.is_set():
                        return
                    self._record_use(service, event)
                    self._post(ImagesChanged((event,)))
                if stop.is_set():
                    return
                raise DaemonUnreachable(service.host, "the event stream ended")
            except ImagedeckError as exc:
                if stop.is_set():
                    return
                lost = True
                self._post(DaemonLost(str(exc), backoff))
                if stop.wait(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_MAX)
                try:
                    service.ping()
                except ImagedeckError:
                    continue

    def stop(self) -> None:
        """Stop the thread and shut its socket (it blocks in a read)."""
        with self._lock:
            if self._stop is not None:
                self._stop.set()
                self._stop = None
            if self._events is not None:
                self._events.close()
                self._events = None
