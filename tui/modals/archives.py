"""Archive dialogs: `S` save the marked images (or this one) to one archive, `I` load an archive
or import a root filesystem tarball, `E` copy the marked images (or this one) to another daemon.

Each dialog has three stages: the form, the work (byte progress, Cancel/Esc stops it), and
the outcome (one line per image). The daemon work runs in a thread worker
(``tui/service/archives.py``); progress comes back as a replaceable message. Paths, image names
and daemon answers are outside text: shown as ``Text``/``markup=False``, through ``safe``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import (
    Button,
    Input,
    Label,
    OptionList,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
)
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import safe
from tui.screens.base import BaseDialog
from tui.service.errors import Cancelled, FileExists, InvalidReference
from tui.service.reference import parse

if TYPE_CHECKING:
    from tui.service.api import ImageServiceAPI
    from tui.service.fleet import MemberSpec

#: The archive name a save proposes (in the current folder).
DEFAULT_ARCHIVE = "images.tar"
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


class SaveDialog(ArchiveDialog):
    """`S`: save the marked images (or this one) into one archive file."""

    heading = "Save to an archive"
    ACTION = "Save"

    def __init__(
        self,
        references: Sequence[str],
        path: str = "",
        *,
        source: ImageServiceAPI | None = None,
        daemon_name: str = "",
    ) -> None:
        """``source``/``daemon_name``: save from that fleet daemon (its name in the title)."""
        super().__init__(source)
        self.references = list(references)
        self.path = path or DEFAULT_ARCHIVE
        self.overwrite = False
        count = len(self.references)
        where = f" from {daemon_name}" if daemon_name else ""
        self.heading = f"Save {count} image{'s' if count != 1 else ''}{where} to an archive"

    def form(self) -> ComposeResult:
        """What is saved, and where."""
        yield Static(safe(listed(self.references)), id="save-what", markup=False)
        yield Label("File (one archive; layers the images share are stored once)")
        yield Input(self.path, id="save-path", placeholder="e.g. ~/images.tar", compact=True)
        yield Static(
            "Written 0600; an existing file is not replaced without asking.",
            classes="dialog-note",
            markup=False,
        )

    def focus_first(self) -> None:
        """The path, cursor at its end."""
        self.query_one("#save-path", Input).focus()

    def validate(self) -> str | None:
        """A path is needed."""
        path = self.query_one("#save-path", Input).value.strip()
        error = None if path else "Type the file to write."
        self.query_one("#archive-ok", Button).disabled = bool(error)
        return error

    def overwrite_cleared(self) -> None:
        """Another path: ask again if it exists."""
        if self.overwrite:
            self.overwrite = False
            ok = self.query_one("#archive-ok", Button)
            ok.label, ok.variant = self.ACTION, "primary"
            self.status("")

    def ask_overwrite(self, lines: list[str]) -> None:
        """The file exists: the main button becomes Overwrite; Cancel keeps the focus."""
        self.overwrite = True
        self.query_one("#archive-form").disabled = False
        self.status(f"{lines[0]}. Replace it? (Overwrite replaces it; or type another name)")
        ok = self.query_one("#archive-ok", Button)
        ok.label, ok.variant, ok.disabled = "Overwrite", "warning", False
        self.query_one("#archive-cancel", Button).focus()

    def run(self, cancel: threading.Event) -> tuple[list[str], bool]:
        """Save; the file, its size and what it holds."""
        path = os.path.expanduser(self.query_one("#save-path", Input).value.strip())
        result = self.daemon.save_images(
            self.references, path, overwrite=self.overwrite, cancel=cancel, progress=self.report
        )
        names = [n for image in result.contents.images for n in image.names] or ["(untagged)"]
        return [
            f"Saved {len(result.contents.images)} image(s), {fmt.size(result.size)}, "
            f"to {result.path}",
            *(f"  ✓ {name}" for name in names),
        ], True

    def nothing_done(self) -> str:
        """A cancelled save leaves no file."""
        return "no file was written"


class LoadDialog(ArchiveDialog):
    """`I`: load an image archive (`docker load`) or import a rootfs tarball (`docker import`)."""

    heading = "Load an archive or import a root filesystem"
    ACTION = "Load"

    def __init__(self, path: str = "") -> None:
        super().__init__()
        self.path = path

    def form(self) -> ComposeResult:
        """The mode, the file, and the reference an import is named."""
        yield RadioSet(
            RadioButton("Load an image archive (docker load)", value=True, id="load-mode-load"),
            RadioButton("Import a root filesystem tarball (docker import)", id="load-mode-import"),
            id="load-mode",
            compact=True,
        )
        yield Label("File")
        yield Input(self.path, id="load-path", placeholder="e.g. ~/images.tar", compact=True)
        yield Label("Reference for the import", id="load-reference-label")
        yield Input(id="load-reference", placeholder="e.g. team/rootfs:1", compact=True)
        yield Static(
            "An archive is checked whole first: a bad one loads nothing.",
            id="load-note",
            classes="dialog-note",
            markup=False,
        )

    @property
    def importing(self) -> bool:
        """True in import mode."""
        return self.query_one("#load-mode-import", RadioButton).value

    def focus_first(self) -> None:
        """The file."""
        self.query_one("#load-path", Input).focus()

    def validate(self) -> str | None:
        """A file; in import mode a reference the grammar accepts."""
        importing = self.importing
        self.query_one("#load-reference-label").display = importing
        self.query_one("#load-reference").display = importing
        ok = self.query_one("#archive-ok", Button)
        ok.label = "Import" if importing else "Load"
        error = None
        if not self.query_one("#load-path", Input).value.strip():
            error = "Type the file to read."
        elif importing:
            reference = self.query_one("#load-reference", Input).value
            if not reference:
                error = "Type the reference to import it as (name:tag)."
            else:
                try:
                    parse(reference)
                except InvalidReference as exc:
                    error = str(exc)
                    self.status(error)
        if error is None:
            self.status("")
        ok.disabled = bool(error)
        return error

    def run(self, cancel: threading.Event) -> tuple[list[str], bool]:
        """Load or import; one line per image."""
        path = os.path.expanduser(self.query_one("#load-path", Input).value.strip())
        if self.importing:
            reference = self.query_one("#load-reference", Input).value
            imported = self.service.import_rootfs(
                path, reference, cancel=cancel, progress=self.report
            )
            self.changed_images = True
            return [
                f"Imported {fmt.size(imported.size)} as {imported.reference}",
                f"  ✓ {imported.reference}  {imported.image_id[7:19]}",
            ], True
        result = self.service.load_archive(path, cancel=cancel, progress=self.report)
        self.changed_images = True
        lines = [f"Loaded from {path} ({fmt.size(result.sent)}):"]
        for image in result.images:
            name = ", ".join(image.names) or "(untagged)"
            mark = "✓" if image.loaded else "✗"
            note = f"  ({image.note})" if image.note else ""
            lines.append(f"  {mark} {name}  {image.image_id[7:19]}{note}")
        lines.extend(f"  {note}" for note in result.notes)
        return lines, result.ok

    def nothing_done(self) -> str:
        """A cancel before the daemon had it all loads nothing."""
        return "nothing was loaded"


class CopyDialog(ArchiveDialog):
    """`E`: copy the marked images (or this one) to another daemon, a save streamed into its
    load (no file between). The target: a Docker context, or a host typed in."""

    heading = "Copy to another daemon"
    ACTION = "Copy"

    def __init__(
        self,
        references: Sequence[str],
        contexts: Sequence[tuple[str, str]],
        in_use: str,
        *,
        source: ImageServiceAPI | None = None,
        daemon_name: str = "",
        members: Sequence[MemberSpec] = (),
    ) -> None:
        """``contexts``: (name, host) pairs; ``in_use``: the current context's name.

        From the fleet view: ``source`` is the daemon the images are on (``daemon_name``), and
        ``members`` the other daemons of the fleet, offered instead of the contexts.
        """
        super().__init__(source)
        self.references = list(references)
        self.members = [m for m in members if m.name != daemon_name]
        if members:
            self.contexts = [(m.name, m.address) for m in self.members]
        else:
            self.contexts = [(n, h) for n, h in contexts if n != in_use]
        count = len(self.references)
        where = f" from {daemon_name}" if daemon_name else ""
        self.heading = f"Copy {count} image{'s' if count != 1 else ''}{where} to another daemon"

    def form(self) -> ComposeResult:
        """What is copied, the contexts, a host field."""
        yield Static(safe(listed(self.references)), id="copy-what", markup=False)
        yield Label("To a daemon of the fleet" if self.members else "To a Docker context")
        options = [Option(safe(f"{name}  {host}"), id=name) for name, host in self.contexts]
        if not options:
            options = [Option("(no other context: docker context create)", disabled=True)]
        yield OptionList(*options, id="copy-contexts", compact=True)
        yield Label("or a host (unix:///…, tcp://host:2376, ssh://user@host)")
        yield Input(id="copy-host", placeholder="e.g. ssh://me@build2", compact=True)

    def focus_first(self) -> None:
        """The contexts when there are some, else the host."""
        if self.contexts:
            self.query_one("#copy-contexts", OptionList).focus()
        else:
            self.query_one("#copy-host", Input).focus()

    def target(self) -> tuple[str | None, str | None]:
        """(host, context): a typed host wins over the highlighted context."""
        host = self.query_one("#copy-host", Input).value.strip()
        if host:
            return host, None
        options = self.query_one("#copy-contexts", OptionList)
        if self.members and options.highlighted is not None:
            member = self.members[options.highlighted]
            return member.host, member.context
        if self.contexts and options.highlighted is not None:
            return None, self.contexts[options.highlighted][0]
        return None, None

    def validate(self) -> str | None:
        """A target is needed."""
        host, context = self.target()
        error = None if host or context else "Choose a context or type a host."
        self.query_one("#archive-ok", Button).disabled = bool(error)
        return error

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        if not self.running and not self.finished:
            self.validate()

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self._start()

    def run(self, cancel: threading.Event) -> tuple[list[str], bool]:
        """Copy; one line per image saying whether the target's ID is the same."""
        host, context = self.target()
        result = self.daemon.copy_images(
            self.references, host=host, context=context, cancel=cancel, progress=self.report
        )
        lines = [f"Copied {fmt.size(result.sent)} to {result.target}:"]
        for image in result.images:
            mark = "✓" if image.loaded else "✗"
            lines.append(f"  {mark} {', '.join(image.names)}  ({image.note})")
        lines.extend(f"  {note}" for note in result.notes)
        return lines, result.ok

    def nothing_done(self) -> str:
        """A cancel before the target had it all loads nothing there."""
        return "nothing was loaded on the target"
