"""The build cache in the summary line and the cleanup wizard, and its exact prune (fake)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.ui.fake import EPOCH, FakeService, make_app
from tests.ui.pilot import open_cleanup_wizard, ready, wait_for
from tui import format as fmt
from tui.modals.build_cache import BuildCacheLine, BuildCachePrune, cache_line
from tui.service.buildkit import BuildCacheUsage, CacheRecord, plan_cache_prune


def record(ident: str, days: int, size: int, **kw: Any) -> CacheRecord:
    return CacheRecord(
        id=ident,
        type=kw.pop("type", "regular"),
        description=kw.pop("description", f"[{ident}] RUN make"),
        size=size,
        in_use=kw.pop("in_use", False),
        shared=kw.pop("shared", False),
        created=EPOCH - timedelta(days=days + 1),
        last_used=EPOCH - timedelta(days=days),
        usage_count=1,
        parents=tuple(kw.pop("parents", ())),
    )


RECORDS = [
    record("old-layer", 30, 2_400_000_000),
    record(
        "old-mount", 9, 300_000_000, type="exec.cachemount", description="cached mount /root/.cache"
    ),
    record("fresh", 1, 400_000_000),
    record("busy", 40, 50_000_000, in_use=True),
    record("base", 60, 900_000_000, shared=True),
    record("ctx", 12, 1_000_000, type="source.local", description="local source for context"),
]


class CacheFake(FakeService):
    """A fake with a build cache (and the figure in its disk usage)."""

    def __init__(self) -> None:
        super().__init__()
        self.cache_records = list(RECORDS)

    def disk_usage(self) -> Any:
        usage = super().disk_usage()
        return replace(usage, build_cache=BuildCacheUsage(tuple(self.cache_records)).size)


def test_cache_line_words() -> None:
    usage = BuildCacheUsage(tuple(RECORDS))
    line = cache_line(usage, EPOCH)
    # 2.4 GB + 0.3 GB + 1 MB unused for a week; shared records count for nothing.
    assert line == (
        f"build cache: {fmt.size(usage.size)}, {fmt.size(2_701_000_000)} unused for 7 days"
        " (6 records)"
    )
    assert cache_line(BuildCacheUsage(()), EPOCH) == "build cache: empty"


async def test_summary_shows_the_build_cache() -> None:
    fake = CacheFake()
    async with make_app(fake).run_test(size=(160, 30)) as pilot:
        screen = await ready(pilot)
        expected = fmt.size(BuildCacheUsage(tuple(RECORDS)).size)

        def summary() -> str:
            return str(screen.query_one("#summary").render())

        await wait_for(pilot, lambda: "loading" not in summary(), "the disk usage")
        assert f" · build cache {expected} · " in summary()


async def test_wizard_line_and_exact_prune() -> None:
    fake = CacheFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        wizard = await open_cleanup_wizard(pilot)
        line = wizard.query_one(BuildCacheLine)
        await wait_for(pilot, lambda: line.usage is not None, "the cache line")
        assert str(line.render()).startswith(cache_line(BuildCacheUsage(tuple(RECORDS)), EPOCH))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildCachePrune), "dialog")
        dialog = pilot.app.screen
        assert isinstance(dialog, BuildCachePrune)
        await pilot.press("enter")  # the default age, 7d
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        expected = plan_cache_prune(BuildCacheUsage(tuple(RECORDS)), timedelta(days=7), EPOCH)
        assert dialog.plan == expected
        shown = str(dialog.query_one("#cache-list").render())
        for rec in expected.records:
            assert rec.description in shown
        assert "fresh" not in {r.id for r in expected.records}
        assert "busy" not in {r.id for r in expected.records}
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.stage == "done", "the prune")
        # Exactly the previewed records went, nothing else.
        assert ("prune_cache", (tuple(sorted(r.id for r in expected.records)),)) in fake.calls
        assert {r.id for r in fake.cache_records} == {"fresh", "busy"}
        summary = str(dialog.query_one("#cache-summary").render())
        n = len(expected.records)
        assert summary.startswith(f"{n} of {n} records removed, {fmt.size(expected.freed)}")
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is wizard, "back in the wizard")
        await wait_for(
            pilot,
            lambda: line.usage is not None and len(line.usage.records) == 2,
            "the line read again",
        )
