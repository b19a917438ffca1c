"""Textual markup typed into every field, and in config and context text, is shown as written.

``[/x]`` once ended the app with a MarkupError; ``[bold]`` and ``[link=…]`` were eaten. Each test
types the three into a field as a person would, goes through what the field leads to (the
verdict, the error, the notification), and checks the app is still running and shows the text
literally. Notifications are on (``run_test`` turns them off by default): a toast is where
markup from a message was parsed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, settle, wait_for

HOSTILE = ["[/x]", "[bold]b", "[link=http://e.x]l"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def shown(widget: Any) -> str:
    """The plain text a Static (or any widget) draws now."""
    return str(widget.render())


def toasts(app: Any) -> str:
    """Every toast on screen, as drawn (title and message)."""
    from textual.widgets._toast import Toast

    return "\n".join(str(toast.render()) for toast in app.screen.query(Toast))


async def type_text(pilot: Any, text: str) -> None:
    """Type ``text`` key by key into the focused widget."""
    await pilot.press(*text)
    await pilot.pause(0.05)


async def clear_field(pilot: Any) -> None:
    await pilot.press("ctrl+a", "ctrl+k")


async def fill_every_field(pilot: Any, screen: Any, text: str) -> None:
    """Type ``text`` into each Input of ``screen`` in turn, replacing what was there."""
    for field in screen.query(Input):
        field.focus()
        await clear_field(pilot)
        await type_text(pilot, text)


@asynccontextmanager
async def opened(
    key: str, screen_type: type, *, service: Any = None, size: tuple[int, int] = (100, 30)
) -> AsyncIterator[tuple[Any, Any]]:
    """The app (notifications on) with its list loaded, ``key`` pressed and ``screen_type``
    on top: yields (pilot, that screen)."""
    app = make_app(service or FakeService())
    async with app.run_test(size=size, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(app.screen, screen_type), screen_type.__name__)
        yield pilot, app.screen


@pytest.mark.parametrize("text", HOSTILE)
async def test_tag_dialog(text: str) -> None:
    from tui.modals.tag import TagDialog

    async with opened("t", TagDialog) as (pilot, _dialog):
        await clear_field(pilot)
        await type_text(pilot, text)
        await pilot.press("enter")
        await settle(pilot)
        verdict = shown(pilot.app.screen.query_one("#tag-verdict"))
        assert verdict  # a refusal (brackets are no part of a reference), drawn
        assert pilot.app.screen.query_one("#tag-input", Input).value == text


@pytest.mark.parametrize("text", HOSTILE)
async def test_pull_dialog(text: str) -> None:
    from tui.modals.pull import PullDialog

    async with opened("p", PullDialog) as (pilot, _dialog):
        await type_text(pilot, text)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, PullDialog)
        assert shown(pilot.app.screen.query_one("#pull-error"))


@pytest.mark.parametrize("text", HOSTILE)
async def test_run_dialog(text: str) -> None:
    from tui.modals.run import RunDialog

    async with opened("r", RunDialog) as (pilot, dialog):
        await fill_every_field(pilot, dialog, text)
        await pilot.press("enter")
        await settle(pilot)
        assert not pilot.app._exit


@pytest.mark.parametrize("text", HOSTILE)
async def test_commit_dialog(text: str) -> None:
    from tui.modals.commit import CommitDialog

    async with make_app(FakeService()).run_test(size=(100, 30), notifications=True) as pilot:
        await ready(pilot)
        pilot.app.action_open_commit("a" * 64, "ideck-stopped")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommitDialog), "the dialog")
        dialog = pilot.app.screen
        await fill_every_field(pilot, dialog, text)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CommitDialog)  # refused: not a reference
        assert shown(dialog.query_one("#commit-ref-error"))


@pytest.mark.parametrize("text", HOSTILE)
async def test_search_query(text: str) -> None:
    from tui.screens.search import SearchScreen

    async with opened("s", SearchScreen) as (pilot, _screen):
        await type_text(pilot, text)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, SearchScreen)
        status = shown(pilot.app.screen.query_one("#search-status"))
        assert status


@pytest.mark.parametrize("text", HOSTILE)
async def test_filter_then_cleanup_wizard(text: str) -> None:
    from tests.ui.test_cleanup_fake import CleanupFake
    from tui.modals.prune import PruneWizard

    async with make_app(CleanupFake()).run_test(size=(100, 30), notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, text)
        await pilot.press("enter", "X")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PruneWizard), "the wizard")
        wizard = pilot.app.screen
        assert text in wizard.query_one("#prune-filter").label.plain
        # The age field refuses it, saying it as written.
        wizard.query_one("#prune-age", Input).focus()
        await type_text(pilot, text)
        await pilot.press("enter")
        await settle(pilot)
        assert text.strip() in shown(wizard.query_one("#prune-error"))
        # The label field takes it; the preview's title names filter and label as written.
        await clear_field(pilot)
        wizard.query_one("#prune-label", Input).focus()
        await type_text(pilot, text)
        await pilot.press("enter")
        await wait_for(pilot, lambda: wizard.stage == "preview", "the preview")
        assert shown(wizard.query_one("#prune-title")).count(text) == 2


@pytest.mark.parametrize("text", HOSTILE)
async def test_build_form_tag_log_search_and_save_path(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.modals.build_dialogs import SaveLogDialog
    from tui.screens.build import BuildScreen
    from tui.screens.build_log import BuildLogScreen
    from tui.widgets.build_log import SUCCEEDED

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    async with opened("b", BuildScreen, size=(120, 40)) as (pilot, form):
        form.query_one("#field-context").value = str(FIXTURES / "build-multi")
        await wait_for(pilot, lambda: form.stages, "the Dockerfile's stages")
        # Every field of the form gets the text; the errors say why, as written.
        for field in form.query(Input):
            if field.id == "field-context":
                continue
            field.focus()
            await clear_field(pilot)
            await type_text(pilot, text)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, BuildScreen)
        errors = " ".join(shown(w) for w in form.query(".form-error"))
        assert text in errors or "[" in toasts(pilot.app)
        # A valid build, then the log's search and the save path.
        for field in form.query(Input):
            if field.id != "field-context":
                field.value = ""
        form.query_one("#field-tags", Input).value = "test/markup:a"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        log_screen = pilot.app.screen
        await wait_for(pilot, lambda: log_screen.run.model.status == SUCCEEDED, "success")
        await pilot.press("slash")
        await type_text(pilot, text)
        await pilot.press("enter")
        await settle(pilot)
        assert text in toasts(pilot.app)  # "No match for '[/x]'", brackets and all
        await pilot.press("escape")
        log_screen.query_one("BuildLog").focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SaveLogDialog), "save")
        field = pilot.app.screen.query_one(Input)
        field.focus()
        await clear_field(pilot)
        await type_text(pilot, f"{tmp_path}/nodir/{text}/log.txt")
        await pilot.press("enter")
        await settle(pilot)  # the save runs in a worker
        assert not pilot.app._exit


async def test_config_key_with_markup_is_reported_literally(tmp_path: Path) -> None:
    from tui.config import load_config

    config_file = tmp_path / "config.toml"
    config_file.write_text('[keys]\n"[/x]" = "x"\n"images.delete" = "[bold]"\n')
    config = load_config(config_file)
    async with make_app(FakeService(), config=config).run_test(
        size=(100, 30), notifications=True
    ) as pilot:
        await ready(pilot)
        await settle(pilot)
        text = toasts(pilot.app)
        assert "[/x]" in text  # the unknown binding id, named as written


async def test_context_description_with_brackets_is_shown_whole() -> None:
    from tui.modals.contexts import ContextsScreen
    from tui.service.connection import ContextInfo

    contexts = [
        ContextInfo(
            name="farm",
            host="tcp://farm.example:2376",
            description="TLS [EU] build farm [/x]",
            current=True,
            tls=True,
        )
    ]
    async with make_app(FakeService()).run_test(size=(100, 30), notifications=True) as pilot:
        await ready(pilot)
        pilot.app.push_screen(ContextsScreen(contexts, "farm"))
        await wait_for(pilot, lambda: bool(pilot.app.screen.query(OptionList)), "contexts")
        options = pilot.app.screen.query_one(OptionList)
        await pilot.pause(0.1)
        drawn = "".join(options.render_line(y).text for y in range(options.size.height))
        assert "TLS [EU] build farm [/x]" in " ".join(drawn.split())  # it may wrap


async def test_recent_builds_list_a_context_named_like_markup(tmp_path: Path) -> None:
    import shutil

    from tui.modals.build_dialogs import RecentBuilds
    from tui.screens.build import BuildScreen
    from tui.screens.build_log import BuildLogScreen
    from tui.widgets.build_log import SUCCEEDED

    context = tmp_path / "[bold]ctx [link=e]l [x]"  # a name holds no "/"
    shutil.copytree(FIXTURES / "build-multi", context)
    async with opened("b", BuildScreen, size=(120, 40)) as (pilot, form):
        form.query_one("#field-context", Input).value = str(context)
        await wait_for(pilot, lambda: form.stages, "the Dockerfile's stages")
        await pilot.press("ctrl+s")  # untagged: the run is named after the directory
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        log_screen = pilot.app.screen
        await wait_for(pilot, lambda: log_screen.run.model.status == SUCCEEDED, "success")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, BuildLogScreen), "back")
        if not isinstance(pilot.app.screen, BuildScreen):
            await pilot.press("b")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "form")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RecentBuilds), "recent")
        options = pilot.app.screen.query_one(OptionList)
        await pilot.pause(0.1)
        drawn = "".join(options.render_line(y).text for y in range(options.size.height))
        assert "[bold]ctx [link=e]l [x] (untagged)" in drawn
