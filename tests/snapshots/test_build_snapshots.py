"""Snapshots of the build form, a running log and a failed log, at 80x24 and 120x40."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, wait_for
from tui.screens import build_run as build_screen
from tui.screens.build import BuildScreen
from tui.screens.build_log import BuildLogScreen
from tui.widgets.build_log import FAILED

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Frozen build times, and a relative context path so the picture is the same anywhere."""
    monkeypatch.chdir(ROOT)
    saved = build_screen.clock
    build_screen.clock = lambda: 100.0
    yield
    build_screen.clock = saved


async def _form(pilot: Any) -> None:
    await ready(pilot)
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "the form")
    screen = pilot.app.screen
    assert isinstance(screen, BuildScreen)
    screen.query_one("#field-context").value = "tests/fixtures/build-multi"
    screen.query_one("#field-tags").value = "test/demo:1.0 test/demo:latest"
    screen.query_one("#field-buildargs").value = "GREETING=hello"
    await pilot.pause(0.4)
    for field in screen.query(Input):
        field.cursor_blink = False  # a blinking cursor would make the picture random
    screen.query_one("#field-tags").focus()
    await pilot.pause(0.1)


async def _started(pilot: Any) -> BuildLogScreen:
    await _form(pilot)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
    return pilot.app.screen  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", SIZES)
def test_build_form(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_form)


@pytest.mark.parametrize("size", SIZES)
def test_build_log_running(snap_compare: Any, size: tuple[int, int]) -> None:
    fake = FakeService()
    fake.build_gate = threading.Event()  # type: ignore[attr-defined]

    async def running(pilot: Any) -> None:
        screen = await _started(pilot)
        # Polled: the build's worker is held at step 3 by the test (its gate).
        await wait_for(
            pilot,
            lambda: screen.run.model.current.number == 3 and not screen.run.pending,
            "step 3 shown",
        )
        await pilot.pause(0.2)

    assert snap_compare(make_app(fake), terminal_size=size, run_before=running)
    fake.build_gate.set()  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", SIZES)
def test_build_log_failed(snap_compare: Any, size: tuple[int, int]) -> None:
    fake = FakeService()
    fake.build_fails = True  # type: ignore[attr-defined]

    async def failed(pilot: Any) -> None:
        screen = await _started(pilot)
        # Polled: the end shows after the log's flush timer, not with the worker's end.
        await wait_for(pilot, lambda: screen.run.model.status == FAILED, "the failure")
        await pilot.pause(0.2)

    assert snap_compare(make_app(fake), terminal_size=size, run_before=failed)
