"""Archive dialogs: `S` save the marked images (or this one) to one archive, `I` load an archive
or import a root filesystem tarball, `E` copy the marked images (or this one) to another daemon.

Each is an ``ArchiveDialog`` (``tui/modals/archive_dialog.py``: the form, the work with byte
progress and Cancel/Esc, the outcome) with its own fields and service call
(``tui/service/archives.py``). Paths, image names and daemon answers are outside text: shown
as ``Text``/``markup=False``, through ``safe``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.widgets import (
    Button,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Static,
)
from textual.widgets.option_list import Option

from tui import format as fmt
from tui.modals.archive_dialog import ArchiveDialog, listed
from tui.safe_text import safe
from tui.service.errors import InvalidReference
from tui.service.reference import parse

if TYPE_CHECKING:
    from tui.service.api import ImageServiceAPI
    from tui.service.fleet import MemberSpec

#: The archive name a save proposes (in the current folder).
DEFAULT_ARCHIVE = "images.tar"


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
