"""NO_COLOR at 80x24: state reads from symbols and words, never from colour alone.

Textual reads NO_COLOR when the App is created (and then renders through its monochrome
filter), so the variable is set before ``make_app``. Paths shown by the help screen come from
fixed XDG directories so the pictures do not depend on who runs the tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.snapshots.test_images_snapshots import lost_daemon_app
from tests.ui.fake import FakeService, make_app
from tests.ui.test_contexts import context_app
from tests.ui.test_images_screen import ready, wait_for
from tui.modals.contexts import ContextsScreen
from tui.screens.daemon_down import DaemonDownScreen

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR set and the config/log paths pinned."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/me/.config")
    monkeypatch.setenv("XDG_STATE_HOME", "/home/me/.local/state")


def test_plain_list_marks_dangling_in_use(snap_compare: Any) -> None:
    app = make_app()
    assert app.no_color

    async def marked(pilot: Any) -> None:
        screen = await ready(pilot)
        # Mark the first row, and show the dangling and in-use rows on the same page.
        await pilot.press("o")  # sort by repository
        screen.model.select_reference("demo/alias:one")
        await pilot.press("space")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=marked)


def test_plain_help_end_shows_symbols_and_config_path(snap_compare: Any) -> None:
    async def helped(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: pilot.app.screen.query("#help-box"), "the help")
        pilot.app.screen.query_one("#help-box").scroll_end(animate=False)
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=helped)


def test_plain_context_switcher(snap_compare: Any) -> None:
    app = context_app()

    async def switcher(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ContextsScreen), "the switcher")

    assert snap_compare(app, terminal_size=SIZE, run_before=switcher)


def test_plain_daemon_down(snap_compare: Any) -> None:
    app = make_app(FakeService(down=True))

    async def down(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "down screen")

    assert snap_compare(app, terminal_size=SIZE, run_before=down)


def test_plain_lost_daemon_banner(snap_compare: Any) -> None:
    app, lost = lost_daemon_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=lost)
