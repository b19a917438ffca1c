"""The list screen against the fake service: rows, filter, sort, marks, live update."""

from __future__ import annotations

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready


async def test_list_shows_one_row_per_tag() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        refs = [r.reference for r in screen.model.visible]
        assert "demo/alias:one" in refs and "demo/alias:two" in refs and "demo/multi:latest" in refs
        expected = sum(max(len(i.tags), 1) for i in fake.images)
        assert len(refs) == expected
