"""README.md's key tables against the bindings the screens really have, so the manual cannot
drift: every key a table names is bound on that screen, and every key bound there is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

from tui.app import ImagedeckApp
from tui.screens.build import BuildScreen
from tui.screens.build_log import BuildLogScreen
from tui.screens.containers import ContainersScreen
from tui.screens.diskmap import DiskMapScreen
from tui.screens.history import HistoryScreen
from tui.screens.images import ImagesScreen
from tui.screens.inspect import InspectScreen
from tui.screens.layers import LayersScreen
from tui.screens.search import SearchScreen
from tui.screens.transfers import TransfersScreen
from tui.widgets.build_log import BuildLog
from tui.widgets.image_table import ImageTable

README = Path(__file__).resolve().parents[2] / "README.md"

# How the README writes a key -> Textual's key name.
NAMES = {
    "↑": "up",
    "↓": "down",
    "←": "left",
    "→": "right",
    "PgUp": "pageup",
    "PgDn": "pagedown",
    "Home": "home",
    "End": "end",
    "Enter": "enter",
    "Esc": "escape",
    "Backspace": "backspace",
    "space": "space",
    "Space": "space",
    "/": "slash",
    "?": "question_mark",
    ".": "full_stop",
    ":": "colon",
    "]": "right_square_bracket",
    "[": "left_square_bracket",
}
# Keys every screen has from the app: help and the command palette (and ctrl+c quits).
APP_KEYS = {"question_mark", "ctrl+p", "ctrl+c"}

OTHER_SCREENS: dict[str, tuple[type[DOMNode], ...]] = {
    "history": (HistoryScreen,),
    "inspect": (InspectScreen,),
    "layers": (LayersScreen,),
    "transfers": (TransfersScreen,),
    "search": (SearchScreen,),
    "build form": (BuildScreen,),
    "build log": (BuildLogScreen, BuildLog),
    "containers": (ContainersScreen,),
    "disk map": (DiskMapScreen,),
}


def bound_keys(*classes: type[DOMNode]) -> set[str]:
    """Every key imagedeck binds (bindings with an id) on these classes."""
    keys: set[str] = set()
    for cls in classes:
        for binding in cls.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                keys.update(k.strip() for k in binding.key.split(","))
    return keys


def keys_in(cell: str) -> set[str]:
    """The keys a table cell names in backticks (`g` `G`, `ctrl+p`, `Enter`)."""
    found = set()
    for token in re.findall(r"`([^`]+)`", cell):
        for key in token.split():
            found.add(NAMES.get(key, key))
    return found


def table_rows(heading: str) -> list[list[str]]:
    """The rows (cells) of the first table under ``heading``."""
    text = README.read_text()
    start = text.index(heading + "\n")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:]  # the header row


def test_image_list_table_matches_the_bindings() -> None:
    named: set[str] = set()
    for keys, action in table_rows("### Image list"):
        named |= keys_in(keys + action)  # "`/` | filter …; `Esc` clears"
    bound = bound_keys(ImagesScreen, ImageTable)
    assert named - bound - APP_KEYS == set(), "README names keys the list does not bind"
    assert bound - named == set(), "the list binds keys README.md does not name"
    assert "ctrl+p" in named


@pytest.mark.parametrize("screen", sorted(OTHER_SCREENS))
def test_other_screens_table_matches_the_bindings(screen: str) -> None:
    named: set[str] = set()
    for where, keys, _ in table_rows("### Other screens"):
        if where.split(" (")[0] == screen:
            named |= keys_in(keys)
    assert named, f"README.md's table has no row for {screen}"
    bound = bound_keys(*OTHER_SCREENS[screen])
    assert named - bound - APP_KEYS == set(), f"README names keys {screen} does not bind"
    assert bound - named - APP_KEYS == set(), f"{screen} binds keys README.md does not name"


def test_help_and_palette_are_app_keys() -> None:
    """`?` and ctrl+p, which the README promises on every screen, are bound by the app."""
    assert "question_mark" in bound_keys(ImagedeckApp)
    assert ImagedeckApp.ENABLE_COMMAND_PALETTE and ImagedeckApp.COMMAND_PALETTE_BINDING == "ctrl+p"
