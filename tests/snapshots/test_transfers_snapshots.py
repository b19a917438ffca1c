"""Snapshots of the transfers screen and the search screen at 80x24 and 120x40.

The transfers are driven through the fake service with a frozen clock: one pull done, one
stopped half-way (running), one failed, one push done; elapsed times are set by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_transfers import TransferFake
from tui.screens.search import SearchScreen
from tui.screens.transfers import SCREEN_NAME, TransfersScreen
from tui.widgets.progress import DONE, FAILED, TransferView

SIZES = [(80, 24), (120, 40)]
FROZEN = 1000.0


@pytest.mark.parametrize("size", SIZES)
def test_transfers_panel(snap_compare: Any, size: tuple[int, int]) -> None:
    async def transfers(pilot: Any) -> None:
        app = pilot.app
        await ready(pilot)
        screen = TransfersScreen(clock=lambda: FROZEN)
        app.install_screen(screen, SCREEN_NAME)
        app.action_start_pull("127.0.0.1:5000/test/app:v1")
        await wait_for(pilot, lambda: screen.is_mounted, "screen shown")
        app.action_start_pull("test/slow:v1")
        app.action_start_pull("test/missing:v1")
        app.action_push("127.0.0.1:5000/demo/app:1.0")
        done, slow, missing, push = screen.transfers.values()
        await wait_for(pilot, lambda: done.state == DONE and push.state == DONE, "done")
        await wait_for(pilot, lambda: missing.state == FAILED, "failed")
        await wait_for(
            pilot,
            lambda: slow.event is not None and slow.event.overall.bytes_done == 8_000_000,
            "slow half-way",
        )
        # Let late messages (notifications of the ended transfers, list reloads) land first.
        await pilot.pause(0.3)
        for transfer, seconds in ((done, 14), (slow, 8), (missing, 1), (push, 3)):
            transfer.started = FROZEN - seconds
        app.clear_notifications()
        screen.query_one(f"#transfer-{slow.id}", TransferView).focus(scroll_visible=False)
        for view in screen.query(TransferView):
            view.refresh(layout=True)
        await pilot.pause(0.2)

    assert snap_compare(make_app(TransferFake()), terminal_size=size, run_before=transfers)


@pytest.mark.parametrize("size", SIZES)
def test_search_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    async def searched(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen), "search")
        await pilot.press(*"127.0.0.1:5001/a", "enter")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: len(screen.results) == 4, "results")
        await pilot.pause()

    assert snap_compare(make_app(TransferFake()), terminal_size=size, run_before=searched)


@pytest.mark.parametrize("size", SIZES)
def test_search_screen_error(snap_compare: Any, size: tuple[int, int]) -> None:
    async def failed(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen), "search")
        await pilot.press(*"offline", "enter")
        screen = pilot.app.screen
        await wait_for(
            pilot, lambda: screen.query_one("#search-status").has_class("error"), "error shown"
        )
        await pilot.pause()

    assert snap_compare(make_app(TransferFake()), terminal_size=size, run_before=failed)
