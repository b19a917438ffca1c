"""Snapshots of the archive dialogs (save, load/import, copy to another daemon), both sizes."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from tests.ui.pilot import ready, wait_for
from tests.ui.test_archives_ui import archive_app, finished

SIZES = [(80, 24), (120, 40)]


def opened(keys: tuple[str, ...], name: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press(*keys)
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == name, name)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_save_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    """Two marked images, the proposed file name."""
    keys = ("space", "space", "S")
    assert snap_compare(archive_app(), terminal_size=size, run_before=opened(keys, "SaveDialog"))


@pytest.mark.parametrize("size", SIZES)
def test_load_dialog_import_mode(snap_compare: Any, size: tuple[int, int]) -> None:
    """Import mode with a reference the grammar refuses: the reason, the button disabled."""

    async def run_before(pilot: Any) -> None:
        await opened(("I",), "LoadDialog")(pilot)
        await pilot.click("#load-mode-import")
        pilot.app.screen.query_one("#load-path", Input).value = "~/rootfs.tar.gz"
        pilot.app.screen.query_one("#load-reference", Input).value = "Team/App:1"
        await pilot.pause(0.3)

    assert snap_compare(archive_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_load_outcome(snap_compare: Any, size: tuple[int, int]) -> None:
    """Per-image outcome of a load (a name with markup shown as text)."""

    async def run_before(pilot: Any) -> None:
        await opened(("I",), "LoadDialog")(pilot)
        pilot.app.screen.query_one("#load-path", Input).value = "/tmp/images.tar"
        await pilot.press("enter")
        await finished(pilot)
        await pilot.pause(0.3)

    assert snap_compare(archive_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_copy_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    """The other contexts (not the one in use) and the host field."""
    assert snap_compare(archive_app(), terminal_size=size, run_before=opened(("E",), "CopyDialog"))
