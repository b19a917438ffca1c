"""The image list at 10,000 tags against the fake service: keys, events and reloads stay right.

No timings here (speed is measured in benchmarks/): these check that filtering, sorting,
marking and a refresh after daemon events keep the cursor, the marks and the filter, that a
burst of events is one reload, and that typing in the filter does not re-lay out the screen.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, settle, wait_for
from tests.unit.test_listmodel_scale import IMAGES, TAGS_PER_IMAGE, many_images
from tui.screens.images import COALESCE_MAX, ImagesScreen
from tui.widgets.image_table import ImageTable

ROWS = IMAGES * TAGS_PER_IMAGE


def _list_calls(fake: FakeService) -> int:
    return sum(1 for name, _ in fake.calls if name == "list_images")


def _current(screen: ImagesScreen) -> str:
    row = screen.model.current()
    assert row is not None
    return row.reference


async def test_filter_sort_mark_and_event_refresh_keep_cursor_marks_and_filter() -> None:
    fake = FakeService(many_images())
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert len(screen.model.visible) == ROWS

        await pilot.press("slash", *"app07:1", "enter")
        assert screen.model.filter_text == "app07:1"
        assert len(screen.model.visible) == 111  # 1, 10-19, 100-199
        assert isinstance(pilot.app.focused, ImageTable)

        # Sort by repository: tags as numbers (1, 10, 11, ... then 100 ...), not as text.
        while screen.model.sort.id != "repository":
            await pilot.press("o")
        tags = [r.tag for r in screen.model.visible]
        assert tags[:4] == ["1", "10", "11", "12"] and tags[-1] == "199"

        await pilot.press("j", "j", "space")  # mark tag 11; the cursor moves on to 12
        await pilot.press("space")  # and 12
        assert _current(screen) == "bench/app07:13"
        marked = {r.reference for r in screen.model.marked_rows()}
        assert marked == {"bench/app07:11", "bench/app07:12"}

        # A daemon event: a new tag appears; the refresh keeps filter, sort, cursor, marks.
        calls = _list_calls(fake)
        fake.tag("bench/app07:1", "bench/app07:1000")
        # The event comes on the events thread and waits out the coalescing timer: polled.
        await wait_for(pilot, lambda: _list_calls(fake) > calls, "the reload")
        await settle(pilot)  # the reload's worker ends; its list is applied
        assert "bench/app07:1000" in {r.reference for r in screen.model.visible}
        assert screen.model.filter_text == "app07:1"
        assert screen.model.sort.id == "repository"
        assert _current(screen) == "bench/app07:13"
        assert {r.reference for r in screen.model.marked_rows()} == marked
        assert len(screen.model.rows) == ROWS + 1

        # Esc clears the filter; the cursor stays on its row among all 10,001.
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert screen.model.filter_text == "" and len(screen.model.visible) == ROWS + 1
        assert _current(screen) == "bench/app07:13"
        table = screen.query_one(ImageTable)
        top = int(table.scroll_y)
        assert top <= screen.model.cursor < top + table.scrollable_content_region.height

        await pilot.press("a")  # mark all shown
        assert len(screen.model.marks) == ROWS + 1
        await pilot.press("A")
        assert not screen.model.marks


async def test_a_burst_of_500_events_is_one_reload() -> None:
    fake = FakeService(many_images())
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await settle(pilot)
        before = _list_calls(fake)
        for n in range(500):
            fake.emit("image", "delete", f"sha256:{n:064x}")
        await wait_for(pilot, lambda: _list_calls(fake) > before, "the reload")
        # Wait well past the coalescing window: no second reload may follow.
        await pilot.pause(COALESCE_MAX + 0.5)
        assert _list_calls(fake) == before + 1
        assert len(screen.model.rows) == ROWS


async def test_typing_in_the_filter_does_not_re_lay_out_the_screen() -> None:
    fake = FakeService(many_images())
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        await pilot.pause(0.1)
        layouts = 0
        original = Screen._refresh_layout

        def counting(self: Screen[Any], *args: Any, **kwargs: Any) -> None:
            nonlocal layouts
            layouts += 1
            original(self, *args, **kwargs)

        Screen._refresh_layout = counting  # type: ignore[method-assign]
        try:
            for key in "bench/app1":
                await pilot.press(key)
            await pilot.pause(0.1)
        finally:
            Screen._refresh_layout = original  # type: ignore[method-assign]
        assert screen.model.filter_text == "bench/app1"
        assert len(screen.model.visible) == 10 * TAGS_PER_IMAGE
        # A layout re-arranges every widget; a keystroke should repaint, not re-lay out
        # (the first one may, when the summary line changes from "all" to "shown").
        assert layouts <= 1


async def test_cursor_move_repaints_only_two_lines() -> None:
    fake = FakeService(many_images())
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        table = screen.query_one(ImageTable)
        regions: list[Any] = []
        original = ImageTable.refresh

        def recording(self: ImageTable, *args: Any, **kwargs: Any) -> Any:
            regions.append(args)
            return original(self, *args, **kwargs)

        ImageTable.refresh = recording  # type: ignore[method-assign]
        try:
            await pilot.press("j")
        finally:
            ImageTable.refresh = original  # type: ignore[method-assign]
        assert screen.model.cursor == 1
        assert len(regions) == 2 and all(len(r) == 1 and r[0].height == 1 for r in regions)
        assert table.scroll_y == 0


class _CountingService(FakeService):
    """Counts disk-usage requests too."""

    def disk_usage(self) -> Any:
        """As FakeService.disk_usage, counted."""
        self.calls.append(("disk_usage", ()))
        return super().disk_usage()


async def test_start_asks_for_the_list_once_and_for_disk_usage_once() -> None:
    from tui.prefetch import Prefetch

    fake = _CountingService(many_images())
    prefetch = Prefetch(lambda: fake).start_raw().start()  # type: ignore[arg-type,return-value]
    async with make_app(fake, prefetch=prefetch).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await settle(pilot)
        await pilot.pause(0.3)  # and time for a second request, were one made: a check of absence
        names = [name for name, _ in fake.calls]
        assert names.count("list_images") == 1
        assert names.count("disk_usage") == 1
