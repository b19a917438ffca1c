"""A build that lost its daemon offers to remove what it left (issue 11, point 7), fake service.

The log's status line names the leftovers and `x` removes them: while the daemon is still gone
it says so and keeps the offer; once it is back they are removed and the offer goes. The real
daemon's side (the leftovers exist, then are gone) is tests/service/test_build_faults.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import wait_for
from tests.ui.test_build_ui import open_form
from tui.screens.build_log import BuildLogScreen
from tui.service.build import BuildError, BuildLeftovers, BuildOutput, BuildStep
from tui.service.errors import DaemonUnreachable
from tui.widgets.build_log import FAILED

LEFT = BuildLeftovers("94ef2a8d86a3" * 5, ("c9583f068bf1",), 0.0)


class DaemonDiesMidBuild(FakeService):
    """The build's connection breaks at step 3/3, leaving a container and an image."""

    def __init__(self) -> None:
        super().__init__()
        self.removals: list[BuildLeftovers] = []

    def build_request(self, request: Any, cancel: threading.Event) -> Iterator[Any]:
        """Two steps, the third breaks."""
        step = BuildStep(3, 3, "RUN sleep 20")
        yield BuildStep(1, 3, "FROM imagedeck/busybox:latest")
        yield BuildStep(2, 3, "RUN echo one > /one")
        yield BuildOutput((" ---> c9583f068bf1",))
        yield step
        yield BuildOutput((" ---> Running in 94ef2a8d86a3",))
        yield BuildError(
            "The connection to the daemon broke at step 3/3: the build did not finish; it may "
            f"have left {LEFT.describe()}",
            step=step,
            leftovers=LEFT,
        )

    def remove_build_leftovers(self, leftovers: BuildLeftovers) -> list[str]:
        """Refused while down, as the real one is."""
        if self.down:
            raise DaemonUnreachable(self.endpoint.host, "connection refused (test)")
        self.removals.append(leftovers)
        return [f"container {leftovers.container}", *(f"image {i}" for i in leftovers.images)]


def status(screen: Any) -> str:
    """The build log's status line."""
    return str(screen.query_one("#build-log-status").render())


def notified(app: Any, needle: str) -> bool:
    """A notification holds ``needle``."""
    return any(needle in str(n.message) for n in app._notifications)


async def test_x_removes_what_a_build_that_lost_its_daemon_left() -> None:
    fake = DaemonDiesMidBuild()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BuildLogScreen), "the log")
        screen = app.screen
        await wait_for(pilot, lambda: screen.run.model.status == FAILED, "the failure")
        assert "broke at step 3/3" in status(screen)
        assert "x removes them once the daemon is back" in status(screen)
        fake.down = True  # the daemon is not back yet
        await pilot.press("x")
        await wait_for(pilot, lambda: notified(app, "Not removed yet"), "the refusal")
        assert "x removes them" in status(screen) and not fake.removals
        fake.down = False  # back
        await pilot.press("x")
        await wait_for(pilot, lambda: bool(fake.removals), "the removal")
        await wait_for(pilot, lambda: notified(app, "image c9583f068bf1"), "what was removed")
        await wait_for(pilot, lambda: "x removes them" not in status(screen), "the offer to go")
