"""Snapshots of the image list, help and daemon-down screens at 80x24 and 120x40."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.ui.fake import FakeService, make_app
from tests.ui.test_images_screen import ready, wait_for
from tui.screens.daemon_down import DaemonDownScreen

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_image_list(snap_compare: Any, size: tuple[int, int]) -> None:
    async def loaded(pilot: Any) -> None:
        await ready(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_image_list_filtered_and_marked(snap_compare: Any, size: tuple[int, int]) -> None:
    async def marked(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("slash", *"demo/app", "enter", "space", "space")

    assert snap_compare(make_app(), terminal_size=size, run_before=marked)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, size: tuple[int, int]) -> None:
    async def helped(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("question_mark")

    assert snap_compare(make_app(), terminal_size=size, run_before=helped)


@pytest.mark.parametrize("size", SIZES)
def test_daemon_down(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(FakeService(down=True))

    async def down(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "down screen")

    assert snap_compare(app, terminal_size=size, run_before=down)


class StuckReconnect(FakeService):
    """The reconnect attempt hangs, so the banner keeps its first text for the picture."""

    def ping(self) -> None:
        threading.Event().wait(30)


def lost_daemon_app() -> tuple[Any, Any]:
    """An app whose daemon drops after the list loaded, and a run_before showing the banner."""
    fake = StuckReconnect()
    app = make_app(fake)

    async def lost(pilot: Any) -> None:
        screen = await ready(pilot)
        fake.down = True
        fake.drop_connection()
        banner = screen.query_one("#banner")
        await wait_for(pilot, lambda: banner.display, "the banner")

    return app, lost


@pytest.mark.parametrize("size", SIZES)
def test_lost_daemon_banner(snap_compare: Any, size: tuple[int, int]) -> None:
    app, lost = lost_daemon_app()
    assert snap_compare(app, terminal_size=size, run_before=lost)
