"""Shared steps of the issue-4 UI tests and snapshots: open a screen on a row and wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition()`` holds (workers answer through messages)."""
    for _ in range(300):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def open_on(pilot: Pilot[Any], reference: str, key: str) -> Any:
    """Wait for the list, put the cursor on ``reference``, press ``key``; return the screen."""
    app = pilot.app
    images = app.images_screen  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: images.loaded, "the image list")
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
    await wait_for(pilot, lambda: screen.shown or screen.error, "the history")
    await pilot.pause()
    return screen


async def inspect_ready(pilot: Pilot[Any], reference: str = "demo/wasted:latest") -> Any:
    """The inspect screen of ``reference``, loaded."""
    screen = await open_on(pilot, reference, "i")
    await wait_for(pilot, lambda: screen.data is not None, "the inspect document")
    await pilot.pause()
    return screen


async def layers_ready(pilot: Pilot[Any], reference: str = "demo/wasted:latest") -> Any:
    """The layers screen of ``reference`` with its analysis and first tree shown."""
    screen = await open_on(pilot, reference, "l")
    await wait_for(pilot, lambda: screen.tree_root is not None or screen.error, "the analysis")
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
