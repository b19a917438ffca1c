"""Snapshots of the fleet view (three fake daemons, one of them down) and of its delete preview
grouped by daemon, at 80x24 (nothing may be cut off) and 120x40."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.pilot import wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tests.ui.test_fleet_fake import beta_fake, fleet_of, open_fleet, shown
from tui.modals.fleet import FleetPlanDialog
from tui.widgets.image_table import ImageTable

SIZES = [(80, 24), (120, 40)]


def fakes() -> dict[str, CleanupFake]:
    """alpha (the sandbox-shaped set), beta (three images), gamma (down)."""
    gone = beta_fake()
    gone.down = True
    gone.endpoint = type(gone.endpoint)(host="tcp://gamma.example:2376", source="test")
    return {"alpha": CleanupFake(), "beta": beta_fake(), "gamma": gone}


@pytest.mark.parametrize("size", SIZES)
def test_fleet_list(snap_compare: Any, size: tuple[int, int]) -> None:
    members = fakes()

    async def opened(pilot: Any) -> None:
        screen = await open_fleet(pilot, fleet_of(members))
        await pilot.press("o", "o", "home")  # by size: both daemons' rows interleave
        await wait_for(pilot, lambda: screen.model.sort.id == "size", "the size sort")
        await pilot.pause()

    assert snap_compare(make_app(members["alpha"]), terminal_size=size, run_before=opened)


@pytest.mark.parametrize("size", SIZES)
def test_fleet_grouped_preview(snap_compare: Any, size: tuple[int, int]) -> None:
    members = fakes()

    async def preview(pilot: Any) -> None:
        screen = await open_fleet(pilot, fleet_of(members))
        for daemon, reference in (
            ("alpha", "demo/app:1.2"),
            ("alpha", "demo/alias:one"),
            ("beta", "team/api:3"),
            ("beta", "imagedeck/busybox:latest"),
        ):
            screen.model.cursor = shown(screen).index((daemon, reference))
            await pilot.press("space")
        # The cursor back on the first row by key, as a person would, so the list behind the
        # dialog is drawn the same way every time (the last space left it wherever it moved).
        await pilot.press("home")
        await wait_for(pilot, lambda: screen.model.cursor == 0, "the cursor on the first row")
        await pilot.pause()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FleetPlanDialog), "preview")
        # The list behind the dialog is drawn again now, so the picture does not depend on
        # whether its repaint of the moved cursor came before the dialog or after it.
        screen.query_one(ImageTable).refresh()
        screen.refresh()
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_app(members["alpha"]), terminal_size=size, run_before=preview)


@pytest.mark.parametrize("size", SIZES)
def test_fleet_long_preview_keeps_its_buttons(snap_compare: Any, size: tuple[int, int]) -> None:
    members = fakes()

    async def preview(pilot: Any) -> None:
        await open_fleet(pilot, fleet_of(members))
        await pilot.press("a", "d")  # every row of both daemons: the list scrolls, not the box
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FleetPlanDialog), "preview")
        await pilot.pause()
        confirm = pilot.app.screen.query_one("#confirm")
        assert confirm.region.bottom <= size[1], "the Delete button is off screen"

    assert snap_compare(make_app(members["alpha"]), terminal_size=size, run_before=preview)
