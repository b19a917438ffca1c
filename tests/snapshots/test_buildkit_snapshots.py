"""Snapshots of the build form naming its builder and of BuildKit logs, at 80x24 and 120x40.

The BuildKit logs replay real recordings (tests/fixtures/rawjson) through the real parser.
"""

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
from tui.service.buildkit import BuilderInfo
from tui.widgets.build_log import FAILED, SUCCEEDED

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(80, 24), (120, 40)]
BUILDKIT = BuilderInfo(True, version="0.13.1", name="default", driver="docker")


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Frozen build times, and a relative context path so the picture is the same anywhere."""
    monkeypatch.chdir(ROOT)
    saved = build_screen.clock
    build_screen.clock = lambda: 100.0
    yield
    build_screen.clock = saved


def _fake(builder: BuilderInfo | None, recording: str = "") -> FakeService:
    fake = FakeService()
    fake.builder = builder  # type: ignore[attr-defined]
    if recording:
        fake.buildkit_recording = recording  # type: ignore[attr-defined]
    return fake


async def _form(pilot: Any, context: str = "tests/fixtures/buildkit-modern") -> BuildScreen:
    await ready(pilot)
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "the form")
    screen = pilot.app.screen
    assert isinstance(screen, BuildScreen)
    screen.query_one("#field-context").value = context
    screen.query_one("#field-tags").value = "test/modern:1 test/modern:latest"
    screen.query_one("#field-target").value = "final"
    # Polled: the stages come with the preview's timer (the builder with its probe's worker).
    await wait_for(pilot, lambda: screen.builder is not None and bool(screen.stages), "stages")
    await pilot.pause(0.3)
    for field in screen.query(Input):
        field.cursor_blink = False
    screen.query_one("#field-tags").focus()
    await pilot.pause(0.1)
    return screen


async def _finished(pilot: Any, status: str) -> None:
    await _form(pilot)
    await pilot.press("ctrl+s")
    # Polled: the end shows after the log's flush timer, not with the worker's end.
    await wait_for(
        pilot,
        lambda: (
            isinstance(screen := pilot.app.screen, BuildLogScreen)
            and screen.run.model.status == status
        ),
        f"the build {status}",
    )
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES)
def test_form_names_buildkit(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(_fake(BUILDKIT)), terminal_size=size, run_before=_form)


@pytest.mark.parametrize("size", SIZES)
def test_form_warns_when_the_dockerfile_needs_buildkit(
    snap_compare: Any, size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(_fake(None)), terminal_size=size, run_before=_form)


@pytest.mark.parametrize("size", SIZES)
def test_buildkit_log_succeeded(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run(pilot: Any) -> None:
        await _finished(pilot, SUCCEEDED)

    fake = _fake(BUILDKIT, "d26-modern-target-final")
    assert snap_compare(make_app(fake), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_buildkit_log_failed_with_excerpt(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run(pilot: Any) -> None:
        await _finished(pilot, FAILED)

    fake = _fake(BUILDKIT, "d26-fail")
    assert snap_compare(make_app(fake), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_buildkit_log_running(snap_compare: Any, size: tuple[int, int]) -> None:
    fake = _fake(BUILDKIT, "d26-fail")
    fake.build_gate = threading.Event()  # type: ignore[attr-defined]
    fake.build_hold_at = 18  # type: ignore[attr-defined]
    fake.build_held = threading.Event()  # type: ignore[attr-defined]

    async def running(pilot: Any) -> None:
        await _form(pilot)
        await pilot.press("ctrl+s")
        # Polled: the build's worker is held by the test (its gate); every event before the
        # hold is shown (four steps).
        await wait_for(
            pilot,
            lambda: (
                fake.build_held.is_set()
                and isinstance(screen := pilot.app.screen, BuildLogScreen)
                and not screen.run.pending
            ),
            "the build held, all before shown",
        )
        assert len(pilot.app.screen.run.model.by_key) == 4
        await pilot.pause(0.3)

    assert snap_compare(make_app(fake), terminal_size=size, run_before=running)
    fake.build_gate.set()  # type: ignore[attr-defined]


# -- the build cache prune ------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_build_cache_prune_preview(snap_compare: Any, size: tuple[int, int]) -> None:
    from textual.screen import Screen

    from tests.ui.pilot import ready, wait_for
    from tests.ui.test_build_cache_ui import CacheFake
    from tui.modals.build_cache import BuildCachePrune

    async def preview(pilot: Any) -> None:
        # Opened on the list itself (the wizard's `c` opens the same dialog; the wizard's own
        # picture is tests/snapshots/test_cleanup_snapshots.py's).
        await ready(pilot)
        # On a blank screen: the picture is the dialog's, not the list's behind it.
        await pilot.app.push_screen(Screen())
        pilot.app.push_screen(BuildCachePrune())
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildCachePrune), "dialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen.stage == "preview", "the preview")

    assert snap_compare(make_app(CacheFake()), terminal_size=size, run_before=preview)
