"""Daemon events reach screens other than the list through the App's ``daemon_events`` Signal.

A screen that shows daemon state subscribes on mount and unsubscribes on unmount
(tui/screens/base.py: ``follow_daemon_events``); the fake service's ``emit`` is the event
stream, as the daemon's would be.
"""

from __future__ import annotations

from tests.ui.fake import make_app, make_image
from tests.ui.pilot import ready, wait_for
from tests.ui.test_diskmap_fake import DiskFake
from tui.screens.diskmap import DiskMapScreen


def repositories(screen: DiskMapScreen) -> list[str]:
    """The repository names the map currently shows."""
    return [e.name for e in screen.disk_map.repositories] if screen.disk_map else []


async def test_the_disk_map_follows_daemon_events_and_stops_when_closed() -> None:
    fake = DiskFake()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DiskMapScreen), "the map")
        screen = app.screen
        await wait_for(pilot, lambda: screen.final, "exact figures")
        assert "test/signal" not in repositories(screen)
        # An image appears on the daemon, and the daemon says so.
        image = make_image(0x51, ("test/signal:1",), age_days=0)
        with fake._lock:
            fake.images.append(image)
        fake.emit("image", "tag", image.id)
        await wait_for(pilot, lambda: "test/signal" in repositories(screen), "the new repository")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DiskMapScreen), "the list")
        # Closed: the map no longer listens (the list still does).
        fake.emit("image", "untag", image.id)
        await pilot.pause(0.3)
        assert not any(node is screen for node in list(app.daemon_events._subscriptions))
