"""Ages stay current as time passes, with no daemon call (issue 14 item 15).

The list, history, containers and the disk map write CREATED with ``tui.format.age`` and look
every ``AGE_CHECK_SECONDS`` whether an age on screen now reads differently. Here the check
runs every few milliseconds and the app's clock (``tui.format.clock``, pinned by the
``fixed_clock`` fixture) is moved forward; each screen must then show the new age, and the
service is not asked again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from textual.widgets import DataTable, Tree

from tests.ui.fake import EPOCH, FakeService, make_app
from tests.ui.look_helpers import history_ready, open_on
from tests.ui.pilot import open_cleanup_wizard, ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tests.ui.test_diskmap_fake import open_map, select
from tui import format as fmt


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Look for changed ages every 20 ms (screens read the interval as they mount)."""
    monkeypatch.setattr(fmt, "AGE_CHECK_SECONDS", 0.02)
    yield


def move_clock(to: datetime) -> None:
    """The app's "now" (restored by the fixed_clock fixture after the test)."""
    fmt.clock = lambda: to


class CountingFake(CleanupFake):
    """The cleanup fake (containers, layers) counting the calls that read from the daemon."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def list_containers(self, *, sizes: bool = True, image_id: str | None = None) -> Any:
        self.reads += 1
        return super().list_containers(sizes=sizes, image_id=image_id)

    def history(self, reference: str) -> Any:
        self.reads += 1
        return super().history(reference)


def _plain(node: Any) -> str:
    return str(node.label.plain)


async def test_history_ages_follow_the_clock() -> None:
    fake = CountingFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await history_ready(pilot)
        tree = screen.query_one("#history-tree", Tree)
        first = tree.root.children[0]
        entry = first.data.entry
        before = fmt.age(entry.created)
        assert before in _plain(first)
        reads = fake.reads
        move_clock(EPOCH + timedelta(days=3))
        after = fmt.age(entry.created)
        assert after != before
        await wait_for(pilot, lambda: after in _plain(tree.root.children[0]), "the new age")
        assert fake.reads == reads  # no daemon call
        # Opened, the step gives the time itself, which never goes stale.
        tree.move_cursor(tree.root.children[0])
        await pilot.press("space")
        await pilot.pause()
        facts = [_plain(child) for child in tree.root.children[0].children]
        created = [line for line in facts if line.startswith("Created")]
        assert created == [f"Created  {entry.created.strftime('%Y-%m-%d %H:%M:%S UTC')}"]


async def test_container_ages_follow_the_clock() -> None:
    fake = CountingFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await open_on(pilot, "demo/stopped:latest", "c")
        await wait_for(pilot, lambda: screen.loaded, "containers")
        table = screen.query_one("#containers-table", DataTable)
        container = screen.shown()[0]
        assert table.get_cell(container.id, "CREATED") == "just now"  # created at EPOCH
        reads = fake.reads
        move_clock(container.created + timedelta(hours=2, minutes=1))
        await wait_for(
            pilot, lambda: table.get_cell(container.id, "CREATED") == "2 hours ago", "2 hours"
        )
        assert fake.reads == reads  # no daemon call


async def test_disk_map_ages_follow_the_clock() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await open_map(pilot, fake)
        select(screen, "demo/app")
        await pilot.press("enter")
        bars = screen.query_one("#diskmap-list")
        await wait_for(pilot, lambda: {e.name for e in bars.level.entries} >= {"1.0"}, "tags")

        def drawn() -> str:
            return "\n".join(bars.render_line(y).text for y in range(len(bars.level.entries)))

        assert "created 8 days ago" in drawn()  # demo/app:1.0 is 8 days old at EPOCH
        # The bars are drawn line by line when asked to repaint: count the repaints.
        repaints: list[object] = []
        original = bars.refresh

        def counting_refresh(*args: Any, **kwargs: Any) -> Any:
            repaints.append(args)
            return original(*args, **kwargs)

        bars.refresh = counting_refresh
        await pilot.pause(0.1)
        assert not repaints  # nothing changed: no repaint
        move_clock(EPOCH + timedelta(days=40))
        await wait_for(pilot, lambda: bool(repaints), "a repaint for the new ages")
        assert "created a month ago" in drawn()
        assert "created 8 days ago" not in drawn()


async def test_unchanged_ages_cost_no_repaint() -> None:
    # A look that finds every age as drawn changes nothing (the timer runs all the time).
    async with make_app(FakeService()).run_test(size=(120, 40)) as pilot:
        screen = await history_ready(pilot)
        await pilot.pause()
        assert screen.refresh_ages() is False
        move_clock(EPOCH + timedelta(days=400))
        assert screen.refresh_ages() is True
        assert screen.refresh_ages() is False


async def test_list_ages_follow_the_clock_and_unchanged_ones_cost_nothing() -> None:
    from tui.widgets.image_table import ImageTable

    fake = CountingListFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        table = screen.query_one(ImageTable)
        screen.select_after_load("demo/wasted:latest")  # a day old at EPOCH
        await pilot.pause()

        def drawn() -> str:
            y = screen.model.cursor - int(table.scroll_y)
            return table.render_line(y).text

        assert "a day ago" in drawn()
        assert table.refresh_ages() is False  # nothing changed: no repaint
        reads = fake.reads
        move_clock(EPOCH + timedelta(days=3))
        await wait_for(pilot, lambda: "4 days ago" in drawn(), "the new age")
        assert fake.reads == reads  # no daemon call
        assert table.refresh_ages() is False


class CountingListFake(FakeService):
    """The fake counting the list and disk-usage reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def list_images(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return super().list_images(*args, **kwargs)

    def disk_usage(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return super().disk_usage(*args, **kwargs)


async def test_cleanup_preview_ages_follow_the_clock() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        wizard = await open_cleanup_wizard(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: wizard.stage == "preview", "the preview")

        def listed() -> str:
            return str(wizard.query_one("#prune-list").render())

        assert "3 days ago" in listed()  # the dangling image, 3.5 days old at EPOCH
        assert wizard.refresh_ages() is False
        move_clock(EPOCH + timedelta(days=30))
        await wait_for(pilot, lambda: "a month ago" in listed(), "the new age")
        await pilot.press("escape")
