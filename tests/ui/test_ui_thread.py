"""Nothing that can wait on the network runs on the UI thread (issue 11, point 9), fake service.

Closing a replaced service (after a reconnect or a context switch) can wait on the network (an
ssh transport's close); it runs in a worker. The daemon-level check that every screen answers
its keys with a stopped daemon is tests/ui/test_unresponsive_daemon.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, wait_for
from tui.messages import Connected


class SlowToClose(FakeService):
    """A service whose close() hangs until released (an ssh link that went away)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.closed = threading.Event()

    def close(self) -> None:
        """Waits (at most 5 s) as a dead network would."""
        self.release.wait(5)
        self.closed.set()


async def test_closing_a_replaced_service_does_not_hold_the_ui() -> None:
    old = SlowToClose()
    app = make_app(old)
    async with app.run_test(size=(100, 30)) as pilot:
        images = await ready(pilot)
        new = FakeService()
        app.post_message(Connected(new.info(), new))
        await wait_for(pilot, lambda: app.service is new, "the new service")
        # The UI thread is free while the old service is still closing.
        start = time.monotonic()
        await asyncio.sleep(0.05)
        stalled = time.monotonic() - start - 0.05
        assert not old.closed.is_set()
        assert stalled < 1.0, f"the UI thread waited {stalled:.1f}s for close()"
        before = images.model.current()
        await pilot.press("j")
        assert images.model.current() != before
        old.release.set()
        await wait_for(pilot, old.closed.is_set, "the old service to close in its worker")
