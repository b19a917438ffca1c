"""Snapshots of the fleet delete's results with a conflict (an image a stopped container uses,
on alpha) offering its way out (`r`), and of that way out's dialog named with its daemon, at
80x24 (the Ways out button and the keys line on screen) and 120x40."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.pilot import wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tests.ui.test_fleet_fake import beta_fake, fleet_of, open_fleet
from tui.modals.conflict import ConflictDialog
from tui.modals.fleet import FleetPlanDialog

SIZES = [(80, 24), (120, 40)]


async def results(pilot: Any, members: dict[str, CleanupFake]) -> FleetPlanDialog:
    await open_fleet(pilot, fleet_of(members))
    await pilot.press("slash", *"demo/stopped", "enter", "d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FleetPlanDialog), "the preview")
    dialog: FleetPlanDialog = pilot.app.screen
    await pilot.press("y")
    await wait_for(pilot, lambda: dialog.stage == "done", "the results")
    await pilot.pause()
    return dialog


@pytest.mark.parametrize("size", SIZES)
def test_fleet_results_with_a_conflict(snap_compare: Any, size: tuple[int, int]) -> None:
    members = {"alpha": CleanupFake(), "beta": beta_fake()}

    async def run_before(pilot: Any) -> None:
        dialog = await results(pilot, members)
        assert dialog.query_one("#resolve").display

    assert snap_compare(make_app(members["alpha"]), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_fleet_conflict_ways_out(snap_compare: Any, size: tuple[int, int]) -> None:
    members = {"alpha": CleanupFake(), "beta": beta_fake()}

    async def run_before(pilot: Any) -> None:
        await results(pilot, members)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictDialog), "ways out")
        await pilot.pause()

    assert snap_compare(make_app(members["alpha"]), terminal_size=size, run_before=run_before)
