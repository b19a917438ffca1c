"""Snapshots of the screens and dialogs the other snapshot files do not cover, both sizes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.fake import make_app
from tests.ui.test_cleanup_fake import CleanupFake
from tests.ui.test_contexts import context_app
from tests.ui.test_images_screen import ready, wait_for

SIZES = [(80, 24), (120, 40)]


def opened(keys: tuple[str, ...], screen_name: str) -> Any:
    """A run_before that waits for the list, presses ``keys`` and waits for ``screen_name``."""

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press(*keys)
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == screen_name, screen_name)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_tag_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(CleanupFake())
    assert snap_compare(app, terminal_size=size, run_before=opened(("t",), "TagDialog"))


@pytest.mark.parametrize("size", SIZES)
def test_pull_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(CleanupFake())
    assert snap_compare(app, terminal_size=size, run_before=opened(("p",), "PullDialog"))


@pytest.mark.parametrize("size", SIZES)
def test_run_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(CleanupFake())
    assert snap_compare(app, terminal_size=size, run_before=opened(("r",), "RunDialog"))


@pytest.mark.parametrize("size", SIZES)
def test_containers_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(CleanupFake())
    keys = ("c", "a")
    assert snap_compare(app, terminal_size=size, run_before=opened(keys, "ContainersScreen"))


@pytest.mark.parametrize("size", SIZES)
def test_commit_dialog(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(CleanupFake())

    async def run_before(pilot: Any) -> None:
        await opened(("c", "a"), "ContainersScreen")(pilot)
        await pilot.press("c")
        await wait_for(
            pilot, lambda: type(pilot.app.screen).__name__ == "CommitDialog", "the commit dialog"
        )
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_context_switcher(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(
        context_app(), terminal_size=size, run_before=opened(("C",), "ContextsScreen")
    )
