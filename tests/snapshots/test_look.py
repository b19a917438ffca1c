"""Snapshots of the history, inspect and layers screens (fake service) at 80x24 and 120x40."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.fake import FakeService, make_app
from tests.ui.look_helpers import (
    history_ready,
    inspect_ready,
    layers_ready,
    open_on,
    type_text,
    wait_for,
)

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_history(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await history_ready(pilot)

    assert snap_compare(make_app(FakeService()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_history_full_expanded(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await history_ready(pilot)
        await pilot.press("f", "down", "down", "down", "down", "space")
        await pilot.pause()

    assert snap_compare(make_app(FakeService()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_inspect_query(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await inspect_ready(pilot)
        await pilot.press("full_stop")
        await type_text(pilot, "Config.Env")
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(make_app(FakeService()), terminal_size=size, run_before=run_before)


def test_inspect_raw(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await inspect_ready(pilot)
        await pilot.press("r")
        await pilot.pause()

    assert snap_compare(make_app(FakeService()), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_layers(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await layers_ready(pilot)
        await pilot.press("down")  # layer 1: the files it added
        await wait_for(pilot, lambda: screen.layer_index == 1 and _shown(screen), "layer 1")

    assert snap_compare(make_app(FakeService()), terminal_size=size, run_before=run_before)


def test_layers_aggregated(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await layers_ready(pilot)
        await pilot.press("down", "down", "down", "a")
        await wait_for(pilot, lambda: screen.aggregated and _shown(screen), "aggregated")

    assert snap_compare(make_app(FakeService()), terminal_size=(120, 40), run_before=run_before)


def test_layers_progress(snap_compare: Any) -> None:
    fake = FakeService()
    fake.analyze_gate = threading.Event()  # type: ignore[attr-defined]

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_on(pilot, "demo/wasted:latest", "l")
        text = screen.query_one("#layers-progress-text")
        await wait_for(pilot, lambda: "Streaming" in str(text.render()), "progress")

    try:
        assert snap_compare(make_app(fake), terminal_size=(80, 24), run_before=run_before)
    finally:
        fake.analyze_gate.set()  # type: ignore[attr-defined]


def _shown(screen: Any) -> bool:
    """The tree for the current layer and view is on screen (not still being built)."""
    title = str(screen.query_one("#layers-tree-title").render())
    return screen.tree_root is not None and "building" not in title
