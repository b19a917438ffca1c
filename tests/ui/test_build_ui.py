"""The build form, the build log and the commit dialog, driven by keys against FakeService."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, settle, wait_for
from tui.modals.build_dialogs import RecentBuilds, SaveLogDialog
from tui.screens import build_run as build_screen
from tui.screens.build import BuildScreen
from tui.screens.build_log import BuildLogScreen
from tui.service.build import BuildOutput, BuildStep
from tui.widgets.build_log import CANCELLED, FAILED, RUNNING, SUCCEEDED, BuildLog, BuildLogModel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(autouse=True)
def frozen_build_clock() -> Iterator[None]:
    """Step and total times read 0.0s, so nothing depends on speed."""
    saved = build_screen.clock
    build_screen.clock = lambda: 100.0
    yield
    build_screen.clock = saved


async def type_into(pilot: Any, field: str, text: str) -> None:
    """Replace the text of form field ``field`` by typing, as a person would."""
    pilot.app.screen.query_one(f"#field-{field}").focus()
    await pilot.press("ctrl+a", "ctrl+k", *text)


async def open_form(pilot: Any, context: Path = FIXTURES / "build-multi") -> BuildScreen:
    """`b`, then fill the context.

    A build's end shows after the log's flush timer (bursts are coalesced), so the tests poll
    for the build's status (``wait_for``) rather than only waiting for its worker."""
    await ready(pilot)
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "the build form")
    # A long path is pasted, not typed (typing it key by key only slows the test down).
    pilot.app.screen.query_one("#field-context").value = str(context)
    await pilot.pause(0.3)  # the preview waits for a pause in typing
    return pilot.app.screen  # type: ignore[no-any-return]


async def test_b_fill_the_form_build_and_see_the_image_selected() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot)
        assert "FROM imagedeck/busybox" in form.query_one("#dockerfile-preview").content.code
        assert "GREETING" in str(form.query_one("#build-hint").render())
        await type_into(pilot, "tags", "test/built:a, test/built:b")
        await type_into(pilot, "buildargs", "GREETING=hi")
        await type_into(pilot, "target", "final")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.run.model.status == SUCCEEDED, "success")
        request = next(c[1][0] for c in fake.calls if c[0] == "build")
        assert request.tag_texts == ("test/built:a", "test/built:b")
        assert request.buildargs == {"GREETING": "hi"} and request.target == "final"
        log = screen.query_one(BuildLog)
        assert [s.number for s in log.model.steps] == [0, 1, 2, 3, 4]
        assert "Tagged test/built:b" in log.model.steps[-1].lines
        assert "✔ Built" in str(screen.query_one("#build-log-status").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is pilot.app.images_screen, "back to list")
        await wait_for(
            pilot,
            lambda: (
                (row := pilot.app.images_screen.current_row()) is not None
                and row.reference == "test/built:a"
            ),
            "the new image selected",
        )


async def test_form_errors_are_shown_and_nothing_is_sent(tmp_path: Path) -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot, tmp_path / "nowhere")
        assert "does not exist" in str(form.query_one("#error-context").render())
        form.query_one("#field-context").value = str(FIXTURES / "build-multi")
        await type_into(pilot, "tags", "Bad/Upper:x")
        await type_into(pilot, "target", "nostage")
        await type_into(pilot, "buildargs", "=oops")
        await pilot.pause(0.3)
        assert form.query_one("#error-context").display is False
        assert "lowercase" in str(form.query_one("#error-tags").render())
        assert "No stage 'nostage'" in str(form.query_one("#error-target").render())
        assert "needs a name" in str(form.query_one("#error-buildargs").render())
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert pilot.app.screen is form
        assert not [c for c in fake.calls if c[0] == "build"]


async def test_escape_asks_then_cancels_a_running_build() -> None:
    fake = FakeService()
    fake.build_gate = threading.Event()  # type: ignore[attr-defined]
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        await type_into(pilot, "tags", "test/cancel:a")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.run.model.current.number == 3, "step 3")
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert type(pilot.app.screen).__name__ == "CancelBuildDialog"
        await pilot.press("escape")  # keep building
        await pilot.pause(0.1)
        assert pilot.app.screen is screen and screen.run.model.status == RUNNING
        # ctrl+c asks the same question instead of quitting while the build runs.
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
        assert type(pilot.app.screen).__name__ == "CancelBuildDialog"
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert pilot.app.is_running and screen.run.model.status == RUNNING
        await pilot.press("escape", "y")
        await wait_for(pilot, lambda: screen.run.model.status == CANCELLED, "cancelled")
        assert screen.run.cancel.is_set()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "back to form")


