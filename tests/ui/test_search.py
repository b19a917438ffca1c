"""The search screen against the fake service: results, filters, errors, catalog, pull."""

from __future__ import annotations

from typing import Any

from textual.widgets import RadioSet

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_transfers import TransferFake
from tui.modals.pull import PullDialog
from tui.screens.search import SearchScreen
from tui.widgets.progress import DONE


async def open_search(pilot: Any) -> SearchScreen:
    """Press s on the list."""
    await ready(pilot)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen), "search screen")
    return pilot.app.screen  # type: ignore[no-any-return]


async def search_for(pilot: Any, screen: SearchScreen, text: str) -> None:
    """Type a query and wait for the answer."""
    field = screen.query_one("#search-query")
    field.value = text
    field.focus()
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: "Searching" not in str(screen.query_one("#search-status").render()), "answer"
    )


def status(screen: SearchScreen) -> str:
    """The status line's text."""
    return str(screen.query_one("#search-status").render())


async def test_search_shows_name_description_stars_official() -> None:
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        await search_for(pilot, screen, "alpine")
        assert [r.name for r in screen.results] == ["library/alpine", "tools/alpine-curl"]
        table = screen.query_one("#search-results")
        assert table.row_count == 2
        assert str(table.get_row_at(0)[3]) == "[OK]"
        assert "2 results" in status(screen)


async def test_filters_min_stars_official_and_limit() -> None:
    fake = TransferFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        screen.query_one("#search-stars").value = "100"
        screen.query_one("#search-limit").value = "1"
        await search_for(pilot, screen, "a")
        assert fake.searches[-1] == ("a", 1, 100, False)
        assert len(screen.results) == 1
        screen.query_one("#search-limit").value = "25"
        screen.query_one("#search-official").value = True  # searches again by itself
        await wait_for(pilot, lambda: fake.searches[-1][3], "official search")
        await wait_for(pilot, lambda: all(r.official for r in screen.results), "official only")
        assert screen.results


async def test_no_network_is_a_message_in_the_screen() -> None:
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        await search_for(pilot, screen, "offline")
        assert "cannot be reached" in status(screen)
        assert screen.query_one("#search-status").has_class("error")
        assert pilot.app.screen is screen


async def test_private_registry_lists_catalog_repositories_with_tags() -> None:
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        await search_for(pilot, screen, "127.0.0.1:5000/")
        assert [r.name for r in screen.results] == [
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/pushed",
        ]
        assert screen.results[0].tags == ("1.0", "2.0")
        assert "catalog of 127.0.0.1:5000" in status(screen)


async def test_a_catalog_longer_than_the_limit_says_how_many_matched() -> None:
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        screen.query_one("#search-limit").value = "1"
        await search_for(pilot, screen, "127.0.0.1:5000/demo")
        assert [r.name for r in screen.results] == ["127.0.0.1:5000/demo/app"]
        assert "the first 1 of 2 matching repositories in the catalog of 127.0.0.1:5000" in (
            status(screen)
        )


async def test_hits_of_an_index_are_named_on_the_registry_that_has_them() -> None:
    # 127.0.0.1:5001 is an index, not a registry (no catalog); 127.0.0.1:5000, which local tags
    # name, has both repositories: that is where they are pulled from (issue 14, item 13).
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        await search_for(pilot, screen, "127.0.0.1:5001/demo")
        assert [r.name for r in screen.results] == [
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/pushed",
        ]
        assert "pulls come from 127.0.0.1:5000" in status(screen)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        assert pilot.app.screen.query_one("#pull-reference").value == "127.0.0.1:5000/demo/app:1.0"
        assert not pilot.app.screen.query("#pull-from")  # no question: one registry has it


async def test_a_hit_no_known_registry_has_asks_where_to_pull_from() -> None:
    fake = TransferFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        await search_for(pilot, screen, "127.0.0.1:5001/alpine-curl")
        assert [r.name for r in screen.results] == ["127.0.0.1:5001/tools/alpine-curl"]
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        dialog = pilot.app.screen
        choice = dialog.query_one("#pull-from", RadioSet)
        assert "does not say which registry" in str(dialog.query_one("#pull-why").render())
        # The safest first, selected and focused: the index's own host, not a public name.
        assert choice.has_focus
        assert dialog.query_one("#pull-reference").value == "127.0.0.1:5001/tools/alpine-curl"
        await pilot.press("down", "enter")
        assert dialog.query_one("#pull-reference").value == "docker.io/tools/alpine-curl"
        await pilot.click("#pull-ok")
        await wait_for(pilot, lambda: fake.pulled == ["docker.io/tools/alpine-curl"], "pulled")


async def test_enter_on_a_result_pulls_it() -> None:
    fake = TransferFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        await search_for(pilot, screen, "127.0.0.1:5000/pushed")
        await pilot.press("enter")  # on the highlighted row: the pull dialog, prefilled
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        assert pilot.app.screen.query_one("#pull-reference").value == (
            "127.0.0.1:5000/demo/pushed:latest"
        )
        await pilot.press("enter")
        transfers = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: pilot.app.screen is transfers, "transfers screen")
        await wait_for(
            pilot, lambda: any(t.state == DONE for t in transfers.transfers.values()), "pulled"
        )
        assert fake.pulled == ["127.0.0.1:5000/demo/pushed:latest"]
        await pilot.press("T")
        assert pilot.app.screen is screen  # back where the pull came from


async def test_p_on_a_result_and_escape_back() -> None:
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        screen = await open_search(pilot)
        await search_for(pilot, screen, "busybox")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        assert pilot.app.screen.query_one("#pull-reference").value == "library/busybox"
        await pilot.press("escape")
        assert pilot.app.screen is screen
        await pilot.press("escape")
        assert pilot.app.screen is pilot.app.images_screen
