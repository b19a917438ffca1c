"""`?`: every key of the screen below, with what it does, and the symbols used in the list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.screens.base import BaseDialog
from tui.widgets.image_table import DANGLING_SYMBOL, IN_USE_SYMBOL, MARK_SYMBOL

if TYPE_CHECKING:
    from textual.screen import Screen

_KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "tab": "Tab",
    "delete": "Del",
}


def key_label(keys: str) -> str:
    """How a binding's keys read for a person: ``enter,i`` -> ``Enter i``, ``ctrl+s`` -> ``^s``."""
    labels = []
    for key in keys.split(","):
        key = key.strip()
        if key.startswith("ctrl+"):
            labels.append("^" + _KEY_NAMES.get(key[5:], key[5:]))
        else:
            labels.append(_KEY_NAMES.get(key, key))
    return " ".join(labels)


class HelpScreen(BaseDialog[None]):
    """Lists every binding of the screen it was opened from; Esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close"),
    ]

    def __init__(self, rows: list[tuple[str, str]], extra: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.extra = extra

    def compose(self) -> ComposeResult:
        """A scrollable two-column list of keys."""
        width = max((len(k) for k, _ in self.rows), default=4) + 2
        lines = [f"{key.ljust(width)}{text}" for key, text in self.rows]
        legend = (
            f"\nSymbols: {MARK_SYMBOL} marked   {DANGLING_SYMBOL} dangling   "
            f"{IN_USE_SYMBOL} used by a container"
        )
        with VerticalScroll(id="help-box"):
            yield Static("Keys", id="help-title")
            yield Static("\n".join(lines) + legend + self.extra, markup=False, id="help-body")
            yield Static("Esc closes", id="help-footer")

    def action_dismiss_help(self) -> None:
        """Close the help."""
        self.dismiss(None)


def binding_rows(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(keys, text) per binding, its tooltip (the long text) or description; deduplicated."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for binding in bindings:
        text = binding.tooltip or binding.description
        if not text or text in seen:
            continue
        seen.add(text)
        rows.append((key_label(binding.key), text))
    return rows


# The palette's own binding gets a row of its own, named in words (`^p` alone says little).
_PALETTE = "command_palette"


def live_binding_rows(screen: Screen[Any]) -> list[tuple[str, str]]:
    """(keys, text) for every binding live on ``screen``, with the keys as remapped now.

    Read from ``screen.active_bindings`` (the focused widget, the screen and the app, after the
    config's keymap), so a remapped key shows as remapped. One row per binding id, however
    many keys it has; the screen's own bindings first, then its widgets', then the app's.
    """
    groups: dict[tuple[int, str], tuple[int, list[str], str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.action == _PALETTE or not binding.id:
            continue  # no id: Textual's own (focus next, copy text), not imagedeck's keys
        text = binding.tooltip or binding.description
        if not text:
            continue
        node = active.node
        rank = 0 if node is screen else 2 if node is screen.app else 1
        ident = (id(node), binding.id or binding.action)
        groups.setdefault(ident, (rank, [], text))[1].append(key)
    ordered = sorted(groups.values(), key=lambda group: group[0])
    # First: the one key that finds every other action by name.
    rows = [("ctrl+p", "Command palette: every action of this screen and the app, by name")]
    seen: set[str] = set()
    for _, keys, text in ordered:
        if text in seen:
            continue
        seen.add(text)
        rows.append((key_label(",".join(keys)), text))
    return rows
