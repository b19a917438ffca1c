"""The cycle collector, paused for start-up (tui/memory.py), comes back on even when start-up
never ends with the list and disk usage in (here: the daemon is down): the App's fallback
timer (START_UP_PAUSE_MAX, shortened for the test)."""

from __future__ import annotations

import gc

import pytest

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import wait_for
from tui import memory
from tui.screens.daemon_down import DaemonDownScreen


async def test_a_start_that_never_loads_turns_the_collector_back_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "START_UP_PAUSE_MAX", 0.3)
    memory.pause_collector()
    try:
        app = make_app(FakeService(down=True))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "down")
            assert not gc.isenabled()  # still paused: nothing loaded, the timer not yet due
            await wait_for(pilot, gc.isenabled, "the collector back on")
    finally:
        gc.enable()
