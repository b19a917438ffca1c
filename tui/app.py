"""The imagedeck application: connection, the events thread, and screen routing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from tui.messages import Connected, ConnectFailed, DaemonBack, DaemonLost, ImagesChanged
from tui.screens.daemon_down import DaemonDownScreen
from tui.screens.images import ImagesScreen
from tui.service.errors import DaemonUnreachable, ImagedeckError

if TYPE_CHECKING:
    from tui.prefetch import Prefetch
    from tui.service import ImageService
    from tui.service.images import EventStream

BACKOFF_START = 0.5
BACKOFF_MAX = 10.0


class ImagedeckApp(App[None]):
    """A keyboard-driven terminal UI for Docker images."""

    CSS_PATH = "app.tcss"
    TITLE = "imagedeck"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit"),
    ]

    def __init__(
        self,
        service_factory: Callable[[], ImageService],
        *,
        host_hint: str = "",
        sandbox_note: str | None = None,
        prefetch: Prefetch | None = None,
    ) -> None:
        super().__init__()
        self.service_factory = service_factory
        self.host_hint = host_hint
        self.sandbox_note = sandbox_note
        self.service: ImageService | None = None
        self._prefetch = prefetch
        self._events: EventStream | None = None
        self._events_lock = threading.Lock()
        self._events_stop: threading.Event | None = None
        self.images_screen = ImagesScreen()

    # -- connection --------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Show the image list and connect in the background."""
        self.push_screen(self.images_screen)
        self.connect()

    def take_prefetch(self) -> Prefetch | None:
        """The prefetched first results, once (later loads ask the daemon)."""
        prefetch, self._prefetch = self._prefetch, None
        return prefetch

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self) -> None:
        """Connect to the daemon (in a thread) and report Connected or ConnectFailed."""
        prefetch = self._prefetch
        try:
            if prefetch is not None:
                service = prefetch.service.result()
                info = prefetch.info.result()
            else:
                service = self.service_factory()
                info = service.info()
        except ImagedeckError as exc:
            self._prefetch = None
            self.post_message(ConnectFailed(self.host_hint, exc))
            return
        self.post_message(Connected(info, service))

    def on_connected(self, message: Connected) -> None:
        """Keep the service, leave the daemon-down screen, load the list, follow events."""
        old = self.service
        self.service = message.service
        if old is not None and old is not message.service:
            old.close()
        if isinstance(self.screen, DaemonDownScreen):
            self.pop_screen()
        self.images_screen.connected(message.info)
        self.watch_events()

    def on_connect_failed(self, message: ConnectFailed) -> None:
        """Show the full-screen explanation with retry and quit."""
        if isinstance(self.screen, DaemonDownScreen):
            self.screen.update_error(message.error)
        else:
            self.push_screen(DaemonDownScreen(message.host, message.error))

    def retry_connect(self) -> None:
        """Try connecting again (from the daemon-down screen's `r`)."""
        self.connect()

    # -- events ------------------------------------------------------------------------------

    def watch_events(self) -> None:
        """Start the one events thread (replacing a previous one)."""
        self.stop_events()
        service = self.service
        if service is None:
            return
        stop = threading.Event()
        # A plain daemon thread, not a Textual worker: it blocks in a socket read, and a worker
        # thread that never returns would hold up the app's exit (the executor waits for it).
        thread = threading.Thread(
            target=self._events_loop, args=(service, stop), name="daemon-events", daemon=True
        )
        with self._events_lock:
            self._events_stop = stop
        thread.start()

    def _events_loop(self, service: ImageService, stop: threading.Event) -> None:
        """Daemon events become ImagesChanged messages (coalesced by the list).

        When the stream breaks the app shows a banner and reconnects with back-off.
        """
        backoff = BACKOFF_START
        lost = False
        while not stop.is_set():
            try:
                stream = service.open_events()
                with self._events_lock:
                    if stop.is_set():
                        stream.close()
                        return
                    self._events = stream
                if lost:
                    lost = False
                    backoff = BACKOFF_START
                    self.post_message(DaemonBack())
                for event in stream:
                    if stop.is_set():
                        return
                    self.post_message(ImagesChanged((event,)))
                if stop.is_set():
                    return
                raise DaemonUnreachable(service.host, "the event stream ended")
            except ImagedeckError as exc:
                if stop.is_set():
                    return
                lost = True
                self.post_message(DaemonLost(str(exc), backoff))
                if stop.wait(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_MAX)
                try:
                    service.ping()
                except ImagedeckError:
                    continue

    def on_images_changed(self, message: ImagesChanged) -> None:
        """Forward daemon changes to the image list (it coalesces them)."""
        self.images_screen.post_message(ImagesChanged(message.events))

    def on_daemon_lost(self, message: DaemonLost) -> None:
        """Show the reconnect banner."""
        self.images_screen.post_message(DaemonLost(message.reason, message.retry_in))

    def on_daemon_back(self, _: DaemonBack) -> None:
        """Hide the banner and reload."""
        self.images_screen.post_message(DaemonBack())

    def stop_events(self) -> None:
        """Stop the events thread and shut its socket (it blocks in a read)."""
        with self._events_lock:
            if self._events_stop is not None:
                self._events_stop.set()
                self._events_stop = None
            if self._events is not None:
                self._events.close()
                self._events = None

    def on_unmount(self) -> None:
        """Stop the events thread so the process can exit promptly."""
        self.stop_events()

    # -- errors from any worker --------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place for worker failures: a readable notification, never a traceback."""
        if event.state != WorkerState.ERROR:
            return
        error: Any = event.worker.error
        text = (
            str(error) if isinstance(error, ImagedeckError) else f"{type(error).__name__}: {error}"
        )
        self.notify(text, title="Error", severity="error", timeout=10)
