"""Base classes for screens, dialogs and helper widgets: a typed service, one failure path.

Each base gives ``self.service`` (the app's service, typed; raises ``NotConnected`` when the
app has none yet or lost it) and routes every failed worker through ``route_worker_failure``:
the failure is logged with its traceback (tui/logs.py), shown in a readable notification that
is never parsed as markup, and handed to the node's ``worker_failed`` hook, where a stateful
dialog gives control back (re-enables its buttons, ends with a partial result, replaces
"checking…" with the reason).

Textual posts ``Worker.StateChanged`` only to the node that owns the worker (the message does
not bubble), so the App's handler never hears a screen's workers: every node that starts
workers derives from one of these bases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from tui.logs import get_logger, log_path
from tui.service.errors import ImagedeckError, NotConnected

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.signal import Signal

    from tui.config import Config
    from tui.prefetch import Prefetch
    from tui.service.api import ImageServiceAPI
    from tui.service.lastused import LastUsedRecorder
    from tui.service.models import DaemonEvent
    from tui.widgets.progress import Transfer

ResultT = TypeVar("ResultT")
log = get_logger("workers")


def app_service(app: App[Any]) -> ImageServiceAPI:
    """The app's connected service; raises NotConnected when there is none.

    The one place that reads the App's ``service`` attribute, so no UI module imports
    ``tui.app`` to type it: screens see the service as ``ImageServiceAPI``.
    """
    service: ImageServiceAPI | None = getattr(app, "service", None)
    if service is None:
        raise NotConnected()
    return service


class ListHost(Protocol):
    """What the image list asks of its App, typed without importing ``tui.app``.

    ``ImagedeckApp`` declares it (tui/app.py has mypy check the App against it).
    """

    @property
    def service(self) -> ImageServiceAPI | None:
        """The connected service, or None."""
        ...

    @property
    def config(self) -> Config:
        """The user's configuration."""
        ...

    @property
    def host_hint(self) -> str:
        """The daemon address before a service exists."""
        ...

    @property
    def sandbox_note(self) -> str | None:
        """Why this is the sandbox daemon (None when it is not)."""
        ...

    @property
    def last_used(self) -> LastUsedRecorder | None:
        """The last-use record of this daemon, once loaded."""
        ...

    def take_prefetch(self) -> Prefetch | None:
        """The prefetched first results, once."""
        ...

    def connect_once(self) -> None:
        """Connect (the first time only)."""
        ...

    def action_switch_context(self) -> None:
        """Open the context switcher."""
        ...


def list_host(app: App[Any]) -> ListHost:
    """The App as the image list sees it (checked structurally in tui/app.py)."""
    return cast("ListHost", app)


class Features(Protocol):
    """The features' one kind of entry: an action on the App each (tui/features.py).

    Typed here so a screen calls them without importing ``tui.app``:
    ``features(self.app).action_build()``; bindings name them as ``app.<name>``.
    ``ImagedeckApp`` declares it (tui/app.py has mypy check the App against it).
    """

    def action_help(self, extra: str = "") -> None:
        """The current screen's live bindings in the help dialog."""
        ...

    def action_open_commit(self, container_id: str, container_name: str = "") -> None:
        """The commit dialog for a container."""
        ...

    def action_build(self, context: str | None = None) -> None:
        """The build form."""
        ...

    def action_recent_builds(self) -> None:
        """The session's builds."""
        ...

    def action_run(self, image: str) -> None:
        """The run dialog for ``image``."""
        ...

    def action_pull(self, initial: str = "", choices: Sequence[str] = (), why: str = "") -> None:
        """The pull dialog."""
        ...

    def action_start_pull(
        self,
        reference: str,
        all_tags: bool = False,
        platform: str | None = None,
        on_done: Callable[[Transfer, bool], None] | None = None,
    ) -> None:
        """Pull ``reference`` on the transfers screen (no dialog)."""
        ...

    def action_push(self, reference: str) -> None:
        """Push ``reference`` on the transfers screen."""
        ...

    def action_transfers(self) -> None:
        """The transfers screen."""
        ...


def features(app: App[Any]) -> Features:
    """The App as the features' entries (checked structurally in tui/app.py)."""
    return cast("Features", app)


def has_service(app: App[Any]) -> bool:
    """True when the app has a service (connected, or not yet known to be lost)."""
    return getattr(app, "service", None) is not None


def follow_daemon_events(
    node: DOMNode, callback: Callable[[tuple[DaemonEvent, ...]], object]
) -> None:
    """Call ``callback`` (on ``node``'s message loop) with each burst of daemon events.

    The App publishes them on its ``daemon_events`` Signal; call this in ``on_mount`` and
    ``stop_following_daemon_events`` in ``on_unmount``. An app without the signal (a test
    harness) has no events to give.
    """
    signal: Signal[tuple[DaemonEvent, ...]] | None = getattr(node.app, "daemon_events", None)
    if signal is not None:
        signal.subscribe(node, callback)


