"""The imagedeck application: connection, the events thread, and screen routing.

A little over 500 lines because it is the one owner of what is app-wide: the connection (its
handover from the early first page, context switches, the fleet), the keymap and theme from the
config and its clash notice, the last-use record and the messages screens send it; each is a
short section below. The events thread (tui/events_thread.py) and the palette's commands from
key bindings (tui/palette.py) are apart, and so are the features' entries, one action each
(tui/features.py, the App's base class).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.signal import Signal
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from tui.config import Config, config_path
from tui.events_thread import EventsThread
from tui.features import FeatureActions
from tui.logs import get_logger
from tui.messages import (
    BackToImageList,
    Connected,
    ConnectFailed,
    DaemonBack,
    DaemonLost,
    ImageArrived,
    ImagesChanged,
    ImagesNeedReload,
    LastUsedChanged,
    RetryConnect,
)
from tui.palette import binding_palette
from tui.safe_text import visible
from tui.screens.build_session import BuildSession
from tui.screens.daemon_down import DaemonDownScreen
from tui.screens.images import ImagesScreen
from tui.service.errors import ImagedeckError

if TYPE_CHECKING:
    from textual.binding import Binding as _Binding
    from textual.dom import DOMNode
    from textual.screen import Screen

    from tui.prefetch import Prefetch
    from tui.screens.base import Features, ListHost
    from tui.service import ImageService
    from tui.service.connection import ContextInfo
    from tui.service.fleet import MemberSpec
    from tui.service.lastused import LastUsedRecorder
    from tui.service.models import DaemonEvent

log = get_logger("app")


def _connect_context(name: str) -> ImageService:
    from tui.service import ImageService

    return ImageService.connect(context=name)


def _list_contexts() -> list[ContextInfo]:
    from tui.service.connection import list_contexts

    return list_contexts()


# Seconds between the first frame over a painted first page and the connection's start.
CONNECT_AFTER_FIRST_FRAME = 0.5


class ImagedeckApp(FeatureActions):
    """A keyboard-driven terminal UI for Docker images."""

    CSS_PATH = "app.tcss"
    TITLE = "imagedeck"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True, id="app.quit"),
        # Not a priority binding: a screen's own `?` (with extra lines) wins, and a text field
        # still types "?".
        Binding(
            "question_mark", "help", "Help", show=False, id="app.help", tooltip="Help: every key"
        ),
    ]

    def __init__(
        self,
        service_factory: Callable[[], ImageService],
        *,
        host_hint: str = "",
        sandbox_note: str | None = None,
        prefetch: Prefetch | None = None,
        config: Config | None = None,
        context_factory: Callable[[str], ImageService] = _connect_context,
        context_lister: Callable[[], list[ContextInfo]] = _list_contexts,
    ) -> None:
        super().__init__()
        from tui.widgets.toggles import install

        install()  # an unchecked box or radio reads as empty, not only as another colour
        self.service_factory = service_factory
        # The user's settings (an empty Config when there is no file); see tui/config.py.
        self.config = config or Config(path=config_path())
        # How the context switcher connects to a context and lists them (tests replace these).
        self.context_factory = context_factory
        self.context_lister = context_lister
        self._clash_reported: set[frozenset[str]] = set()
        self.host_hint = host_hint
        self.sandbox_note = sandbox_note
        # The build form's values and recent builds: this app's own (tui/screens/build_session.py).
        self.build_session = BuildSession()
        # Several daemons (--host A --host B): the fleet view opens over the list at start.
        self.fleet_members: tuple[MemberSpec, ...] = ()
        # The user's terminal settings from before the first page made it raw (cli.py).
        self.user_terminal: list[Any] | None = None
        self._missed_connect: ConnectFailed | None = None
        self.service: ImageService | None = None
        self._prefetch = prefetch
        self._events_thread = EventsThread(self.post_message, self._record_use)
        # Daemon events for every screen that shows daemon state besides the list: each
        # subscribes on mount and unsubscribes on unmount (tui/screens/base.py).
        self.daemon_events: Signal[tuple[DaemonEvent, ...]] = Signal(self, "daemon-events")
        self._connect_started = False
        self._connect_fallback: Timer | None = None
        self.images_screen = ImagesScreen()
        # When each image was last used, recorded per daemon (tui/service/lastused.py).
        self.last_used: LastUsedRecorder | None = None
        if self.config.default_sort:
            from tui.listmodel import SORT_IDS

            self.images_screen.model.sort_index = SORT_IDS.index(self.config.default_sort)
        self.images_screen.hidden_columns = self.config.hidden_columns

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification (screens' and widgets' ``notify`` come here): never markup.

        Notifications carry daemon and registry errors, references and paths: text nobody
        checked. It is shown as written, with its control characters visible, so "Fix [keys]
        in …" keeps its brackets and ``[/x]`` cannot end the app. ``markup`` is ignored on
        purpose: Widget.notify passes True by default, and no message here is markup.
        """
        del markup
        super().notify(
            visible(message, keep_newlines=True),
            title=visible(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # -- connection --------------------------------------------------------------------------

    async def on_mount(self) -> None:
        """Apply the configuration, show the image list and connect in the background."""
        from tui.terminal import exit_on_signals

        exit_on_signals(self)  # SIGTERM/SIGHUP exit like q: the terminal is restored
        from tui.memory import START_UP_PAUSE_MAX, resume_collector

        # The collector paused for start-up comes back when the list is in, or by then.
        self.set_timer(START_UP_PAUSE_MAX, resume_collector)
        self._give_back_the_users_terminal()
        self._apply_config()
        from tui.logs import problem as log_problem

        if (why := log_problem()) is not None:  # e.g. a symlinked state directory
            self.notify(why, title="Log file", severity="warning", timeout=30, markup=False)
        list_mounted = self.push_screen(self.images_screen)
        if self.fleet_members:
            self.open_fleet(self.fleet_members)
        if self._prefetch is not None and self._prefetch.has_early:
            # The list asked for with the standard library is shown first; docker-py (a fifth
            # of a second of imports that would compete with the first frame for the GIL) is
            # loaded and connected right after that frame. A slow answer does not hold the
            # connection up for long.
            early = self._prefetch.early
            if self._prefetch.painted and early.exception(timeout=5) is None:
                # The first page is on the terminal already (tui/firstpaint.py), drawn from the
                # answer ``early`` was parsed from (a moment's work, done by now): the first
                # frame shows the same list, so nothing on screen changes when Textual takes
                # over, and keys typed meanwhile act on that list.
                self.images_screen.preload(early.result())
                # Keys typed over the first page are handled right after this frame; docker-py's
                # import (0.1-0.2 s of CPU) in the connect thread would take turns with them on
                # the GIL and hold the list's answers back, so it starts a moment later.
                self.call_after_refresh(
                    self.set_timer, CONNECT_AFTER_FIRST_FRAME, self.connect_once
                )
            else:
                self.images_screen.load_early(self._prefetch)
            self._connect_fallback = self.set_timer(1.0, self.connect_once)
        else:
            self.connect_once()
        # The pending state names the daemon; skipped when the (prefetched) answer won the race.
        self.call_after_refresh(self._show_pending)
        # Keys read while the program started (typed over the first page) wait in the app's
        # queue behind this handler: the list has composed and mounted before they are handled,
        # so a `/` finds the filter rather than a screen still being built.
        await list_mounted

    def _give_back_the_users_terminal(self) -> None:
        # The first page (tui/firstpaint.py) made the terminal raw before Textual started, so
        # the settings Textual found, and gives back when it suspends for `r`'s docker run,
        # were raw ones: "Press Enter to return" then never saw a line end. Textual is handed
        # the user's own (it reads them afresh on resume: the user's again).
        if self.user_terminal is None:
            return
        from textual.drivers.linux_driver import LinuxDriver

        if isinstance(self._driver, LinuxDriver) and self._driver.attrs_before is not None:
            self._driver.attrs_before = self.user_terminal

    def _show_pending(self) -> None:
        # The early list is the daemon's own answer: it stays on screen while docker-py loads
        # and connects, rather than being emptied for a "Connecting" banner and then shown again.
        if self.images_screen.loaded:
            return
        if self.service is None and isinstance(self.screen, ImagesScreen):
            self.images_screen.show_connecting(self.host_hint)

    def _apply_config(self) -> None:
        """Keymap and theme from the config file; every problem is reported, none ignored."""
        config = self.config
        problems = list(config.problems)
        if config.keys:
            from tui.config import accepted_keymap, known_bindings

            bindings = known_bindings(extra=(type(self), ImagesScreen, DaemonDownScreen))
            # A remap that would give a key two actions is refused, its default kept.
            keymap, refused = accepted_keymap(config.keys, bindings)
            problems += refused
            self.set_keymap(keymap)
        if config.theme:
            if config.theme in self.available_themes:
                self.theme = config.theme
            else:
                names = ", ".join(sorted(self.available_themes))
                problems.append(f"theme {config.theme!r} is not a Textual theme ({names})")
        if problems:
            for problem in problems:
                log.warning("config %s: %s", config.path, problem)
            self.notify(
                "\n".join(f"• {p}" for p in problems),
                title=f"Problems in {config.path}",
                severity="warning",
                timeout=30,
            )

    def take_prefetch(self) -> Prefetch | None:
        """The prefetched first results, once (later loads ask the daemon)."""
        prefetch, self._prefetch = self._prefetch, None
        return prefetch

    def connect_once(self) -> None:
        """Start the first connection (after the early list's frame, or its fallback timer)."""
        if self._connect_fallback is not None:
            self._connect_fallback.stop()
            self._connect_fallback = None
        if not self._connect_started:
            self._connect_started = True
            self.connect()

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self) -> None:
        """Connect to the daemon (in a thread) and report Connected or ConnectFailed."""
        prefetch = self._prefetch
        # A newer connect (a context switch, a retry) cancels this one (exclusive group): its
        # answer is then dropped, and a service it opened is closed.
        worker = get_current_worker()
        log.info("connecting to %s", self.host_hint)
        try:
            if prefetch is not None:
                prefetch.start()  # imports docker-py in its thread, then connects
                service = prefetch.service.result()
                info = prefetch.info.result()
            else:
                service = self.service_factory()
                info = service.info()
        except ImagedeckError as exc:
            self._prefetch = None
            if not worker.is_cancelled:
                log.warning("cannot connect: %s", exc)
                self.post_message(ConnectFailed(self.host_hint, exc))
            return
        if worker.is_cancelled:
            service.close()  # the user switched elsewhere while this connected
            return
        log.info("connected to %s (Docker %s)", service.host, info.server_version)
        self.post_message(Connected(info, service))

    def on_connected(self, message: Connected) -> None:
        """Keep the service, leave the daemon-down screen, load the list, follow events."""
        old = self.service
        self.service = message.service
        if old is not None and old is not message.service:
            self._close_later(old)  # never on the UI thread: an ssh close can wait on the net
        if isinstance(self.screen, DaemonDownScreen):
            self.pop_screen()
        self.images_screen.hide_connecting()
        self.images_screen.connected(message.info)
        self.follow_events()
        self.open_last_used(message.service)

    def on_connect_failed(self, message: ConnectFailed) -> None:
        """Show the full-screen explanation with retry and quit."""
        self.images_screen.hide_connecting()
        if self._fleet_open():
            # The fleet view shows this daemon as down and the others working; the
            # explanation waits until the user leaves the fleet view.
            self._missed_connect = message
            return
        if isinstance(self.screen, DaemonDownScreen):
            self.screen.update_error(message.error)
        else:
            self.push_screen(DaemonDownScreen(message.host, message.error))

    def open_fleet(self, members: Sequence[MemberSpec]) -> None:
        """The fleet view over ``members`` (tui/screens/fleet.py), on top of the list."""
        from tui.screens.fleet import FleetScreen
        from tui.service.fleet import Fleet

        screen = FleetScreen(Fleet(members), hidden=self.config.hidden_columns)
        self.push_screen(screen, self._fleet_closed)

    def _fleet_open(self) -> bool:
        from tui.screens.fleet import FleetScreen

        return any(isinstance(screen, FleetScreen) for screen in self.screen_stack)

    def _fleet_closed(self, _: None) -> None:
        missed, self._missed_connect = self._missed_connect, None
        if missed is not None and self.service is None:
            self.on_connect_failed(missed)

    def retry_connect(self) -> None:
        """Try connecting again (from the daemon-down screen's `r`)."""
        self.connect()

    def on_retry_connect(self, _: RetryConnect) -> None:
        """The daemon-down screen's `r`."""
        self.retry_connect()

    # -- contexts ----------------------------------------------------------------------------

    def action_switch_context(self) -> None:
        """Open the context switcher (palette command; `C` on the image list)."""
        from tui.modals.contexts import ContextsScreen

        current = self.service.endpoint.context if self.service is not None else None
        self.push_screen(ContextsScreen(self.context_lister(), current), self._context_chosen)

    def _context_chosen(self, name: str | None) -> None:
        if name:
            self.switch_context(name)

    def switch_context(self, name: str) -> None:
        """Reconnect to Docker context ``name`` and reload every screen.

        Screens above the list showed the old daemon's objects, so they are closed; the list
        empties and says "Connecting to …" until the new daemon answers (or the daemon-down
        screen says why it did not). The events thread follows the new service.
        """
        log.info("switching to context %s", name)
        # A connect still under way answers for the context the user left: cancel it now (the
        # new connect below would too, but only after the screens are closed).
        self.workers.cancel_group(self, "connect")
        self._prefetch = None
        self.stop_events()
        old, self.service = self.service, None
        if old is not None:
            self._close_later(old)
        self.service_factory = lambda: self.context_factory(name)
        self.host_hint = self._context_hint(name)
        while len(self.screen_stack) > 1 and self.screen is not self.images_screen:
            self.pop_screen()
        self.images_screen.show_connecting(self.host_hint)
        self.connect()

    def _context_hint(self, name: str) -> str:
        """What the header shows while connecting: the context's host, as the switcher lists it."""
        for info in self.context_lister():
            if info.name == name:
                return info.host if name == "default" else f"{info.host} (context {name})"
        return f"context {name}"

    @work(thread=True, group="close", exit_on_error=False)
    def _close_later(self, service: ImageService) -> None:
        """Close a replaced service off the UI thread (an ssh close can wait on the network)."""
        service.close()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands, switch context, the disk map, then every action bound on
        ``screen`` and (from another screen) the list's global ones (tui/palette.py)."""
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Switch Docker context (docker contexts)",
            "Reconnect to another daemon (docker context ls) and reload",
            self.action_switch_context,
        )
        yield SystemCommand(
            "Disk map",
            "Space by repository, tag and layer, sorted by what deleting frees (D)",
            self.images_screen.action_disk_map,
        )
        offered = {"Switch Docker context (docker contexts)", "Disk map"}
        yield from binding_palette(self, screen, self.images_screen, offered)

    def handle_bindings_clash(self, clashed_bindings: set[_Binding], node: DOMNode) -> None:
        """A remapped key that collides with another binding: say so once."""
        ids = frozenset(b.id or b.action for b in clashed_bindings)
        if ids in self._clash_reported:
            return
        self._clash_reported.add(ids)
        log.warning("key clash on %s: %s", type(node).__name__, ", ".join(sorted(ids)))
        self.notify(
            f"Key clash on {type(node).__name__}: {', '.join(sorted(ids))} share a key. "
            f"Fix [keys] in {self.config.path}.",
            severity="warning",
            timeout=15,
        )

    # -- events ------------------------------------------------------------------------------

    def follow_events(self) -> None:
        """Start the one events thread (tui/events_thread.py), replacing a previous one."""
        self.stop_events()
        if self.service is not None:
            self._events_thread.start(self.service)

    @work(thread=True, exclusive=True, group="last-used", exit_on_error=False)
    def open_last_used(self, service: ImageService) -> None:
        """Load this daemon's last-used record and add the containers that exist now."""
        from tui.service.lastused import LastUsedRecorder

        self.last_used = None
        try:
            recorder = LastUsedRecorder.open(service)
        except (ImagedeckError, OSError, AttributeError) as exc:
            # AttributeError: a stand-in service without a daemon client (tests).
            log.warning("last-used record not kept: %s", exc)
            return
        if service is self.service:
            self.last_used = recorder
            self.post_message(LastUsedChanged())

    def _record_use(self, service: ImageService, event: DaemonEvent) -> None:
        """A container create/start marks its image as used (on the events thread)."""
        recorder = self.last_used
        if recorder is None or event.type != "container":
            return
        try:
            if recorder.observe(service, event):
                self.post_message(LastUsedChanged())
        except (ImagedeckError, OSError) as exc:
            log.warning("last-used record: %s", exc)

    def on_last_used_changed(self, _: LastUsedChanged) -> None:
        """The LAST USED column (and an open disk map) show the new record."""
        self.images_screen.last_used_changed()

    def on_images_changed(self, message: ImagesChanged) -> None:
        """Forward daemon changes to the image list (it coalesces them)."""
        self.images_screen.post_message(ImagesChanged(message.events))
        # Other open screens that show daemon state (containers, disk map) subscribe to this.
        self.daemon_events.publish(message.events)

    def on_image_arrived(self, message: ImageArrived) -> None:
        """A build, pull or commit made an image: the list selects it after its reload."""
        self.images_screen.select_after_load(message.reference)
        self.images_screen.reload()

    def on_images_need_reload(self, _: ImagesNeedReload) -> None:
        """A feature changed the daemon's images."""
        self.images_screen.reload()

    def on_back_to_image_list(self, _: BackToImageList) -> None:
        """Close every screen above the image list."""
        while len(self.screen_stack) > 1 and self.screen is not self.images_screen:
            self.pop_screen()

    def on_daemon_lost(self, message: DaemonLost) -> None:
        """Show the reconnect banner."""
        self.images_screen.post_message(DaemonLost(message.reason, message.retry_in))

    def on_daemon_back(self, _: DaemonBack) -> None:
        """Hide the banner and reload."""
        self.images_screen.post_message(DaemonBack())

    def stop_events(self) -> None:
        """Stop the events thread and shut its socket."""
        self._events_thread.stop()

    def on_unmount(self) -> None:
        """Stop the events thread so the process can exit promptly."""
        self.stop_events()

    def action_interrupt(self) -> None:
        """ctrl+c: a screen with something running (a build) asks first; otherwise quit.

        A screen takes part by defining ``interrupt() -> bool`` (True: it handled the key).
        """
        interrupt = getattr(self.screen, "interrupt", None)
        if callable(interrupt) and interrupt():
            return
        self.exit()

    # -- errors from any worker --------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The App's own workers fail the way every screen's do (tui/screens/base.py)."""
        from tui.screens.base import route_worker_failure

        route_worker_failure(self, event)


if TYPE_CHECKING:

    def _declares_list_host(app: ImagedeckApp) -> ListHost:
        # mypy checks the App against what the image list asks of it (tui/screens/base.py).
        return app

    def _declares_features(app: ImagedeckApp) -> Features:
        # mypy checks the App's feature entries against what screens call (tui/features.py).
        return app
