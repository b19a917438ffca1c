"""The list screen against the fake service: rows, filter, sort, marks, live update."""

from __future__ import annotations

from tests.ui.fake import FakeService, make_app
from tui.screens.images import ImagesScreen


async def _ready(pilot) -> ImagesScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    for _ in range(100):
        await pilot.pause(0.02)
        screen = app.images_screen
        if screen.loaded and screen.usage is not None:
            return screen
    raise AssertionError("the list never loaded")


async def test_list_shows_one_row_per_tag() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await _ready(pilot)
        refs = [r.reference for r in screen.model.visible]
        assert "demo/alias:one" in refs and "demo/alias:two" in refs and "demo/multi:latest" in refs
        expected = sum(max(len(i.tags), 1) for i in fake.images)
        assert len(refs) == expected