async def test_failed_build_keeps_the_log_with_the_failing_step_open() -> None:
    fake = FakeService()
    fake.build_fails = True  # type: ignore[attr-defined]
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.run.model.status == FAILED, "failure")
        model = screen.run.model
        failed = model.failed_step
        assert failed is not None and failed.number == 3 and not failed.collapsed
        assert all(s.collapsed for s in model.steps if s.number and s is not failed)
        assert "Step 3/4 failed" in failed.error[0]
        assert "✖ Step 3/4 failed" in str(screen.query_one("#build-log-status").render())
        log = screen.query_one(BuildLog)
        assert log.selected == model.steps.index(failed)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "back to form")


async def test_search_fold_save_and_recent_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        await type_into(pilot, "tags", "test/saved:a")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "the log")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.run.model.status == SUCCEEDED, "success")
        log = screen.query_one(BuildLog)
        # `/` search: the match's step is selected and the view leaves the bottom.
        await pilot.press("slash", *"module7.o", "enter")
        await pilot.pause(0.1)
        assert log.search == "module7.o"
        assert log.model.steps[log.selected].number == 3
        assert not log.follow
        # Fold the selected step and unfold it again.
        log.focus()
        await pilot.press("space")
        assert log.model.steps[log.selected].collapsed
        await pilot.press("space")
        assert not log.model.steps[log.selected].collapsed
        # `s` saves under the XDG state directory, owner-only.
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SaveLogDialog), "save dialog")
        await pilot.press("enter")
        folder = tmp_path / "state" / "imagedeck" / "builds"
        await settle(pilot)  # the save's worker has written the file
        assert folder.exists() and any(folder.iterdir())
        saved = next(folder.iterdir())
        assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
        assert "Step 3/4 : RUN" in saved.read_text()
        # Back to the form; ctrl+r lists the build and reopens its log.
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is pilot.app.images_screen, "the list")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "the form")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RecentBuilds), "recent")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildLogScreen), "reopened")
        assert pilot.app.screen.run is screen.run


async def test_commit_dialog_checks_then_commits_and_selects_the_image() -> None:
    from tui.modals.commit import CommitDialog

    fake = FakeService()
    async with make_app(fake).run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        pilot.app.action_open_commit("a" * 64, "ideck-stopped")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommitDialog), "the dialog")
        dialog = pilot.app.screen
        await pilot.press(*"Runoob/Ubuntu:v2")
        await pilot.pause(0.05)
        assert "lowercase" in str(dialog.query_one("#commit-ref-error").render())
        await pilot.press("ctrl+a", "ctrl+k", *"runoob/ubuntu:v2", "enter")
        await pilot.press(*"has update", "enter", *"runoob", "enter")
        await pilot.press(*"RUN nope")
        await pilot.pause(0.05)
        assert "must be one of" in str(dialog.query_one("#commit-changes-error").render())
        await pilot.press("ctrl+a", "ctrl+k", *'CMD ["sh"]')
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: pilot.app.screen is pilot.app.images_screen, "dismissed")
        call = next(c for c in fake.calls if c[0] == "commit")
        assert call[1] == (
            "a" * 64,
            "runoob/ubuntu:v2",
            "has update",
            "runoob",
            ('CMD ["sh"]',),
            True,
        )
        await wait_for(
            pilot,
            lambda: (
                (row := pilot.app.images_screen.current_row()) is not None
                and row.reference == "runoob/ubuntu:v2"
            ),
            "the committed image selected",
        )


def test_log_model_is_bounded_and_counts_what_it_dropped() -> None:
    model = BuildLogModel(0.0, per_step=1000, total=1500)
    model.apply([(0.0, BuildStep(1, 2, "RUN a"))])
    model.apply([(0.1, BuildOutput(tuple(f"a{i}" for i in range(1200))))])
    model.apply([(0.2, BuildStep(2, 2, "RUN b"))])
    for chunk in range(10):
        model.apply([(0.3, BuildOutput(tuple(f"b{chunk}-{i}" for i in range(100))))])
    first, second = model.steps[1], model.steps[2]
    assert len(first.lines) + len(second.lines) == model.line_count == 1500
    assert first.dropped == 200 + 500 and first.lines[0] == "a700"
    assert len(second.lines) == 1000 and second.dropped == 0
    assert "700 earlier lines" in model.text()


async def test_each_app_keeps_its_own_build_session() -> None:
    """The form's values live on the app: a second app in the same process starts empty."""
    first = make_app(FakeService())
    async with first.run_test(size=(120, 40)) as pilot:
        await open_form(pilot)
        await type_into(pilot, "tags", "test/first:1")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, BuildScreen), "the list")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "the form again")
        assert pilot.app.screen.query_one("#field-tags").value == "test/first:1"
    second = make_app(FakeService())
    async with second.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "the form")
        assert pilot.app.screen.query_one("#field-tags").value == ""
        assert pilot.app.screen.query_one("#field-context").value == "."
    assert first.build_session.form.tags == "test/first:1"
    assert second.build_session is not first.build_session
