"""Every worker failure reaches one place (issue 11, points 8 and 10), against the fake service.

An unexpected exception in a worker of any screen or dialog is logged with its traceback, shown
in a notification that is never parsed as markup, and hands control back: the delete dialog
ends with a partial result, "checking shared layers…" ends with a reason, screens stop saying
"Loading…". A bulk removal stops at an unreachable daemon and marks the rest "not attempted".
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, settle, wait_for
from tests.ui.test_cleanup_fake import CleanupFake, go_to, text
from tui.modals.delete import DeleteDialog
from tui.service.cleanup import ResultLog

# Markup that would end the app with a MarkupError (or vanish) if it were parsed.
BOOM = "boom [/x] [bold]"


def notified(app: Any, needle: str) -> list[Any]:
    """Notifications whose message holds ``needle``."""
    return [n for n in app._notifications if needle in str(n.message)]


def traceback_logged(caplog: pytest.LogCaptureFixture, needle: str) -> bool:
    """A record of imagedeck's logger carries the traceback of an error holding ``needle``."""
    for record in caplog.records:
        if not record.name.startswith("imagedeck") or record.exc_info is None:
            continue
        formatted = logging.Formatter().formatException(record.exc_info)
        if "Traceback" in formatted and needle in formatted:
            return True
    return False


class Exploding(CleanupFake):
    """Every lookup a screen makes raises an unexpected error (not an ImagedeckError)."""

    def history(self, reference: str) -> Any:
        """Raises."""
        raise RuntimeError(BOOM)

    def inspect_image(self, reference: str) -> dict[str, Any]:
        """Raises (the run dialog and inspect screen use it)."""
        raise RuntimeError(BOOM)

    def list_containers(self, *, sizes: bool = True, image_id: str | None = None) -> list[Any]:
        """Raises."""
        raise RuntimeError(BOOM)

    def analyze_layers(self, *args: Any, **kwargs: Any) -> Any:
        """Raises."""
        raise RuntimeError(BOOM)

    def search(self, *args: Any, **kwargs: Any) -> Any:
        """Raises."""
        raise RuntimeError(BOOM)


@pytest.mark.parametrize(
    ("keys", "screen_name"),
    [
        (["h"], "HistoryScreen"),
        (["i"], "InspectScreen"),
        (["l"], "LayersScreen"),
        (["c"], "ContainersScreen"),
        (["s", *"busybox", "enter"], "SearchScreen"),
        (["r"], "RunDialog"),
    ],
)
async def test_an_unexpected_worker_error_is_logged_shown_and_the_screen_answers(
    keys: list[str], screen_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="imagedeck")
    app = make_app(Exploding())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/app:1.2")
        await pilot.press(*keys)
        await wait_for(pilot, lambda: bool(notified(app, BOOM)), f"the failure on {screen_name}")
        assert type(app.screen).__name__ == screen_name
        note = notified(app, BOOM)[0]
        assert note.markup is False  # shown as written, never parsed
        assert "RuntimeError" in note.message
        assert traceback_logged(caplog, BOOM)
        # Control is back: the screen still answers and leaves with Esc (a field that has
        # the focus takes the first Esc).
        for _ in range(3):
            if app.screen is screen:
                break
            await pilot.press("escape")
            await pilot.pause(0.05)
        assert app.screen is screen


class FailingRemoval(CleanupFake):
    """The second removal raises an unexpected error; layer data cannot be read at all."""

    def __init__(self) -> None:
        super().__init__()
        self.removals = 0

    def remove_reference(self, item: Any) -> Any:
        """The first goes through; the second raises."""
        self.removals += 1
        if self.removals == 2:
            raise RuntimeError(BOOM)
        return CleanupFake.remove_reference(self, item)

    def layers_for(self, images: Any, sized: Any) -> Any:
        """Raises (the dialog's exact freed-space check)."""
        raise RuntimeError(BOOM)


