"""Snapshots of the disk map (top level, a repository's tags, an image's layers) and of the
retention rules' preview, at 80x24 and 120x40, on the fake service with a fixed record."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.pilot import wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tests.ui.test_diskmap_fake import fixed_recorder, open_map, select

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_disk_map(snap_compare: Any, size: tuple[int, int]) -> None:
    fake = CleanupFake()

    async def opened(pilot: Any) -> None:
        await open_map(pilot, fake)

    assert snap_compare(make_app(fake), terminal_size=size, run_before=opened)


@pytest.mark.parametrize("size", SIZES)
def test_disk_map_tags_with_a_mark(snap_compare: Any, size: tuple[int, int]) -> None:
    fake = CleanupFake()

    async def tags(pilot: Any) -> None:
        screen = await open_map(pilot, fake)
        select(screen, "demo/app")
        await pilot.press("enter")
        select(screen, "2.0")
        await pilot.press("space")
        await pilot.pause()

    assert snap_compare(make_app(fake), terminal_size=size, run_before=tags)


@pytest.mark.parametrize("size", SIZES)
def test_disk_map_layers(snap_compare: Any, size: tuple[int, int]) -> None:
    fake = CleanupFake()

    async def layers(pilot: Any) -> None:
        screen = await open_map(pilot, fake)
        select(screen, "demo/wasted")
        await pilot.press("enter", "enter")
        await pilot.pause()

    assert snap_compare(make_app(fake), terminal_size=size, run_before=layers)


@pytest.mark.parametrize("size", SIZES)
def test_retention_preview(snap_compare: Any, size: tuple[int, int]) -> None:
    fake = CleanupFake()

    async def preview(pilot: Any) -> None:
        from tests.ui.pilot import ready

        await ready(pilot)
        pilot.app.last_used = fixed_recorder(fake)
        await pilot.press("X")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "PruneWizard", "wizard")
        await pilot.press("r")
        await wait_for(
            pilot, lambda: type(pilot.app.screen).__name__ == "RetentionDialog", "the rules"
        )
        dialog = pilot.app.screen
        dialog.query_one("#retention-keep-last").value = "1"
        dialog.query_one("#retention-unused-for").value = "1d"
        dialog.query_one("#retention-keep").value = "imagedeck/*"
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        await pilot.pause()

    assert snap_compare(make_app(fake), terminal_size=size, run_before=preview)
