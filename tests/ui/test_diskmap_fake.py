"""The disk map and the retention dialog on the fake service: fast and deterministic.

``DiskFake`` is the cleanup tests' fake (layer data, containers, removal) with a fixed
last-used record; the snapshots in tests/snapshots/test_diskmap_snapshots.py use it too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.ui.fake import EPOCH, make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tui.listmodel import row_key
from tui.modals.delete import DeleteDialog
from tui.screens.diskmap import DiskMapScreen
from tui.service.lastused import LastUsedRecord, LastUsedRecorder
from tui.widgets.bar_list import bar


class DiskFake(CleanupFake):
    """The cleanup fake, on the classic image store (what remove_reference asks since dac7e06)."""

    def _containerd(self) -> bool:
        return False


def fixed_recorder(fake: CleanupFake) -> LastUsedRecorder:
    """A record begun 30 days before the fake's epoch, demo/app:10.0 used 2 days before it."""
    record = LastUsedRecord("fake-daemon", EPOCH - timedelta(days=30))
    record.mark(fake.find("demo/app:10.0").id, EPOCH - timedelta(days=2))
    record.mark(fake.find("demo/running:latest").id, EPOCH - timedelta(hours=1))
    return LastUsedRecorder(record)


async def open_map(pilot: Any, fake: CleanupFake) -> DiskMapScreen:
    """The list, the fixed record, then D; returns the map once its figures are exact."""
    await ready(pilot)
    pilot.app.last_used = fixed_recorder(fake)
    pilot.app.images_screen.last_used_changed()
    await pilot.press("D")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DiskMapScreen), "the map")
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.final, "exact figures")
    await pilot.pause()
    return screen


def select(screen: DiskMapScreen, name: str) -> None:
    """Put the cursor on the entry called ``name``."""
    bars = screen.query_one("#diskmap-list")
    names = [e.name for e in bars.level.entries]
    bars.level.cursor = names.index(name)
    bars.refresh()


def test_bar_eighths() -> None:
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██  "
    assert bar(0.0, 3) == "   "
    assert bar(1 / 16, 4) == "▎   "


async def test_map_sorts_by_frees_drills_down_and_shares_marks_with_the_list() -> None:
    fake = CleanupFake()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_map(pilot, fake)
        bars = screen.query_one("#diskmap-list")
        entries = bars.level.entries
        assert [e.frees for e in entries] == sorted((e.frees for e in entries), reverse=True)
        assert all(e.exact for e in entries)
        # Every repository figure is what marking all its rows on the list would free.
        images_screen = app.images_screen
        # (The list loads its layer data on first use; it then gives the same figure.)
        for entry in entries:
            await wait_for(
                pilot,
                lambda rows=list(entry.rows), want=entry.frees: (
                    images_screen.marked_frees(rows) == want
                ),
                entry.name,
            )
        select(screen, "demo/app")
        await pilot.press("enter")
        assert {e.name for e in bars.level.entries} == {"1.0", "1.2", "2.0", "10.0"}
        assert "used 2026-10-30" in screen.describe(
            next(e for e in bars.level.entries if e.name == "10.0")
        )
        select(screen, "1.2")
        await pilot.press("space")  # marks demo/app:1.2 on the list
        marked = images_screen.model.marked_rows()
        assert [r.reference for r in marked] == ["demo/app:1.2"]
        assert "1 marked" in str(screen.query_one("#diskmap-status").render())
        select(screen, "1.2")
        await pilot.press("enter")  # its layers: the base is shared with every other image
        layers = bars.level.entries
        assert layers[0].shared_with and layers[0].frees == 0
        assert not layers[-1].shared_with
        await pilot.press("backspace", "backspace")
        assert bars.level.title == "repositories"
        select(screen, "demo/app")
        await pilot.press("space")  # the whole repository (1.2 was already marked)
        assert {r.reference for r in images_screen.model.marked_rows()} == {
            "demo/app:1.0",
            "demo/app:1.2",
            "demo/app:2.0",
            "demo/app:10.0",
        }
        select(screen, "demo/app")
        await pilot.press("space")  # all marked: space unmarks them all
        assert images_screen.model.marked_rows() == []
        select(screen, "demo/wasted")
        await pilot.press("space")
        await pilot.press("d")  # the list's delete dialog, for the marked row
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), "the delete dialog")
        assert [i.reference for i in app.screen.plan.items] == ["demo/wasted:latest"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DiskMapScreen), "back")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is images_screen, "the list")
        # The mark made on the map is the list's.
        assert row_key(images_screen.model.marked_rows()[0]).endswith("demo/wasted:latest")


async def test_palette_offers_the_disk_map() -> None:
    app = make_app(CleanupFake())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Disk map" in titles


async def test_retention_dialog_previews_and_removes_exactly_that() -> None:
    fake = DiskFake()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        app.last_used = fixed_recorder(fake)
        await pilot.press("X")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PruneWizard", "wizard")
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RetentionDialog", "rules")
        dialog = app.screen
        dialog.query_one("#retention-keep-last").value = "1"
        dialog.query_one("#retention-keep").value = "imagedeck/* demo/alias"
        await pilot.press("enter")  # Enter in a field previews (p would be typed into it)
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        planned = [(i.action, i.reference) for i in dialog.plan.delete.items]
        assert planned == [
            ("untag", "demo/app:1.0"),
            ("delete", "demo/app:1.2"),
            ("delete", "demo/app:2.0"),
        ]
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.stage == "done", "the removal")
        assert [o.subject for o in dialog.result.outcomes] == [ref for _, ref in planned]
        assert [o.status for o in dialog.result.outcomes] == ["untagged", "deleted", "deleted"]
        left = {t for i in fake.images for t in i.tags}
        assert not left & {ref for _, ref in planned}
        assert {"demo/app:10.0", "127.0.0.1:5000/demo/app:1.0"} <= left


def test_build_cache_line() -> None:
    from tui.screens.diskmap import BUILD_CACHE_KEY, build_cache_lines
    from tui.service.buildkit import BuildCacheUsage, CacheRecord

    def record(n: int, size: int, in_use: bool, shared: bool) -> CacheRecord:
        return CacheRecord(f"r{n}", "regular", "", size, in_use, shared, EPOCH, None, 1)

    class WithCache:
        def build_cache(self) -> BuildCacheUsage:
            return BuildCacheUsage(
                (
                    record(1, 1000, False, False),
                    record(2, 500, True, False),
                    record(3, 70, False, True),
                )
            )

    (line,) = build_cache_lines(WithCache())
    # FREES: what a prune of the unused records frees; LOGICAL: the df size (shared left out).
    assert (line.frees, line.logical, line.key, line.count) == (1000, 1500, BUILD_CACHE_KEY, 3)
    assert build_cache_lines(CleanupFake()) == []  # no build cache: no line


async def test_help_says_since_when_last_use_is_recorded() -> None:
    fake = CleanupFake()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert "Last use" not in screen.help_extra()  # no record yet: nothing claimed
        app.last_used = fixed_recorder(fake)
        assert "Last use: recorded since 2026-10-02 12:00 UTC" in screen.help_extra()
