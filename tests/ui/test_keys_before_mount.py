"""Keys the terminal delivered before the list had mounted act on the list (issue 15).

On a loaded machine the first page is on screen (tui/firstpaint.py) well before Textual has
composed and mounted the list: a `/` and a filter typed then sit in the app's queue. Here the
app posts such keys itself at the start of its mount, ahead of the list's screen, which is what
the driver does with keys read while the app starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input

import tui.app
from tests.ui.fake import FakeService
from tests.ui.pilot import ready, wait_for
from tui.app import ImagedeckApp
from tui.widgets.image_table import ImageTable


def _typed_ahead_app(keys: list[tuple[str, str | None]]) -> Any:
    class TypedAhead(ImagedeckApp):
        CSS_PATH = str(Path(tui.app.__file__).with_name("app.tcss"))  # relative to tui/, not here

        def on_mount(self) -> None:  # runs before ImagedeckApp.on_mount (subclass first)
            for key, character in keys:
                self.post_message(events.Key(key, character))

    fake = FakeService()
    return TypedAhead(lambda: fake, host_hint=fake.endpoint.host)  # type: ignore[arg-type]


async def test_a_filter_typed_before_the_list_mounted_goes_to_the_filter() -> None:
    keys = [("slash", "/"), *((c, c) for c in "demo"), ("slash", "/"), *((c, c) for c in "app")]
    app = _typed_ahead_app(keys)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        field = screen.query_one("#filter", Input)
        await wait_for(pilot, lambda: field.value == "demo/app", f"the filter ({field.value!r})")
        assert field.display and screen.focused is field
        assert screen.model.filter_text == "demo/app"
        assert app.screen is screen  # no other screen opened by the letters


async def test_enter_typed_before_the_list_mounted_leaves_the_filter() -> None:
    keys = [("slash", "/"), *((c, c) for c in "demo"), ("enter", "\r"), ("j", "j")]
    app = _typed_ahead_app(keys)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        field = screen.query_one("#filter", Input)
        table = screen.query_one(ImageTable)
        await wait_for(pilot, lambda: screen.focused is table, "focus back on the list")
        assert field.value == "demo" and field.display
        assert app.screen is screen


async def test_the_run_dialog_opened_before_connecting_reads_the_command_once_connected() -> None:
    # `r` on the early list (the first page, before docker-py has connected) opens the dialog;
    # its command was never filled then ("reading the image's command…" stayed).
    from tests.ui.fake import make_app
    from tui.modals.run import RunDialog

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        service, app.service = app.service, None  # as while the app still connects
        dialog = RunDialog("imagedeck/busybox:latest")
        app.push_screen(dialog)
        await wait_for(pilot, lambda: dialog.query("#run-command"), "the run dialog")
        field = dialog.query_one("#run-command", Input)
        await pilot.pause(0.3)
        assert field.value == ""
        app.service = service  # connected
        await wait_for(pilot, lambda: field.value == "sh", f"the image's command ({field.value!r})")
