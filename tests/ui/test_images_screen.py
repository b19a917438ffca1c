"""The list screen with the fake service: what a person sees after pressing keys."""

from __future__ import annotations

from textual.widgets import Static

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, refs, wait_for
from tui.screens.daemon_down import DaemonDownScreen
from tui.screens.help import HelpScreen
from tui.screens.images import ImagesScreen


def text_of(screen: ImagesScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_filter_as_you_type_and_escape_clears() -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        total = len(refs(screen))
        await pilot.press("slash", "a", "l", "i", "a", "s")
        assert sorted(refs(screen)) == ["demo/alias:one", "demo/alias:two"]
        assert "(2 shown)" in text_of(screen, "#summary")
        # An image ID prefix matches too.
        await pilot.press(*(["backspace"] * 5), *"0006")
        assert sorted(refs(screen)) == ["demo/alias:one", "demo/alias:two", "demo/multi:latest"]
        await pilot.press("enter", "escape")
        assert len(refs(screen)) == total
        assert not screen.query_one("#filter").display


async def test_sort_cycles_columns_and_numbers_sort_as_numbers() -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert screen.model.sort.id == "created"
        await pilot.press("o")  # created -> repository
        assert screen.model.sort.id == "repository"
        apps = [r for r in refs(screen) if r.startswith("demo/app:")]
        assert apps == ["demo/app:1.0", "demo/app:1.2", "demo/app:2.0", "demo/app:10.0"]
        await pilot.press("O")
        apps = [r for r in refs(screen) if r.startswith("demo/app:")]
        assert apps == ["demo/app:10.0", "demo/app:2.0", "demo/app:1.2", "demo/app:1.0"]
        await pilot.press("o")  # -> size, largest first
        assert screen.model.sort.id == "size"
        assert refs(screen)[0] == "demo/wasted:latest"
        assert "sort size" in text_of(screen, "#summary")


async def test_marks_show_in_summary_and_survive_a_reload() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("space", "space")
        assert len(screen.model.marked_rows()) == 2
        assert "2 marked" in text_of(screen, "#summary")
        marked = {r.reference for r in screen.model.marked_rows()}
        cursor = screen.model.current()
        calls = len(fake.calls)
        fake.emit("image", "tag", "x")
        await wait_for(pilot, lambda: len(fake.calls) > calls, "a reload after the event")
        await pilot.pause(0.1)
        assert {r.reference for r in screen.model.marked_rows()} == marked
        assert screen.model.current() is not None and cursor is not None
        assert screen.model.current().reference == cursor.reference  # type: ignore[union-attr]
        await pilot.press("A")
        assert screen.model.marked_rows() == []


async def test_event_brings_a_new_tag_in_and_keeps_the_filter() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash", *"demo/app", "enter")
        before = set(refs(screen))
        fake.tag("demo/app:1.0", "demo/app:99")
        await wait_for(pilot, lambda: "demo/app:99" in refs(screen), "the new tag")
        assert set(refs(screen)) == before | {"demo/app:99"}
        assert screen.model.filter_text == "demo/app"


async def test_lost_daemon_shows_a_banner_then_recovers() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        fake.down = True
        fake.drop_connection()
        banner = screen.query_one("#banner", Static)
        await wait_for(pilot, lambda: banner.display, "the banner")
        assert "Lost the daemon" in str(banner.render())
        fake.down = False
        await wait_for(pilot, lambda: not banner.display, "the banner to go")


async def test_daemon_down_at_start_offers_retry_and_quit() -> None:
    fake = FakeService(down=True)
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "down screen")

        def shown() -> str:
            return " ".join(str(w.render()) for w in app.screen.query(Static))

        # The screen is pushed before it has composed its text: wait for the words.
        await wait_for(pilot, lambda: "unix:///fake/docker.sock" in shown(), "the host")
        assert "connection refused" in shown()
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: "Still unreachable" in str(app.screen.query_one("#down-keys", Static).render()),
            "retry outcome",
        )
        # Another context is one key away from the down screen too.
        await pilot.press("C")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ContextsScreen", "switcher")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "down again")
        fake.down = False
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen is app.images_screen, "the list")
        await ready(pilot)
        await pilot.press("q")
    assert app.return_code == 0


async def test_help_lists_every_key() -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        body = str(pilot.app.screen.query_one("#help-body", Static).render())
        for binding in ImagesScreen.BINDINGS:
            assert binding.tooltip in body  # type: ignore[union-attr]
        assert "/ " in body and "? " in body
        await pilot.press("escape")
        assert pilot.app.screen is screen


async def test_early_list_is_shown_before_the_service_connects() -> None:
    """The stdlib-fetched list is on screen while docker-py still loads and connects."""
    import threading

    from tui.app import ImagedeckApp
    from tui.prefetch import Prefetch

    fake = FakeService()
    gate = threading.Event()

    def factory() -> FakeService:
        gate.wait(10)  # docker-py still importing, the daemon still connecting
        return fake

    # Another socket than the service's: the service then lists the images itself.
    prefetch = Prefetch(factory, unix_socket="/early/docker.sock")  # type: ignore[arg-type]
    prefetch.early.set_result(fake.list_images())
    app = ImagedeckApp(factory, host_hint="unix:///fake/docker.sock", prefetch=prefetch)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.images_screen
        await wait_for(pilot, lambda: screen.loaded, "the early list")
        assert app.service is None
        assert "demo/alias:one" in refs(screen)
        gate.set()
        await wait_for(pilot, lambda: app.service is fake, "the connection")
        await wait_for(pilot, lambda: screen.usage is not None, "disk usage")
        assert "demo/alias:one" in refs(screen)
