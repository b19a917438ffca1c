"""Commit a container to an image (`docker commit -m -a -c CONTAINER repo:tag`).

The App's ``action_open_commit(container_id, name)`` (tui/features.py) opens it from any screen:
the dialog commits in a thread worker and announces the new image (``ImageArrived``), which the
image list selects.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea
from textual.worker import Worker

from tui.messages import ImageArrived
from tui.screens.base import BaseDialog, failure_text
from tui.service.build import check_changes
from tui.service.errors import ImagedeckError, InvalidReference
from tui.service.reference import parse


class Committed(Message):
    """The worker committed the container: ``image_id`` is tagged ``reference``."""

    def __init__(self, reference: str, image_id: str) -> None:
        super().__init__()
        self.reference = reference
        self.image_id = image_id


class CommitFailed(Message):
    """The daemon refused the commit."""

    def __init__(self, error: ImagedeckError) -> None:
        super().__init__()
        self.error = error


class CommitDialog(BaseDialog["tuple[str, str] | None"]):
    """Target reference (checked as you type), message, author, changes, pause.

    Dismisses with (reference, image ID) after a successful commit, None when cancelled.
    """

    CSS_PATH = "commit.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="commit.cancel"),
        Binding("ctrl+s", "commit", "Commit", id="commit.commit", tooltip="Commit the container"),
    ]

    def __init__(self, container_id: str, container_name: str = "") -> None:
        super().__init__()
        self.container_id = container_id
        self.container_name = container_name or container_id[:12]
        self.busy = False

    def compose(self) -> ComposeResult:
        """The fields, their errors, and the buttons."""
        with Vertical(classes="dialog commit-dialog"):
            yield Static(
                f"Commit container {self.container_name} to an image",
                classes="dialog-title",
                markup=False,
            )
            with Horizontal(classes="commit-row"):
                yield Label("Target", classes="commit-label")
                yield Input(
                    placeholder="repo:tag (e.g. runoob/ubuntu:v2)", id="commit-ref", compact=True
                )
            yield Static("", id="commit-ref-error", classes="commit-error", markup=False)
            with Horizontal(classes="commit-row"):
                yield Label("Message", classes="commit-label")
                yield Input(placeholder="what changed (-m)", id="commit-message", compact=True)
            with Horizontal(classes="commit-row"):
                yield Label("Author", classes="commit-label")
                yield Input(placeholder="name <email> (-a)", id="commit-author", compact=True)
            yield Label(
                "Changes, one per line (CMD, ENV, EXPOSE, LABEL, USER, WORKDIR, …)",
                classes="commit-hint",
            )
            yield TextArea("", id="commit-changes", compact=True, soft_wrap=False)
            yield Static("", id="commit-changes-error", classes="commit-error", markup=False)
            yield Checkbox(
                "Pause the container while committing", True, id="commit-pause", compact=True
            )
            yield Static("", id="commit-status", markup=False)
            with Horizontal(classes="commit-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Commit (ctrl+s)", id="commit", variant="primary", compact=True)

    def on_mount(self) -> None:
        """Start at the target reference."""
        for error in self.query(".commit-error"):
            error.display = False
        self.query_one("#commit-ref", Input).focus()

    # -- validation ----------------------------------------------------------------------------

    def changes(self) -> list[str]:
        """The change lines as typed."""
        return self.query_one("#commit-changes", TextArea).text.splitlines()

    def validate(self) -> bool:
        """Check the reference and the changes; show what is wrong; True when all is fine."""
        ok = True
        ref_error = self.query_one("#commit-ref-error", Static)
        text = self.query_one("#commit-ref", Input).value.strip()
        try:
            ref = parse(text)
            if ref.digest:
                raise InvalidReference("A commit target cannot have a digest.")
            ref_error.display = False
        except ImagedeckError as exc:
            ref_error.update(f"✖ {exc}")
            ref_error.display = True
            ok = False
        changes_error = self.query_one("#commit-changes-error", Static)
        try:
            check_changes(self.changes())
            changes_error.display = False
        except ImagedeckError as exc:
            changes_error.update(f"✖ {exc}")
            changes_error.display = True
            ok = False
        return ok

    @on(Input.Changed, "#commit-ref")
    @on(TextArea.Changed, "#commit-changes")
    def _changed(self) -> None:
        self.validate()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.focus_next()

    # -- committing ----------------------------------------------------------------------------

    def action_commit(self) -> None:
        """Check, then commit in a thread."""
        if self.busy or not self.validate():
            return
        self.busy = True
        self.query_one("#commit-status", Static).update("Committing…")
        self.commit(
            self.query_one("#commit-ref", Input).value.strip(),
            self.query_one("#commit-message", Input).value,
            self.query_one("#commit-author", Input).value.strip(),
            check_changes(self.changes()),
            self.query_one("#commit-pause", Checkbox).value,
        )

    @work(thread=True, exclusive=True, group="commit", exit_on_error=False)
    def commit(
        self, reference: str, message: str, author: str, changes: list[str], pause: bool
    ) -> None:
        """Ask the daemon (no widgets here)."""
        try:
            image_id = self.service.commit(
                self.container_id, reference, message, author, changes, pause=pause
            )
        except ImagedeckError as exc:
            self.post_message(CommitFailed(exc))
            return
        self.post_message(Committed(reference, image_id))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure is reported like a refusal: the dialog stays, usable."""
        if worker.group == "commit":
            self.post_message(CommitFailed(ImagedeckError(failure_text(error))))

    def on_committed(self, message: Committed) -> None:
        """Done: announce the new image (the list selects it), say so, hand the result back."""
        ref = parse(message.reference)
        full = f"{ref.name}:{ref.tag_or_latest}"
        self.app.post_message(ImageArrived(full))
        self.app.notify(
            f"Committed {self.container_name} as {full} "
            f"({message.image_id.removeprefix('sha256:')[:12]})",
            title="Committed",
            timeout=6,
            markup=False,  # the container's name and the reference are outside text
        )
        self.dismiss((message.reference, message.image_id))

    def on_commit_failed(self, message: CommitFailed) -> None:
        """Say why, keep the dialog open to fix it."""
        self.busy = False
        self.query_one("#commit-status", Static).update(f"✖ {message.error}")

    @on(Button.Pressed, "#commit")
    def _commit_pressed(self) -> None:
        self.action_commit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        """Close without committing."""
        self.dismiss(None)
