"""One cancel watcher for the service's blocking streams (pull, push, classic and BuildKit builds).

The service sees cancellation only as a ``threading.Event`` (the UI's worker sets it). A thread
blocked in a socket read (or reading a child's pipe) cannot look at the event, so a small
watcher thread does: once the event is set it runs ``on_cancel`` (shut the socket down, stop
the child), which makes the blocked read return. An Event has no callbacks, hence the polling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: How often the watcher looks at the cancel event (seconds).
POLL = 0.05


class CancelWatcher:
    """Runs ``on_cancel`` once when ``cancel`` is set, unless ``finish()`` came first."""

    def __init__(
        self, cancel: threading.Event, on_cancel: Callable[[], object], *, name: str
    ) -> None:
        self._cancel = cancel
        self._on_cancel = on_cancel
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._finished.is_set():
            if self._cancel.wait(POLL):
                self._on_cancel()
                return

    def finish(self) -> None:
        """The stream ended by itself: stop watching."""
        self._finished.set()
