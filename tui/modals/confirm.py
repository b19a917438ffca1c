"""A yes/no dialog for destructive actions: focus starts on Cancel, Esc cancels, `y` confirms."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from tui.screens.base import BaseDialog


class ConfirmDialog(BaseDialog[bool]):
    """Asks before something that cannot be undone; dismisses with True only on `y` or OK.

    ``body`` is shown in a scrolling area so a long list never pushes the buttons off an 80x24
    terminal; ``warning`` is a highlighted paragraph under it.
    """

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="confirm.cancel"),
        Binding("y", "confirm", "Confirm", id="confirm.yes"),
        Binding("left,h", "app.focus_previous", "Previous", show=False, id="confirm.left"),
        Binding("right,l", "app.focus_next", "Next", show=False, id="confirm.right"),
    ]

    def __init__(
        self,
        title: str,
        body: str | Text,
        *,
        confirm_label: str = "Delete",
        cancel_label: str = "Cancel",
        keys: str = "y confirms · Esc cancels",
        warning: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.cancel_label = cancel_label
        self.keys = keys
        self.warning = warning

    def compose(self) -> ComposeResult:
        """Title, scrolling body, optional warning, Cancel (focused) and the confirm button."""
        with Vertical(classes="dialog confirm-dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body, markup=False, classes="confirm-body")
            if self.warning:
                yield Static(self.warning, classes="dialog-warning", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.cancel_label, id="cancel", variant="primary", compact=True)
                yield Button(
                    f"{self.confirm_label} (y)", id="confirm", variant="error", compact=True
                )
            yield Static(self.keys, classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        """Cancel has the focus: Enter alone never destroys anything."""
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The buttons answer like the keys."""
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        """The safe answer."""
        self.dismiss(False)

    def action_confirm(self) -> None:
        """Go ahead."""
        self.dismiss(True)
