"""The containers screen at 80x24 (issue 14): every column on screen, CREATED never cut, NAME,
IMAGE and STATUS cut (ends, or the image's middle) to what is left; at 120 nothing is cut."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tui import format as fmt
from tui.screens.containers import COLUMNS, PADDING, ContainersScreen, fit_columns


def test_fit_columns_narrows_the_widest_first_never_below_the_minimum() -> None:
    natural = {"NAME": 30, "IMAGE": 20, "STATUS": 22}
    assert fit_columns(100, natural) == natural
    assert fit_columns(41, natural) == {"NAME": 13, "IMAGE": 14, "STATUS": 14}
    assert fit_columns(10, natural) == {"NAME": 8, "IMAGE": 10, "STATUS": 10}


async def opened(pilot: Any) -> ContainersScreen:
    await ready(pilot)
    await pilot.press("c", "a")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ContainersScreen), "containers")
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.loaded, "the containers")
    await pilot.pause()
    return screen


async def test_every_column_fits_at_80_columns() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        table = screen.query_one("#containers-table", DataTable)
        widths = [c.width for c in table.columns.values()]
        assert [str(c.label) for c in table.columns.values()] == list(COLUMNS)
        assert sum(widths) + PADDING * len(widths) <= 80
        for container in fake.containers:
            created = str(table.get_cell(container.id, "CREATED"))
            assert created == fmt.age(container.created)  # never cut
            assert len(created) <= table.columns[ColumnKey("CREATED")].width
        # The names and statuses that did not fit end with '…'; each still starts as it did.
        for container in fake.containers:
            name = str(table.get_cell(container.id, "NAME"))
            assert container.name.startswith(name.rstrip("…"))


async def test_nothing_is_cut_at_120_columns() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        table = screen.query_one("#containers-table", DataTable)
        for container in fake.containers:
            assert str(table.get_cell(container.id, "NAME")) == container.name
            assert str(table.get_cell(container.id, "STATUS")) == container.status
            assert "virtual" in str(table.get_cell(container.id, "SIZE"))
