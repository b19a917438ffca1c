"""The Docker context switcher: pick a context, and the app reconnects and reloads.

Opened with `C` on the image list or "Switch Docker context" in the command palette. The
context in use is marked with a symbol and a word (never by colour alone).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.safe_text import safe
from tui.screens.base import BaseDialog
from tui.service.connection import DEFAULT_CONTEXT, ContextInfo

IN_USE = "▸"


def context_label(info: ContextInfo, in_use: bool) -> str:
    """One line per context: marker, name, host, and what is special about it."""
    notes = []
    if in_use:
        notes.append("in use")
    if info.current:
        notes.append("docker's current")
    if info.tls:
        notes.append("TLS" if info.tls_verified else "TLS NOT VERIFIED")
    if info.description:
        notes.append(info.description)
    marker = IN_USE if in_use else " "
    note = f"  ({', '.join(notes)})" if notes else ""
    return f"{marker} {info.name}  {info.host}{note}"


class ContextsScreen(BaseDialog[str | None]):
    """Lists the Docker contexts; Enter picks one, Esc keeps the current daemon."""

    CSS_PATH = "contexts.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="contexts.cancel"),
    ]

    def __init__(self, contexts: list[ContextInfo], in_use: str | None) -> None:
        super().__init__()
        self.contexts = contexts
        # No context (--host or DOCKER_HOST) is what the CLI calls "default".
        self.in_use = in_use or DEFAULT_CONTEXT

    def compose(self) -> ComposeResult:
        """Title, the list, and the keys."""
        with Vertical(id="contexts-box", classes="dialog"):
            yield Static("Switch Docker context", id="contexts-title", classes="dialog-title")
            options = [
                # Text, never markup: a description such as "TLS [EU] build farm" is shown whole.
                Option(safe(context_label(c, c.name == self.in_use)), id=c.name)
                for c in self.contexts
            ]
            yield OptionList(*options, id="contexts-list")
            yield Static(
                "Enter connect and reload · Esc cancel · add one: docker context create",
                id="contexts-keys",
                markup=False,
            )

    def on_mount(self) -> None:
        """Start on the context in use."""
        options = self.query_one(OptionList)
        names = [c.name for c in self.contexts]
        if self.in_use in names:
            options.highlighted = names.index(self.in_use)
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Keep the current daemon."""
        self.dismiss(None)
