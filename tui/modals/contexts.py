"""The Docker context switcher: pick a context, and the app reconnects and reloads.

Opened with `C` on the image list or "Switch Docker context" in the command palette. The
context in use is marked with a symbol and a word (never by colour alone). Space marks
several contexts; Enter then opens them together in the fleet view (tui/screens/fleet.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.safe_text import safe
from tui.screens.base import BaseDialog
from tui.service.connection import DEFAULT_CONTEXT, ContextInfo

if TYPE_CHECKING:
    from rich.text import Text
    from textual.app import App
    from textual.screen import Screen

    from tui.service.api import ImageServiceAPI

IN_USE = "▸"
MARKED = "●"


def context_label(info: ContextInfo, in_use: bool, marked: bool = False) -> str:
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
    if marked:
        notes.insert(0, "marked")
    # A mark takes the marker's place; "in use" stays in words.
    marker = MARKED if marked else IN_USE if in_use else " "
    note = f"  ({', '.join(notes)})" if notes else ""
    return f"{marker} {info.name}  {info.host}{note}"


class ContextsScreen(BaseDialog[str | None]):
    """Lists the Docker contexts; Enter picks one, Esc keeps the current daemon."""

    CSS_PATH = "contexts.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="contexts.cancel"),
        Binding("space", "mark", "Mark", id="contexts.mark", tooltip="Mark for the fleet view"),
    ]

    def __init__(self, contexts: list[ContextInfo], in_use: str | None) -> None:
        super().__init__()
        self.contexts = contexts
        # No context (--host or DOCKER_HOST) is what the CLI calls "default".
        self.in_use = in_use or DEFAULT_CONTEXT
        # Contexts marked with space, in list order when opened as a fleet.
        self.marked: set[str] = set()

    def compose(self) -> ComposeResult:
        """Title, the list, and the keys."""
        with Vertical(id="contexts-box", classes="dialog"):
            yield Static("Switch Docker context", id="contexts-title", classes="dialog-title")
            options = [
                # Text, never markup: a description such as "TLS [EU] build farm" is shown whole.
                Option(self._prompt(c), id=c.name)
                for c in self.contexts
            ]
            yield OptionList(*options, id="contexts-list")
            yield Static(
                "Enter connect and reload · space mark several: Enter shows them as one"
                " fleet · Esc cancel · add one: docker context create",
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

    def _prompt(self, info: ContextInfo) -> Text:
        # Text, never markup: a description such as "TLS [EU] build farm" is shown whole.
        return safe(context_label(info, info.name == self.in_use, info.name in self.marked))

    def action_mark(self) -> None:
        """Mark or unmark the highlighted context for the fleet view, then move down."""
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None:
            return
        info = self.contexts[index]
        self.marked.symmetric_difference_update({info.name})
        options.replace_option_prompt_at_index(index, self._prompt(info))
        if index + 1 < len(self.contexts):
            options.highlighted = index + 1

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if len(self.marked) < 2:
            self.dismiss(event.option.id)
            return
        # Several marked: the fleet view over them; the app's own daemon stays as it is.
        names = [c.name for c in self.contexts if c.name in self.marked]
        self.dismiss(None)
        self.app.push_screen(fleet_of_contexts(self.app, names))

    def action_cancel(self) -> None:
        """Keep the current daemon."""
        self.dismiss(None)


def fleet_of_contexts(app: App[Any], names: list[str]) -> Screen[None]:
    """The fleet view over the contexts ``names``, connected the way the app connects to a
    context (its ``context_factory``, which tests replace)."""
    from tui.screens.fleet import FleetScreen
    from tui.service.fleet import Fleet, MemberSpec, connect_member, parse_members

    factory: Callable[[str], ImageServiceAPI] | None = getattr(app, "context_factory", None)

    def connect(spec: MemberSpec) -> ImageServiceAPI:
        if factory is not None and spec.context is not None:
            return factory(spec.context)
        return connect_member(spec)

    config = getattr(app, "config", None)
    hidden: frozenset[str] = getattr(config, "hidden_columns", frozenset())
    return FleetScreen(Fleet(parse_members(contexts=names), connect), hidden=hidden)
