"""Keys as a person meets them: help on every screen from the live bindings, the palette,
and a keymap entry that would make one key do two things."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import StartApp
from tests.e2e.harness import Terminal

pytestmark = pytest.mark.daemon


def filter_to(term: Terminal, text: str) -> None:
    """`/`, type ``text``, Enter: back in the list with only matching rows."""
    term.press("/")
    term.type(text)
    term.wait_for_text("shown)")
    term.press("enter")


def test_help_on_the_list_mentions_the_palette(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40)
    term.press("?")
    screen = term.wait_for_text("Keys", "Delete marked rows")
    assert "ctrl+p" in screen
    term.press("escape")
    term.wait_gone("Delete marked rows")


@pytest.mark.parametrize(
    ("key", "ready", "expected"),
    [
        ("h", "truncated", "Truncated / full commands"),
        ("l", "fficiency", "Sort the tree by size"),
        ("T", "Transfers", "Remove ended transfers"),
    ],
)
def test_help_on_every_screen(start_app: StartApp, key: str, ready: str, expected: str) -> None:
    term = start_app(cols=120, rows=40)
    filter_to(term, "demo/wasted")
    term.press(key)
    term.wait_for_text(ready)
    term.press("?")
    term.wait_for_text("Keys", expected, "ctrl+p")
    term.press("escape")
    term.wait_gone("Keys")
    term.wait_for_text(ready)


def test_help_shows_remapped_keys(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40, config='[keys]\n"images.delete" = "x"\n')
    term.press("?")
    term.wait_for_text("Keys", "Delete marked rows")
    assert term.line_with("Delete marked rows").split()[1] == "x", term.dump()


def test_keymap_conflict_is_refused_and_the_default_kept(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40, config='[keys]\n"images.delete" = "i"\n')
    term.wait_for_text("refused")
    assert "images.delete keeps its default key 'd'" in term.flat(), term.dump()
    # `i` still inspects, `d` still deletes.
    filter_to(term, "imagedeck/busybox")
    term.press("i")
    term.wait_for_text("bytes of JSON")
    term.press("escape")
    term.wait_gone("bytes of JSON")
    term.press("d")
    term.wait_for_text("Cancel")
    term.press("escape")


@pytest.mark.parametrize(
    ("word", "finds"),
    [
        ("pull", "Pull"),
        ("clean", "Cleanup"),
        ("build", "Build"),
        ("search", "Search"),
        ("contexts", "Switch Docker context"),
        ("transfers", "Transfers"),
        ("reload", "Reload"),
    ],
)
def test_palette_finds_every_action(start_app: StartApp, word: str, finds: str) -> None:
    term = start_app(cols=120, rows=40)
    term.press("ctrl+p")
    term.wait_for_text("🔎")
    term.type(word)
    term.settle()
    lines = term.lines()
    prompt = next(i for i, line in enumerate(lines) if "🔎" in line)
    assert any(finds in line for line in lines[prompt + 1 : prompt + 8]), term.dump()
    assert "No matches found" not in term.text()


def test_palette_runs_a_list_action_from_another_screen(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40)
    filter_to(term, "demo/wasted")
    term.press("h")
    term.wait_for_text("truncated")
    term.press("ctrl+p")
    term.wait_for_text("🔎")
    term.type("pull")
    term.settle()
    term.press("enter")
    term.wait_for_text("Pull an image")
    term.press("escape")