async def mark_and_delete(pilot: Any, references: list[str]) -> DeleteDialog:
    """Mark ``references``, press d, return the dialog."""
    screen = pilot.app.images_screen
    for reference in references:
        await go_to(pilot, screen, reference)
        await pilot.press("space")
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "the dialog")
    dialog = pilot.app.screen
    assert isinstance(dialog, DeleteDialog)
    return dialog


async def test_delete_dialog_ends_with_the_partial_result_when_its_worker_breaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="imagedeck")
    fake = FailingRemoval()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        dialog = await mark_and_delete(pilot, ["demo/app:1.2", "demo/app:2.0", "demo/app:10.0"])
        # "checking shared layers…" ends with the reason instead of staying for good.
        await wait_for(
            pilot,
            lambda: "could not check shared layers" in text(dialog.query_one("#delete-freed")),
            "the freed-space reason",
        )
        assert "checking shared layers" not in text(dialog.query_one("#delete-freed"))
        await pilot.press("y")
        controller = app.images_screen.query_one("#cleanup-controller")
        await wait_for(pilot, lambda: bool(controller.logs), "the results log")
        log: ResultLog = controller.logs[0]
        statuses = [o.status for o in log.outcomes]
        assert statuses[0] in ("deleted", "untagged")
        assert statuses[1:] == ["not attempted", "not attempted"]
        assert all(BOOM in o.detail for o in log.outcomes[1:])
        assert log.stopped_early
        assert traceback_logged(caplog, BOOM)
        assert notified(app, BOOM)
        # Control is back on the list: keys work.
        await pilot.press("L")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ResultsLogScreen", "L")


