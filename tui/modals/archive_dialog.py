"""The dialog every archive dialog is: form -> work (byte progress, Cancel/Esc stops it) ->
outcome (one line per image).

``ArchiveDialog`` runs a subclass's service call in a thread worker; progress comes back as a
replaceable message. The save, load/import and copy dialogs are in ``tui/modals/archives.py``.
Outside text is shown through ``safe``, never as markup.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, ProgressBar, RadioSet, Static
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import safe
from tui.screens.base import BaseDialog
from tui.service.errors import Cancelled, FileExists

if TYPE_CHECKING:
    from tui.service.api import ImageServiceAPI

#: At most this many references are listed in a dialog; the rest are counted.
LISTED = 4


class ArchiveProgressed(Message):
    """Progress of the running archive work (a newer one replaces a queued one)."""

    def __init__(self, phase: str, done: int, total: int | None, estimated: bool) -> None:
        super().__init__()
        self.phase = phase
        self.done = done
        self.total = total
        self.estimated = estimated

    def can_replace(self, message: Message) -> bool:
        """Only the newest progress matters."""
        return isinstance(message, ArchiveProgressed)


class ArchiveFinished(Message):
    """The work ended: the lines to show (``ok`` False for a cancel or a refusal)."""

    def __init__(self, lines: list[str], ok: bool, ask_overwrite: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self.ok = ok
        self.ask_overwrite = ask_overwrite


def listed(references: Sequence[str]) -> str:
    """``a, b, c and 3 more``."""
    shown = ", ".join(references[:LISTED])
    more = len(references) - LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def progress_line(phase: str, done: int, total: int | None, estimated: bool) -> str:
    """``saving 12.3 MB of ~40 MB``."""
    if total:
        return f"{phase} {fmt.size(done)} of {'~' if estimated else ''}{fmt.size(total)}"
    return f"{phase} {fmt.size(done)}" if done else f"{phase}…"


class ArchiveDialog(BaseDialog[bool]):
    """The stages every archive dialog shares: form -> work (progress, cancel) -> outcome.

    A subclass composes its fields in ``form()``, names its action in ``ACTION`` and runs the
    service call in ``run(cancel)`` (a thread), returning the outcome lines.
    """

    CSS_PATH = "archives.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="archive.cancel", tooltip="Stop, or close"),
    ]
    heading = ""
    ACTION = "Start"

    def __init__(self, source: ImageServiceAPI | None = None) -> None:
        """``source``: the daemon to work on (a fleet member's); None: the app's service."""
        super().__init__()
        self.source = source
        self.cancel_event = threading.Event()
        self.running = False
        self.finished = False
        self.changed_images = False

    @property
    def daemon(self) -> ImageServiceAPI:
        """The service this dialog works on: its own source, else the app's."""
        return self.source if self.source is not None else self.service

    def form(self) -> ComposeResult:
        """The dialog's own fields (override)."""
        yield from ()

    def compose(self) -> ComposeResult:
        """Title, fields, status, progress, outcome, buttons."""
        with Vertical(classes="dialog archive-dialog"):
            yield Static(Text(self.heading), classes="dialog-title", markup=False)
            with Vertical(id="archive-form"):
                yield from self.form()
            yield Static("", id="archive-status", classes="dialog-status", markup=False)
            yield ProgressBar(id="archive-progress", show_eta=False)
            yield Static("", id="archive-outcome", classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.ACTION, variant="primary", id="archive-ok")
                yield Button("Cancel", id="archive-cancel")

    def on_mount(self) -> None:
        """The progress bar and outcome appear once there is something to show."""
        self.query_one("#archive-progress").display = False
        self.query_one("#archive-outcome").display = False
        self.focus_first()
        self.validate()

    def focus_first(self) -> None:
        """Focus the first field (override)."""

    def validate(self) -> str | None:
        """Why the form cannot start (shown), or None (override)."""
        return None

    def status(self, text: str) -> None:
        """One status line (outside text allowed: never markup)."""
        self.query_one("#archive-status", Static).update(safe(text))

    @on(Input.Changed)
    @on(RadioSet.Changed)
    def _changed(self) -> None:
        if not self.running and not self.finished:
            self.overwrite_cleared()
            self.validate()

    def overwrite_cleared(self) -> None:
        """A field changed after an overwrite question (override)."""

    @on(Input.Submitted)
    @on(Button.Pressed, "#archive-ok")
    def _start(self) -> None:
        if self.finished:
            self.dismiss(self.changed_images)
            return
        if self.running or self.validate():
            return
        self.running = True
        self.cancel_event = threading.Event()
        self.query_one("#archive-form").disabled = True
        self.query_one("#archive-ok", Button).disabled = True
        bar = self.query_one("#archive-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.status(f"{self.ACTION.lower()}…")
        self.query_one("#archive-cancel", Button).focus()
        self._work()

    @work(thread=True, exclusive=True, group="archive", exit_on_error=False)
    def _work(self) -> None:
        try:
            lines, ok = self.run(self.cancel_event)
        except Cancelled as exc:
            self.post_message(ArchiveFinished([f"{exc}: {self.nothing_done()}"], False))
            return
        except FileExists as exc:
            self.post_message(ArchiveFinished([str(exc)], False, ask_overwrite=True))
            return
        self.post_message(ArchiveFinished(lines, ok))

    def run(self, cancel: threading.Event) -> tuple[list[str], bool]:
        """The service call (in a thread): the outcome lines and whether all went well."""
        raise NotImplementedError

    def nothing_done(self) -> str:
        """What a cancel leaves (override)."""
        return "nothing changed"

    def report(self, step: Any) -> None:
        """The service's progress callback (in the worker's thread)."""
        self.post_message(ArchiveProgressed(step.phase, step.done, step.total, step.estimated))

    def on_archive_progressed(self, message: ArchiveProgressed) -> None:
        """Move the bar; say the phase and bytes."""
        if not self.running:
            return
        bar = self.query_one("#archive-progress", ProgressBar)
        if message.total and message.done <= message.total:
            bar.update(total=message.total, progress=message.done)
        else:
            bar.update(total=None)
        self.status(progress_line(message.phase, message.done, message.total, message.estimated))

    def on_archive_finished(self, message: ArchiveFinished) -> None:
        """Show the outcome; the one button closes (or asks to overwrite)."""
        self.running = False
        self.query_one("#archive-progress").display = False
        if message.ask_overwrite:
            self.ask_overwrite(message.lines)
            return
        self.finished = True
        # The outcome takes the form's room (it names the file or daemon itself).
        self.query_one("#archive-form").display = False
        self.status("Done." if message.ok else "Not done.")
        outcome = self.query_one("#archive-outcome", Static)
        outcome.update(safe("\n".join(message.lines), keep_newlines=True))
        outcome.display = True
        ok = self.query_one("#archive-ok", Button)
        ok.label = "Close"
        ok.disabled = False
        ok.focus()
        self.query_one("#archive-cancel").display = False

    def ask_overwrite(self, lines: list[str]) -> None:
        """A save found the file there (override)."""

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """The reason stays in the dialog; the form can be changed and tried again."""
        from tui.screens.base import failure_text

        self.running = False
        self.query_one("#archive-progress").display = False
        self.query_one("#archive-form").disabled = False
        self.query_one("#archive-ok", Button).disabled = False
        self.status(failure_text(error))

    @on(Button.Pressed, "#archive-cancel")
    def action_cancel(self) -> None:
        """Stop the work (it says what was left), or close."""
        if self.running:
            self.cancel_event.set()
            self.status("cancelling…")
            return
        self.dismiss(self.changed_images)
