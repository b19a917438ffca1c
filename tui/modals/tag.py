"""`t`: tag the current image, the new reference checked with the grammar as it is typed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static
from textual.worker import Worker

from tui.messages import ImageArrived
from tui.screens.base import BaseDialog, failure_text
from tui.service.errors import ImagedeckError, InvalidReference
from tui.service.models import Image
from tui.service.reference import parse


def check_target(text: str, uppercase_domains: bool = True) -> tuple[str | None, str]:
    """(the full ``name:tag`` to create, or None) and the sentence to show under the field.

    The messages are tui/service/reference.py's, so they say why (uppercase, bad tag, ...).
    ``uppercase_domains``: the connected engine's grammar (False on Engine 20.10, which
    refuses ``XP/c`` where newer engines read ``XP`` as a registry host).
    """
    try:
        ref = parse(text, uppercase_domains=uppercase_domains)
    except InvalidReference as exc:
        return None, str(exc)
    if ref.digest:
        return None, "A tag cannot carry a digest (@sha256:…); remove it."
    full = f"{ref.name}:{ref.tag_or_latest}"
    if ref.tag is None:
        return full, f"No tag given: the daemon will use {full}."
    return full, f"Valid: {full}"


def move_note(target: str, source: str, images: list[Image]) -> str:
    """What tagging ``source`` as ``target`` does to the image that has ``target`` now.

    A tag names one image: tagging moves it, silently in `docker tag`. Say so, and what
    becomes of the image it leaves (keeps its other tags, or becomes dangling; a container
    still using it keeps it on disk either way).
    """
    source_image = next(
        (i for i in images if source in i.repo_tags or i.id == source or i.short_id == source),
        None,
    )
    holder = next((i for i in images if target in i.repo_tags), None)
    if holder is None:
        return ""
    if source_image is not None and holder.id == source_image.id:
        return f"\n{target} already names this image: nothing changes."
    others = [t for t in holder.repo_tags if t != target]
    note = f"\n⚠ {target} exists: the tag moves from {holder.short_id} to this image. "
    if others:
        note += f"{holder.short_id} keeps {', '.join(others)}."
    else:
        note += f"{holder.short_id} is left with no tag: it becomes dangling (<none>)"
        note += ", still used by a container." if holder.containers else " and can be cleaned up."
    return note


class Tagged(Message):
    """The daemon applied the tag."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target


class TagFailed(Message):
    """The daemon refused the tag."""

    def __init__(self, error: ImagedeckError) -> None:
        super().__init__()
        self.error = error


class TagDialog(BaseDialog["str | None"]):
    """Prefilled with the current reference; Enter tags when valid; Esc cancels.

    Dismisses with the full new reference (``name:tag``) once the daemon has applied it.
    """

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="tag.cancel"),
    ]

    def __init__(
        self,
        source: str,
        label: str,
        prefill: str,
        *,
        images: Callable[[], Iterable[Image]] = tuple,
        uppercase_domains: bool = True,
    ) -> None:
        """``images``: the list's images now (merged with disk usage once it has loaded), for
        the note on a tag that moves; ``uppercase_domains``: the daemon's grammar
        (see check_target)."""
        super().__init__()
        self.source = source
        self.label = label
        self.prefill = prefill
        self.images = images
        self.uppercase_domains = uppercase_domains
        self.busy = False

    def compose(self) -> ComposeResult:
        """The field, the live verdict, and the buttons."""
        with Vertical(classes="dialog", id="tag-dialog"):
            yield Static(f"Tag {self.label} as…", classes="dialog-title", markup=False)
            yield Input(self.prefill, placeholder="repository[:tag]", id="tag-input")
            yield Static("", id="tag-verdict", classes="dialog-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Tag (Enter)", id="tag", variant="primary", compact=True)
            yield Static("Enter tags · Esc cancels", classes="dialog-keys")

    def on_mount(self) -> None:
        """Focus the field with the cursor at the end (usually to change the tag)."""
        field = self.query_one("#tag-input", Input)
        field.focus()
        field.cursor_position = len(field.value)
        self._check(field.value)

    def _check(self, text: str) -> str | None:
        target, verdict = check_target(text, self.uppercase_domains)
        if target is not None and text.strip() == self.prefill and self.prefill:
            verdict = "This is the current reference; change the name or the tag."
            target = None
        elif target is not None:
            verdict += move_note(target, self.source, list(self.images()))
        widget = self.query_one("#tag-verdict", Static)
        widget.update(verdict)
        widget.set_class(target is None, "-invalid")
        self.query_one("#tag", Button).disabled = target is None or self.busy
        return target

    @on(Input.Changed, "#tag-input")
    def _changed(self, event: Input.Changed) -> None:
        self._check(event.value)

    @on(Input.Submitted, "#tag-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self._go(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Tag or cancel."""
        event.stop()
        if event.button.id == "tag":
            self._go(self.query_one("#tag-input", Input).value)
        else:
            self.action_cancel()

    def _go(self, text: str) -> None:
        target = self._check(text)
        if target is None or self.busy:
            return
        self.busy = True
        self.query_one("#tag", Button).disabled = True
        self.query_one("#tag-verdict", Static).update(f"Tagging {target}…")
        self.apply_tag(target)

    @work(thread=True, exclusive=True, group="tag", exit_on_error=False)
    def apply_tag(self, target: str) -> None:
        """Ask the daemon (the service checks the grammar again)."""
        try:
            service = self.service
            service.tag(self.source, target)
        except ImagedeckError as exc:
            self.post_message(TagFailed(exc))
            return
        self.post_message(Tagged(target))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure is reported like a refusal: the dialog stays, usable."""
        if worker.group == "tag":
            self.post_message(TagFailed(ImagedeckError(failure_text(error))))

    def on_tagged(self, message: Tagged) -> None:
        """Done: announce the image under its new name (the list selects it after its reload),
        hand back the new reference."""
        ref = parse(message.target)  # checked above; "app" is listed as "app:latest"
        self.app.post_message(ImageArrived(f"{ref.name}:{ref.tag_or_latest}"))
        self.dismiss(message.target)

    def on_tag_failed(self, message: TagFailed) -> None:
        """Say why, keep the dialog open to fix it."""
        self.busy = False
        widget = self.query_one("#tag-verdict", Static)
        widget.update(str(message.error))
        widget.add_class("-invalid")
        self.query_one("#tag", Button).disabled = False

    def action_cancel(self) -> None:
        """Close without tagging."""
        self.dismiss(None)