class DaemonDiesMidDelete(CleanupFake):
    """The daemon stops answering after the first removal."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def remove_image(self, reference: str, **kwargs: Any) -> list[tuple[str, str]]:
        """Counts every request; the second and later meet a dead daemon."""
        self.asked.append(reference)
        if len(self.asked) >= 2:
            self.down = True
        return CleanupFake.remove_image(self, reference, **kwargs)


async def test_bulk_delete_stops_at_a_dead_daemon_and_marks_the_rest_not_attempted() -> None:
    fake = DaemonDiesMidDelete()
    app = make_app(fake)
    refs = ["demo/app:1.0", "demo/app:1.2", "demo/app:2.0", "demo/app:10.0"]
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await mark_and_delete(pilot, refs)
        await pilot.press("y")
        controller = app.images_screen.query_one("#cleanup-controller")
        await wait_for(pilot, lambda: bool(controller.logs), "the results log")
        log: ResultLog = controller.logs[0]
        by_status = {o.subject: o.status for o in log.outcomes}
        assert list(by_status.values()).count("failed") == 1
        assert list(by_status.values()).count("not attempted") == 2
        # Nothing was tried after the daemon stopped answering.
        assert len(fake.asked) == 2
        assert "2 not attempted" in log.summary()


def test_fake_service_down_is_the_unreachable_case() -> None:
    """The fakes above rely on ``down`` raising DaemonUnreachable, as a dead socket does."""
    from tui.service.errors import DaemonUnreachable

    fake = FakeService(down=True)
    with pytest.raises(DaemonUnreachable):
        fake.list_images()


class ExplodingActions(CleanupFake):
    """Tag, commit, pull and the list itself raise unexpected errors."""

    def __init__(self) -> None:
        super().__init__()
        self.explode_list = False

    def tag(self, source: str, target: str) -> None:
        """Raises."""
        raise RuntimeError(BOOM)

    def commit(self, *args: Any, **kwargs: Any) -> str:
        """Raises."""
        raise RuntimeError(BOOM)

    def pull(self, *args: Any, **kwargs: Any) -> Any:
        """Raises."""
        raise RuntimeError(BOOM)

    def list_images(self) -> list[Any]:
        """Raises once asked to."""
        if self.explode_list:
            raise RuntimeError(BOOM)
        return super().list_images()


def shown(widget: Any) -> str:
    """What a Static shows."""
    return str(widget.render())


async def test_tag_dialog_stays_usable_after_an_unexpected_error() -> None:
    app = make_app(ExplodingActions())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/app:1.2")
        await pilot.press("t", "ctrl+a", "ctrl+k", *"demo/app:9", "enter")
        dialog = app.screen
        await wait_for(pilot, lambda: BOOM in shown(dialog.query_one("#tag-verdict")), "the reason")
        assert not dialog.busy and not dialog.query_one("#tag").disabled
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list again")


async def test_commit_dialog_stays_usable_after_an_unexpected_error() -> None:
    app = make_app(ExplodingActions())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/stopped:latest")
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "c")
        await settle(pilot)  # the containers list (its worker) is in
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommitDialog", "commit")
        dialog = app.screen
        dialog.query_one("#commit-ref").value = "test/committed:v1"
        dialog.action_commit()
        await wait_for(
            pilot, lambda: BOOM in shown(dialog.query_one("#commit-status")), "the reason"
        )
        assert not dialog.busy


async def test_a_pull_whose_worker_breaks_ends_failed_with_the_reason() -> None:
    from tui.screens.transfers import TransfersScreen
    from tui.widgets.progress import FAILED

    app = make_app(ExplodingActions())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("p", *"busybox:latest", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TransfersScreen), "transfers")
        screen = app.screen
        await wait_for(
            pilot,
            lambda: any(t.state == FAILED for t in screen.transfers.values()),
            "the transfer to fail",
        )
        transfer = next(iter(screen.transfers.values()))
        assert BOOM in transfer.error and not transfer.running


async def test_a_list_load_that_breaks_is_shown_and_the_list_keeps_answering(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="imagedeck")
    fake = ExplodingActions()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        fake.explode_list = True
        await pilot.press("R")
        await wait_for(pilot, lambda: bool(notified(app, BOOM)), "the failure to be shown")
        assert all(n.markup is False for n in notified(app, BOOM))
        assert traceback_logged(caplog, BOOM)
        before = screen.model.current()
        await pilot.press("j")
        assert screen.model.current() != before


class DaemonDiesMidPrune(CleanupFake):
    """A cleanup of three images; the daemon stops answering after the first image (its two
    tags) is removed."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def plan_prune(self, options: Any, now: Any = None) -> Any:
        """Three single-tag images (demo/app:1.0, 1.2, 2.0), whatever the options."""
        from tui.service.cleanup import PruneCandidate, PrunePlan, freed_space

        picked = [i for i in self.images if set(i.tags) & {"demo/app:1.0", "demo/app:1.2"}]
        picked += [i for i in self.images if "demo/app:2.0" in i.tags]
        layers = self.layers_for(self.images, ())
        freed = freed_space([i.id for i in picked], self.images, layers)
        return PrunePlan(
            options,
            tuple(PruneCandidate(i) for i in picked),
            freed,
            (),
            0,
            tuple(self.images),
            layers,
        )

    def remove_image(self, reference: str, **kwargs: Any) -> list[tuple[str, str]]:
        """Counts every request; the third and later meet a dead daemon."""
        self.asked.append(reference)
        if len(self.asked) >= 3:
            self.down = True
        return CleanupFake.remove_image(self, reference, **kwargs)


async def test_the_cleanup_wizard_stops_at_a_dead_daemon_too() -> None:
    from tui.modals.prune import PruneWizard

    fake = DaemonDiesMidPrune()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, PruneWizard), "the wizard")
        wizard = app.screen
        await pilot.press("p")
        await wait_for(pilot, lambda: wizard.stage == "preview", "the preview")
        await pilot.press("y")
        await wait_for(pilot, lambda: wizard.stage == "done", "the outcome")
        assert wizard.result is not None
        statuses = [o.status for o in wizard.result.outcomes]
        assert statuses == ["deleted", "failed", "not attempted"], wizard.result.outcomes
        assert len(fake.asked) == 3  # two tags of the first image, then the failing one
        assert "not attempted" in text(wizard.query_one("#prune-summary"))
