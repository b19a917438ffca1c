"""Snapshots of the fleet view's E (copy one daemon's row to another member: the other members
offered, never the source) at 80x24 and 120x40."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.pilot import wait_for
from tests.ui.test_fleet_archives import two_daemons
from tests.ui.test_fleet_fake import open_fleet
from tui.modals.archives import CopyDialog

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_fleet_copy_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    alpha, _, fleet = two_daemons()

    async def run_before(pilot: Any) -> None:
        await open_fleet(pilot, fleet)
        await pilot.press("slash", *"team/api", "enter", "E")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CopyDialog), "the dialog")
        await pilot.pause()

    assert snap_compare(make_app(alpha), terminal_size=size, run_before=run_before)
