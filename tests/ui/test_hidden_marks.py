"""`d` with marked rows the filter hides says first how many it hides (issue 11, point 15)."""

from __future__ import annotations

from typing import Any

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake


def shown(widget: Any) -> str:
    return str(widget.render())


async def test_delete_says_first_how_many_marked_rows_the_filter_hides() -> None:
    from tui.modals.delete import DeleteDialog

    async with make_app(CleanupFake()).run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        # Mark the first three rows, then filter so that only one of them shows.
        await pilot.press("space", "space", "space")
        assert len(screen.model.marks) == 3
        marked = [r.reference for r in screen.model.marked_rows()]
        await pilot.press("slash", *marked[0].split(":")[0], "enter")
        await pilot.pause(0.05)
        hidden = [r for r in marked if r not in [v.reference for v in screen.model.visible]]
        assert hidden
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "the dialog")
        dialog = pilot.app.screen
        first = dialog.query_one("#delete-first")
        text = shown(first)
        assert f"{len(hidden)} of the 3 marked rows are hidden by the filter" in text
        # In the dialog's first lines: right under the title, above the list of what goes.
        title = dialog.query_one(".dialog-title")
        assert first.region.y == title.region.y + title.region.height
        assert first.region.y < dialog.query_one("#delete-plan").region.y
        assert first.region.bottom <= 24


async def test_no_warning_when_no_mark_is_hidden() -> None:
    from tui.modals.delete import DeleteDialog

    async with make_app(CleanupFake()).run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("space", "space")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "the dialog")
        assert not pilot.app.screen.query("#delete-first")
        assert screen.model.hidden_marked_rows() == []
