"""The pull dialog asking where to pull a hit of a search index from (issue 14 item 13)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_transfers import TransferFake
from tui.modals.pull import PullDialog
from tui.screens.search import SearchScreen

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_pull_dialog_asks_which_registry(snap_compare: Any, size: tuple[int, int]) -> None:
    async def asked(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen), "search")
        await pilot.press(*"127.0.0.1:5001/alpine-curl", "enter")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: len(screen.results) == 1, "results")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        await pilot.pause()

    assert snap_compare(make_app(TransferFake()), terminal_size=size, run_before=asked)
