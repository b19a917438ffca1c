"""Snapshots of the delete confirmation, the conflict dialog and the cleanup wizard preview,
at 80x24 (nothing may be cut off) and 120x40, on the fake service for determinism."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.pilot import open_cleanup_wizard
from tests.ui.test_cleanup_fake import CleanupFake, go_to, ready, wait_for
from tui.modals.conflict import ConflictDialog
from tui.modals.delete import DeleteDialog
from tui.service.cleanup import Outcome
from tui.service.errors import Holder

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_delete_confirmation(snap_compare: Any, size: tuple[int, int]) -> None:
    async def confirm(pilot: Any) -> None:
        screen = await ready(pilot)
        for ref in ("demo/app:1.2", "demo/app:2.0", "demo/alias:one", "demo/stopped:latest"):
            await go_to(pilot, screen, ref)
            await pilot.press("space")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "dialog")
        freed = pilot.app.screen.query_one("#delete-freed")
        await wait_for(pilot, lambda: "≈" not in str(freed.render()), "the exact space")

    assert snap_compare(make_app(CleanupFake()), terminal_size=size, run_before=confirm)


@pytest.mark.parametrize("size", SIZES)
def test_conflict_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    outcome = Outcome(
        "demo/stopped:latest",
        "failed",
        "demo/stopped:latest is used by exited container ideck-stopped (926032ed516c), "
        "created container web-1 (3f2a9c0d1e2b).",
        "sha256:" + "0009" * 16,
        holders=(
            Holder("926032ed516c" + "0" * 52, "ideck-stopped", "exited", False),
            Holder("3f2a9c0d1e2b" + "0" * 52, "web-1", "created", False),
        ),
    )

    async def conflict(pilot: Any) -> None:
        await ready(pilot)
        pilot.app.push_screen(ConflictDialog(outcome))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictDialog), "dialog")

    assert snap_compare(make_app(CleanupFake()), terminal_size=size, run_before=conflict)


@pytest.mark.parametrize("size", SIZES)
def test_conflict_dialog_running(snap_compare: Any, size: tuple[int, int]) -> None:
    outcome = Outcome(
        "demo/running:latest",
        "failed",
        "demo/running:latest is used by running container ideck-running (782528fc72e1).",
        "sha256:" + "000a" * 16,
        holders=(Holder("782528fc72e1" + "0" * 52, "ideck-running", "running", True),),
    )

    async def conflict(pilot: Any) -> None:
        await ready(pilot)
        pilot.app.push_screen(ConflictDialog(outcome))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictDialog), "dialog")

    assert snap_compare(make_app(CleanupFake()), terminal_size=size, run_before=conflict)


@pytest.mark.parametrize("size", SIZES)
def test_wizard_options(snap_compare: Any, size: tuple[int, int]) -> None:
    async def options(pilot: Any) -> None:
        await open_cleanup_wizard(pilot)

    assert snap_compare(make_app(CleanupFake()), terminal_size=size, run_before=options)


@pytest.mark.parametrize("size", SIZES)
def test_wizard_preview(snap_compare: Any, size: tuple[int, int]) -> None:
    async def preview(pilot: Any) -> None:
        await open_cleanup_wizard(pilot)
        await pilot.press("down", "enter", "p")  # all images no container uses
        await wait_for(pilot, lambda: pilot.app.screen.stage == "preview", "the preview")

    assert snap_compare(make_app(CleanupFake()), terminal_size=size, run_before=preview)