def stop_following_daemon_events(node: DOMNode) -> None:
    """Undo ``follow_daemon_events`` (a screen that is popped hears no more events)."""
    signal: Signal[tuple[DaemonEvent, ...]] | None = getattr(node.app, "daemon_events", None)
    if signal is not None:
        signal.unsubscribe(node)


def failure_text(error: BaseException | None) -> str:
    """What the user reads: the service's sentence, or a short unexpected-error line."""
    if isinstance(error, ImagedeckError):
        return str(error)
    name = type(error).__name__ if error is not None else "unknown error"
    detail = f"{name}: {error}" if error is not None and str(error) else name
    return f"Unexpected error ({detail}). The traceback is in {log_path()}."


def route_worker_failure(node: DOMNode, event: Worker.StateChanged) -> bool:
    """Log, show and hand back a failed worker of ``node``; False for other state changes."""
    if event.state != WorkerState.ERROR:
        return False
    worker = event.worker
    error = worker.error
    where = f"{type(node).__name__}.{worker.name or worker.group}"
    if isinstance(error, ImagedeckError):
        log.warning("%s failed: %s", where, error)
    else:
        exc_info = (type(error), error, error.__traceback__) if error is not None else None
        log.error("%s failed unexpectedly", where, exc_info=exc_info)
    node.app.notify(failure_text(error), title="Error", severity="error", timeout=10, markup=False)
    hook = getattr(node, "worker_failed", None)
    if callable(hook):
        try:
            hook(worker, error)
        except Exception:  # a broken hook must not hide the first failure
            log.exception("%s: worker_failed hook failed", where)
    return True


class _OnApp(Protocol):
    """What ``ServiceNode`` needs of the node it is mixed into (every DOMNode has it)."""

    @property
    def app(self) -> App[Any]:
        """The running App."""
        ...


class ServiceNode:
    """What the three bases share: a typed ``service``, ``has_service``, the failure path.

    Mixed in before Textual's class (``BaseScreen(ServiceNode, Screen)``), so Textual finds
    ``on_worker_state_changed`` in the node's MRO as it dispatches the message.
    """

    @property
    def service(self: _OnApp) -> ImageServiceAPI:
        """The app's service (raises NotConnected)."""
        return app_service(self.app)

    @property
    def has_service(self: _OnApp) -> bool:
        """True when the app has a service."""
        return has_service(self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every failed worker of this node: logged, shown, handed to ``worker_failed``."""
        route_worker_failure(cast("DOMNode", self), event)

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """Give control back after ``worker`` failed (override; the default does nothing)."""


class BaseScreen(ServiceNode, Screen[ResultT]):
    """A full screen with a typed service and routed worker failures."""


class BaseDialog(ServiceNode, ModalScreen[ResultT]):
    """A modal dialog with a typed service and routed worker failures.

    It carries the one dialog look (``DEFAULT_CSS``, so it is there whichever dialog loads
    first): a centred ``.dialog`` box (``.danger`` for destructive ones), ``.dialog-title``,
    ``.dialog-body`` (scrolls), ``.dialog-warning``, ``.dialog-note``, ``.dialog-status``,
    ``.dialog-buttons`` and ``.dialog-keys``. A dialog's own stylesheet sets only what differs
    (a width, its fields).
    """

    DEFAULT_CSS = """
    BaseDialog {
        align: center middle;
        background: $background 60%;
    }
    BaseDialog .dialog {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    BaseDialog .dialog.danger {
        border: round $error;
    }
    BaseDialog .dialog-title {
        text-style: bold;
        width: 100%;
        padding-bottom: 1;
    }
    BaseDialog .dialog-body {
        height: auto;
        max-height: 12;
    }
    BaseDialog .dialog-warning {
        color: $warning;
        text-style: bold;
        padding-top: 1;
    }
    BaseDialog .dialog-note {
        color: $text-muted;
        padding-top: 1;
    }
    BaseDialog .dialog-status {
        padding-top: 1;
    }
    BaseDialog .dialog-buttons {
        height: auto;
        padding-top: 1;
    }
    BaseDialog .dialog-buttons Button {
        margin-right: 2;
        min-width: 10;
    }
    BaseDialog .dialog-keys {
        color: $text-muted;
    }
    """


class ServiceWidget(ServiceNode, Widget):
    """A widget that runs workers (a hidden controller): typed service, routed failures."""
