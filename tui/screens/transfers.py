"""The transfers screen: every pull and push of the session, live, several at once.

The screen is installed once (the App's ``transfers_screen()``, tui/features.py) so it, its
workers and its history outlive leaving it: `T` (or `q`) goes back to the list while transfers
keep running, `T` on the list comes back. Each transfer runs in its own thread worker; its
progress snapshots travel as ``TransferProgress`` messages that replace a queued one of the
same transfer instead of piling up, so a fast stream never floods the UI.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static
from textual.worker import Worker, get_current_worker

from tui.messages import ImageArrived
from tui.screens.base import BaseScreen, failure_text, features
from tui.service.errors import Cancelled, ImagedeckError
from tui.service.transfer_progress import TransferEvent
from tui.service.transfers import familiar, now
from tui.widgets.progress import (
    CANCELLED,
    CANCELLING,
    DONE,
    FAILED,
    Transfer,
    TransferView,
)

if TYPE_CHECKING:
    from tui.service.api import ImageServiceAPI

SCREEN_NAME = "transfers"
_ids = itertools.count(1)

#: Called on the UI thread when a transfer ends: (transfer, succeeded).
OnDone = Callable[[Transfer, bool], None]


class TransferProgress(Message):
    """A newer snapshot of one transfer; replaces a queued snapshot of the same transfer."""

    def __init__(self, transfer_id: int, event: TransferEvent) -> None:
        super().__init__()
        self.transfer_id = transfer_id
        self.event = event

    def can_replace(self, message: Message) -> bool:
        """Only the newest snapshot matters (each one carries every layer)."""
        return isinstance(message, TransferProgress) and message.transfer_id == self.transfer_id


class TransferEnded(Message):
    """A transfer finished: ``error`` is None on success, the readable reason otherwise."""

    def __init__(
        self, transfer_id: int, error: ImagedeckError | None, cancelled: bool = False
    ) -> None:
        super().__init__()
        self.transfer_id = transfer_id
        self.error = error
        self.cancelled = cancelled


def _b(key: str, action: str, short: str, long: str, bid: str, show: bool = True) -> Binding:
    return Binding(key, action, short, show=show, id=bid, tooltip=long)


class TransfersScreen(BaseScreen[None]):
    """Pulls and pushes with per-layer bars; Esc cancels the focused one."""

    CSS_PATH = "transfers.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        _b(
            "escape", "cancel_or_back", "Cancel", "Cancel the selected transfer", "transfers.cancel"
        ),
        _b("x", "cancel", "Cancel", "Cancel the selected transfer", "transfers.cancel_x", False),
        _b("down,j", "next", "Next", "Select the next transfer", "transfers.next", False),
        _b("up,k", "previous", "Previous", "Select the previous transfer", "transfers.prev", False),
        _b("C", "clear", "Clear ended", "Remove ended transfers", "transfers.clear"),
        _b("p", "pull", "Pull", "Pull another image", "transfers.pull"),
        _b("T,q", "back", "Back", "Back to the image list (transfers go on)", "transfers.back"),
    ]

    def __init__(self, clock: Callable[[], float] = now) -> None:
        super().__init__()
        self.clock = clock
        self.transfers: dict[int, Transfer] = {}
        self._cancels: dict[int, threading.Event] = {}
        self._on_done: dict[int, OnDone] = {}
        self._pending: list[tuple[Transfer, dict[str, Any]]] = []
        # Which transfer each running worker carries (for worker_failed).
        self._by_worker: dict[Worker[Any], int] = {}

    def compose(self) -> ComposeResult:
        """Title, the list of transfers, footer."""
        yield Static("Transfers", id="transfers-title", markup=False)
        yield Static("No transfers yet: press p to pull.", id="transfers-empty", markup=False)
        yield VerticalScroll(id="transfers-list")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Start what was queued before the screen was shown; tick elapsed times."""
        self.set_interval(1.0, self._tick)
        pending, self._pending = self._pending, []
        for transfer, options in pending:
            self._launch(transfer, options)
        self._update_title()

    # -- starting ----------------------------------------------------------------------------

    def start_pull(
        self,
        reference: str,
        *,
        all_tags: bool = False,
        platform: str | None = None,
        on_done: OnDone | None = None,
    ) -> Transfer:
        """Start pulling ``reference`` (already checked with the grammar by the dialog)."""
        options = ", ".join(
            part for part in ("all tags" if all_tags else "", platform or "") if part
        )
        transfer = Transfer(next(_ids), "pull", reference, self.clock(), options=options)
        self._start(transfer, {"all_tags": all_tags, "platform": platform}, on_done)
        return transfer

    def start_push(self, reference: str, on_done: OnDone | None = None) -> Transfer:
        """Start pushing ``reference``."""
        transfer = Transfer(next(_ids), "push", reference, self.clock())
        self._start(transfer, {}, on_done)
        return transfer

    def _start(self, transfer: Transfer, options: dict[str, Any], on_done: OnDone | None) -> None:
        self.transfers[transfer.id] = transfer
        self._cancels[transfer.id] = threading.Event()
        if on_done is not None:
            self._on_done[transfer.id] = on_done
        if self.is_mounted:
            self._launch(transfer, options)
        else:
            self._pending.append((transfer, options))

    def _launch(self, transfer: Transfer, options: dict[str, Any]) -> None:
        view = TransferView(transfer, self.clock)
        self.query_one("#transfers-list", VerticalScroll).mount(view)
        self.query_one("#transfers-empty").display = False
        view.focus()
        self._update_title()
        if not self.has_service:
            self.post_message(
                TransferEnded(transfer.id, ImagedeckError("Not connected to a Docker daemon."))
            )
            return
        self.run_transfer(self.service, transfer.id, transfer.kind, transfer.reference, options)

    @work(thread=True, exclusive=False, group="transfers", exit_on_error=False)
    def run_transfer(
        self,
        service: ImageServiceAPI,
        transfer_id: int,
        kind: str,
        reference: str,
        options: dict[str, Any],
    ) -> None:
        """Run one pull or push in a thread; only messages leave it."""
        self._by_worker[get_current_worker()] = transfer_id
        cancel = self._cancels[transfer_id]
        try:
            if kind == "pull":
                stream = service.pull(reference, cancel=cancel, **options)
            else:
                stream = service.push(reference, cancel=cancel)
            for event in stream:
                self.post_message(TransferProgress(transfer_id, event))
        except Cancelled as exc:
            self.post_message(TransferEnded(transfer_id, exc, cancelled=True))
            return
        except ImagedeckError as exc:
            self.post_message(TransferEnded(transfer_id, exc))
            return
        self.post_message(TransferEnded(transfer_id, None))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure ends its transfer as failed, with the reason."""
        transfer_id = self._by_worker.pop(worker, None)
        if transfer_id is not None:
            self.post_message(TransferEnded(transfer_id, ImagedeckError(failure_text(error))))

    # -- progress ----------------------------------------------------------------------------

    def on_transfer_progress(self, message: TransferProgress) -> None:
        """Redraw the transfer with the newest snapshot."""
        transfer = self.transfers.get(message.transfer_id)
        if transfer is None:
            return
        transfer.apply(message.event)
        self._refresh(transfer)

    def on_transfer_ended(self, message: TransferEnded) -> None:
        """Mark the outcome; a finished pull selects the new image in the list."""
        transfer = self.transfers.get(message.transfer_id)
        if transfer is None:
            return
        transfer.ended = self.clock()
        if message.cancelled:
            transfer.state = CANCELLED
            transfer.error = f"Cancelled: the connection was closed; nothing was {transfer.kind}ed."
        elif message.error is not None:
            transfer.state = FAILED
            transfer.error = str(message.error)
        else:
            transfer.state = DONE
        self._refresh(transfer)
        self._update_title()
        succeeded = transfer.state == DONE
        self._announce(transfer, succeeded)
        callback = self._on_done.pop(transfer.id, None)
        if callback is not None:
            callback(transfer, succeeded)

    def _announce(self, transfer: Transfer, succeeded: bool) -> None:
        if succeeded and transfer.kind == "pull":
            reference = familiar(transfer.reference)
            if transfer.options.startswith("all tags"):
                reference = reference.rsplit(":", 1)[0] + ":latest"
            self.app.post_message(ImageArrived(reference))
        verb = "Pulled" if transfer.kind == "pull" else "Pushed"
        if succeeded:
            self.app.notify(f"{verb} {transfer.reference}", timeout=4, markup=False)
        elif transfer.state == FAILED:
            self.app.notify(
                transfer.error, title=f"{transfer.kind} failed", severity="error", markup=False
            )

    def _refresh(self, transfer: Transfer) -> None:
        for view in self.query(TransferView):
            if view.transfer is transfer:
                view.refresh(layout=True)

    def _tick(self) -> None:
        for view in self.query(TransferView):
            if view.transfer.running:
                view.refresh()

    def _update_title(self) -> None:
        running = sum(1 for t in self.transfers.values() if t.running)
        ended = len(self.transfers) - running
        self.query_one("#transfers-title", Static).update(
            f"Transfers · {running} running · {ended} ended"
        )

    # -- keys ---------------------------------------------------------------------------------

    def _selected(self) -> Transfer | None:
        focused = self.focused
        if isinstance(focused, TransferView):
            return focused.transfer
        return None

    def cancel(self, transfer: Transfer) -> None:
        """Ask a running transfer to stop: its connection is closed by the service."""
        if not transfer.running:
            return
        transfer.state = CANCELLING
        self._cancels[transfer.id].set()
        self._refresh(transfer)

    def action_cancel_or_back(self) -> None:
        """Esc: cancel the selected running transfer, or go back when there is none."""
        transfer = self._selected()
        if transfer is not None and transfer.running:
            if transfer.state != CANCELLING:
                self.cancel(transfer)
            return
        self.action_back()

    def action_cancel(self) -> None:
        """Cancel the selected transfer."""
        transfer = self._selected()
        if transfer is not None:
            self.cancel(transfer)

    def action_next(self) -> None:
        """Select the next transfer."""
        self.focus_next(TransferView)

    def action_previous(self) -> None:
        """Select the previous transfer."""
        self.focus_previous(TransferView)

    def action_clear(self) -> None:
        """Forget ended transfers."""
        for view in list(self.query(TransferView)):
            if not view.transfer.running:
                self.transfers.pop(view.transfer.id, None)
                self._cancels.pop(view.transfer.id, None)
                view.remove()
        self.query_one("#transfers-empty").display = not self.transfers
        self._update_title()

    def action_pull(self) -> None:
        """Another pull, from here."""
        features(self.app).action_pull()

    def action_back(self) -> None:
        """Back to where the user came from; transfers keep running."""
        if self.app.screen is self and len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def cancel_all(self) -> None:
        """Cancel every running transfer."""
        for transfer in self.transfers.values():
            self.cancel(transfer)

    def on_unmount(self) -> None:
        """The app is exiting: close every transfer's connection so the daemon drops it too."""
        for event in self._cancels.values():
            event.set()
