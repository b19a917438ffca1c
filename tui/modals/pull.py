"""`p`: the pull dialog. The reference is checked with the grammar as you type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from tui.screens.base import BaseDialog
from tui.service.reference import InvalidReference, parse

#: Platforms offered as a hint (any os/arch[/variant] is accepted).
PLATFORM_HINT = "e.g. linux/amd64, linux/arm64 (empty: the daemon's own)"


@dataclass(frozen=True)
class PullRequest:
    """What the user asked to pull."""

    reference: str
    all_tags: bool = False
    platform: str | None = None


def check_reference(text: str, all_tags: bool = False) -> str | None:
    """None when ``text`` can be pulled, else the reason it cannot."""
    try:
        ref = parse(text)
    except InvalidReference as exc:
        return str(exc)
    if all_tags and (ref.tag or ref.digest):
        return "With 'all tags', give the repository only (no :tag or @digest)."
    return None


def check_platform(text: str) -> str | None:
    """None for an empty or os/arch[/variant] platform, else why not."""
    if not text:
        return None
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(p and p.replace("-", "").isalnum() for p in parts):
        return f"{text!r} is not a platform (os/arch or os/arch/variant, e.g. linux/arm64)."
    return None


class PullDialog(BaseDialog[PullRequest | None]):
    """Reference, all tags, platform; Enter pulls, Esc cancels."""

    CSS_PATH = "pull.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pull.cancel", tooltip="Close without pulling"),
    ]

    def __init__(self, initial: str = "", choices: Sequence[str] = (), why: str = "") -> None:
        """``choices``: references to choose between (the first, safest, is selected and the
        choice has focus); ``why`` says why the dialog asks."""
        super().__init__()
        self.choices = tuple(choices)
        self.why = why
        self.initial = self.choices[0] if self.choices else initial

    def compose(self) -> ComposeResult:
        """The form."""
        with Vertical(id="pull-box", classes="dialog"):
            yield Static("Pull an image", id="pull-title", classes="dialog-title")
            if self.choices:
                yield Static(self.why, id="pull-why", markup=False)
                yield RadioSet(
                    # Text, never str: the references come from an index (untrusted).
                    *(RadioButton(Text(c), value=i == 0) for i, c in enumerate(self.choices)),
                    id="pull-from",
                    compact=True,  # no border: the dialog still fits 24 rows
                )
            yield Label("Reference (name[:tag] or name@digest; host:port/ for a registry)")
            yield Input(
                self.initial,
                placeholder="e.g. busybox:latest, localhost:5000/team/app:v1",
                id="pull-reference",
            )
            yield Static("", id="pull-error", markup=False)
            yield Checkbox("All tags of the repository", id="pull-all-tags")
            yield Label("Platform")
            yield Input(placeholder=PLATFORM_HINT, id="pull-platform")
            with Horizontal(id="pull-buttons"):
                yield Button("Pull", variant="primary", id="pull-ok")
                yield Button("Cancel", id="pull-cancel")

    def on_mount(self) -> None:
        """Focus the reference field with the cursor at its end (the choice, when asking)."""
        if self.choices:
            self.query_one("#pull-from", RadioSet).focus()
        else:
            self.query_one("#pull-reference", Input).focus()
        self._validate()

    def _validate(self) -> str | None:
        reference = self.query_one("#pull-reference", Input).value
        all_tags = self.query_one("#pull-all-tags", Checkbox).value
        platform = self.query_one("#pull-platform", Input).value.strip()
        error = None if not reference else check_reference(reference, all_tags)
        error = error or check_platform(platform)
        self.query_one("#pull-error", Static).update(error or "")
        self.query_one("#pull-ok", Button).disabled = bool(error) or not reference
        return error

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._validate()

    @on(RadioSet.Changed, "#pull-from")
    def _source_chosen(self, event: RadioSet.Changed) -> None:
        self.query_one("#pull-reference", Input).value = self.choices[event.index]

    @on(Input.Submitted)
    @on(Button.Pressed, "#pull-ok")
    def _submit(self) -> None:
        reference = self.query_one("#pull-reference", Input).value
        if not reference:
            self.query_one("#pull-error", Static).update("Type the reference of an image.")
            return
        if self._validate():
            return
        platform = self.query_one("#pull-platform", Input).value.strip() or None
        all_tags = self.query_one("#pull-all-tags", Checkbox).value
        self.dismiss(PullRequest(reference, all_tags, platform))

    @on(Button.Pressed, "#pull-cancel")
    def action_cancel(self) -> None:
        """Close without pulling."""
        self.dismiss(None)
