"""Saving a build log over an existing file asks first and keeps that file's mode."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import wait_for
from tests.ui.test_build_ui import frozen_build_clock, open_form, type_into  # noqa: F401
from tui.modals.build_dialogs import SaveLogDialog
from tui.modals.confirm import ConfirmDialog
from tui.screens.build_log import BuildLogScreen
from tui.widgets.build_log import SUCCEEDED


async def save_to(pilot: Any, path: Path) -> None:
    """`s`, the path pasted into the dialog, Enter."""
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SaveLogDialog), "save dialog")
    pilot.app.screen.query_one("#save-path", Input).value = str(path)
    await pilot.press("enter")


async def test_overwrite_asks_and_keeps_the_mode(tmp_path: Path) -> None:
    existing = tmp_path / "notes.log"
    existing.write_text("my own notes\n")
    existing.chmod(0o644)
    async with make_app(FakeService()).run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        await type_into(pilot, "tags", "test/saved:a")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        log_screen = pilot.app.screen
        await wait_for(pilot, lambda: log_screen.run.model.status == SUCCEEDED, "success")

        # No: the file is untouched.
        await save_to(pilot, existing)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), "the question")
        dialog = pilot.app.screen
        texts = " ".join(str(s.render()) for s in dialog.query(Static))
        assert f"{existing} already exists (mode 0644)" in texts
        assert "Others can read it (mode 0644) and overwriting keeps that mode" in texts
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is log_screen, "the log again")
        await pilot.pause(0.2)
        assert existing.read_text() == "my own notes\n"

        # Yes: replaced, and its mode is still the one the user gave it.
        await save_to(pilot, existing)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: "Step 3/4 : RUN" in existing.read_text(), "the log written")
        assert "my own notes" not in existing.read_text()
        assert stat.S_IMODE(existing.stat().st_mode) == 0o644


async def test_save_over_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("precious\n")
    link = tmp_path / "link.log"
    link.symlink_to(target)
    async with make_app(FakeService()).run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        log_screen = pilot.app.screen
        await wait_for(pilot, lambda: log_screen.run.model.status == SUCCEEDED, "success")
        await save_to(pilot, link)
        # The question may come first (something is there); either way nothing is written.
        await pilot.pause(0.3)
        if isinstance(pilot.app.screen, ConfirmDialog):
            await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any("is a symbolic link" in str(n.message) for n in pilot.app._notifications),
            "the refusal",
        )
        assert target.read_text() == "precious\n"
