"""Shared steps of the issue-4 UI tests and snapshots: open a screen on a row and wait."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.ui.pilot import until_settled, wait_for

__all__ = ["history_ready", "inspect_ready", "layers_ready", "open_on", "type_text", "wait_for"]


async def open_on(pilot: Pilot[Any], reference: str, key: str) -> Any:
    """Wait for the list, put the cursor on ``reference``, press ``key``; return the screen."""
    app = pilot.app
    images = app.images_screen  # type: ignore[attr-defined]
    await until_settled(pilot, lambda: images.loaded, "the image list")
    images.select_after_load(reference)
    await pilot.pause()
    row = images.current_row()
    assert row is not None and row.reference == reference
    await pilot.press(key)
    await wait_for(pilot, lambda: app.screen is not images, f"the screen of {key!r}")
    return app.screen


async def history_ready(pilot: Pilot[Any], reference: str = "demo/wasted:latest") -> Any:
    """The history screen of ``reference``, loaded."""
    screen = await open_on(pilot, reference, "h")
    await until_settled(pilot, lambda: screen.shown or screen.error, "the history")
    await pilot.pause()
    return screen


async def inspect_ready(pilot: Pilot[Any], reference: str = "demo/wasted:latest") -> Any:
    """The inspect screen of ``reference``, loaded."""
    screen = await open_on(pilot, reference, "i")
    await until_settled(pilot, lambda: screen.data is not None, "the inspect document")
    await pilot.pause()
    return screen


async def layers_ready(pilot: Pilot[Any], reference: str = "demo/wasted:latest") -> Any:
    """The layers screen of ``reference`` with its analysis and first tree shown."""
    screen = await open_on(pilot, reference, "l")
    await until_settled(pilot, lambda: screen.tree_root is not None or screen.error, "the analysis")
    await pilot.pause()
    return screen


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` key by key (punctuation by its key name)."""
    names = {
        ".": "full_stop",
        "/": "slash",
        "{": "left_curly_bracket",
        "}": "right_curly_bracket",
        "[": "left_square_bracket",
        "]": "right_square_bracket",
        " ": "space",
        '"': "quotation_mark",
    }
    for char in text:
        await pilot.press(names.get(char, char))
