"""The worker failures tests/ui/test_worker_failures.py does not reach (issue 13, "every worker
failure path has a test"), against the fake service.

Each test makes one worker's service call raise an unexpected error (not an ImagedeckError)
and checks the one failure path: the traceback is logged, a notification that is never markup
says what broke, and control is back (the screen answers its keys). The BuildKit/classic
build worker catches everything itself: its log ends failed with the reason instead. The
early list (the first frame's, asked without docker-py) is a fallback: when it breaks the
service lists the images, and no failure is shown.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pytest

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import open_cleanup_wizard, ready, refs, settle, until_settled, wait_for
from tests.ui.test_cleanup_fake import CleanupFake, go_to
from tests.ui.test_worker_failures import BOOM, notified, traceback_logged
from tui.service.errors import Conflict


class Breaks(CleanupFake):
    """The service calls named in ``broken`` raise RuntimeError(BOOM); the others answer."""

    def __init__(self) -> None:
        super().__init__()
        self.broken: set[str] = set()
        self.with_children: set[str] = set()  # removals refused: child images are built on it

    def remove_image(self, reference: str, **kwargs: Any) -> list[tuple[str, str]]:
        """As CleanupFake's; refused like the daemon for a reference in ``with_children``."""
        if reference in self.with_children:
            raise Conflict(
                f"{reference} has child images built on it.",
                reference=reference,
                children=True,
                daemon_message="conflict: unable to delete (cannot be forced) - image has "
                "dependent child images",
            )
        return super().remove_image(reference, **kwargs)

    def _boom(self, name: str) -> None:
        if name in self.broken:
            raise RuntimeError(BOOM)

    def disk_usage(self) -> Any:
        """Raises once broken (the list's usage, the disk map)."""
        self._boom("disk_usage")
        return super().disk_usage()

    def layers_for(self, images: Any, sized: Any) -> Any:
        """Raises once broken (the disk map's exact figures)."""
        self._boom("layers_for")
        return super().layers_for(images, sized)

    def builder_info(self, *, refresh: bool = False) -> Any:
        """Raises once broken (the build form's builder probe)."""
        self._boom("builder_info")
        return super().builder_info(refresh=refresh)

    def build_with(self, *args: Any, **kwargs: Any) -> Any:
        """Raises once broken (the build log's worker)."""
        self._boom("build_with")
        return super().build_with(*args, **kwargs)

    def build_cache(self) -> Any:
        """Raises once broken (the cleanup wizard's build cache line)."""
        self._boom("build_cache")
        return super().build_cache()

    def remove_container(self, container_id: str, *, name: str = "") -> None:
        """Raises once broken (the containers screen's removal)."""
        self._boom("remove_container")
        super().remove_container(container_id, name=name)

    def plan_cache_prune(self, older_than: Any = None, now: Any = None) -> Any:
        """Raises once broken (the build cache prune's preview)."""
        self._boom("plan_cache_prune")
        return super().plan_cache_prune(older_than, now)

    def remove_reference(self, item: Any) -> Any:
        """Raises once broken (an untag, a removal)."""
        self._boom("remove_reference")
        return super().remove_reference(item)  # type: ignore[misc]

    def prune_cache(self, plan: Any, progress: Any = None) -> Any:
        """Raises once broken (the build cache prune's run)."""
        self._boom("prune_cache")
        return super().prune_cache(plan, progress)

    def child_images(self, image_id: str) -> list[str]:
        """Raises once broken (the conflict dialog's lookup)."""
        self._boom("child_images")
        return super().child_images(image_id)

    def plan_prune(self, options: Any, now: Any = None) -> Any:
        """Raises once broken (the cleanup wizard's plan)."""
        self._boom("plan_prune")
        return super().plan_prune(options, now)


def failure_shown(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The one failure path: shown as written (never markup), named, traceback logged."""
    notes = notified(app, BOOM)
    assert notes and all(note.markup is False for note in notes)
    assert "RuntimeError" in notes[0].message
    assert traceback_logged(caplog, BOOM)


async def broke(pilot: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Wait for the failure's notification, then check the one failure path."""
    await wait_for(pilot, lambda: bool(notified(pilot.app, BOOM)), "the failure")
    failure_shown(pilot.app, caplog)


async def list_answers(pilot: Any, screen: Any) -> None:
    """Control is back on the list: `j` moves its cursor."""
    before = screen.model.current()
    await pilot.press("j")
    assert screen.model.current() != before


async def cache_prune_dialog(pilot: Any) -> Any:
    """The cleanup wizard, then c: the build cache prune dialog."""
    from tui.modals.build_cache import BuildCachePrune

    await open_cleanup_wizard(pilot)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildCachePrune), "the dialog")
    return pilot.app.screen


async def retention_dialog(pilot: Any, keep_last: str) -> Any:
    """The cleanup wizard, then r: the retention rules keeping the newest ``keep_last``."""
    from tui.modals.retention import RetentionDialog

    await open_cleanup_wizard(pilot)
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RetentionDialog), "the dialog")
    await pilot.press(*keep_last)  # the focused field: keep the newest N of each repository
    return pilot.app.screen


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """imagedeck's warnings and errors, captured."""
    caplog.set_level(logging.WARNING, logger="imagedeck")
    return caplog


async def test_the_lists_usage_worker_breaking_is_shown_and_the_list_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        fake.broken.add("disk_usage")
        await pilot.press("R")
        await broke(pilot, errors)
        await list_answers(pilot, screen)


async def test_the_disk_maps_worker_breaking_is_shown_and_esc_leaves(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        fake.broken.add("layers_for")
        await pilot.press("D")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DiskMapScreen", "the map")
        await broke(pilot, errors)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list again")


async def test_a_container_removal_breaking_is_shown_and_the_screen_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/stopped:latest")
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "c")
        containers = app.screen
        await settle(pilot)  # the containers list (its worker) is in
        fake.broken.add("remove_container")
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "the question")
        await pilot.press("y")
        await broke(pilot, errors)
        assert app.screen is containers
        assert [c.name for c in fake.containers] == ["ideck-stopped", "ideck-running"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list again")


async def test_the_builder_probe_breaking_is_shown_and_the_form_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    fake.broken.add("builder_info")
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "BuildScreen", "the form")
        await broke(pilot, errors)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list again")


async def test_a_build_worker_breaking_ends_the_log_failed_with_the_reason() -> None:
    from tests.ui.test_build_ui import FIXTURES
    from tui.screens.build_log import BuildLogScreen
    from tui.widgets.build_log import FAILED

    fake = Breaks()
    fake.broken.add("build_with")
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "BuildScreen", "the form")
        app.screen.query_one("#field-context").value = str(FIXTURES / "build-multi")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BuildLogScreen), "the log")
        log = app.screen
        assert isinstance(log, BuildLogScreen)
        # Polled: the end shows after the log's flush timer, not with the worker's end.
        await wait_for(pilot, lambda: log.run.model.status == FAILED, "the failed log")
        assert "stopped unexpectedly: RuntimeError" in str(log.run.model.error), log.run.model.error
        assert BOOM in str(log.query_one("#build-log-status").render())


async def test_the_cleanup_plan_breaking_is_shown_and_the_wizard_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await open_cleanup_wizard(pilot)
        fake.broken.add("plan_prune")
        await pilot.press("p")
        await broke(pilot, errors)
        assert app.screen is wizard and wizard.stage != "preview"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.images_screen, "the list again")


async def test_the_build_cache_line_breaking_is_shown_and_the_wizard_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    fake.broken.add("build_cache")
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await open_cleanup_wizard(pilot)
        await broke(pilot, errors)
        assert app.screen is wizard
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.images_screen, "the list again")


async def test_the_build_cache_preview_breaking_returns_to_the_options_with_the_reason(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await cache_prune_dialog(pilot)
        fake.broken.add("plan_cache_prune")
        await pilot.press("enter")  # the default age
        await broke(pilot, errors)
        await wait_for(pilot, lambda: dialog.stage == "options", "the options again")
        assert BOOM in str(dialog.query_one("#cache-error").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not dialog, "closed")


async def test_the_retention_preview_breaking_returns_to_the_rules_with_the_reason(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await retention_dialog(pilot, "2")
        fake.broken.add("layers_for")
        dialog.action_preview()
        await broke(pilot, errors)
        await wait_for(pilot, lambda: dialog.stage == "options", "the rules again")
        assert BOOM in str(dialog.query_one("#retention-error").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not dialog, "closed")


async def test_an_untag_breaking_is_shown_and_the_list_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/alias:one")  # one of three names: no question asked
        fake.broken.add("remove_reference")
        await pilot.press("u")
        await broke(pilot, errors)
        assert "demo/alias:one" in [i for image in fake.images for i in image.tags]
        assert app.screen is screen
        await list_answers(pilot, screen)


async def test_a_build_cache_prune_breaking_ends_the_dialog_with_the_reason(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tests.ui.test_build_cache_ui import RECORDS

    fake = Breaks()
    fake.cache_records = list(RECORDS)  # type: ignore[attr-defined]
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await cache_prune_dialog(pilot)
        await pilot.press("enter")  # the default age
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        assert dialog.plan is not None and dialog.plan.records
        fake.broken.add("prune_cache")
        await pilot.press("y")
        await broke(pilot, errors)
        await wait_for(pilot, lambda: dialog.stage == "done", "the end")
        assert "The prune stopped: " in str(dialog.query_one("#cache-summary").render())
        assert BOOM in str(dialog.query_one("#cache-summary").render())


async def test_a_retention_run_breaking_ends_at_done_and_esc_closes(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await retention_dialog(pilot, "1")  # demo/app's older tags go
        dialog.action_preview()
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        assert dialog.plan is not None and dialog.plan.delete.items
        fake.broken.add("remove_reference")
        await pilot.press("y")
        await broke(pilot, errors)
        await wait_for(pilot, lambda: dialog.stage == "done", "the end")
        assert not fake.removed
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not dialog, "closed")


async def test_the_conflicts_child_lookup_breaking_is_shown_and_the_dialog_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tui.modals.conflict import ConflictDialog

    fake = Breaks()
    fake.broken.add("child_images")
    fake.with_children.add("demo/app:1.2")
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/app:1.2")
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the conflict")
        await broke(pilot, errors)
        children = str(app.screen.query_one("#conflict-children").render())
        assert "could not list them" in children and BOOM in children
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list again")
        assert "demo/app:1.2" in refs(screen)


async def test_a_conflicts_way_out_breaking_is_shown_and_the_list_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tui.modals.conflict import ConflictDialog

    fake = Breaks()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/stopped:latest")
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the conflict")
        fake.broken.add("remove_container")
        await pilot.press("r")  # the stopped container, then the image: the first breaks
        await broke(pilot, errors)
        await wait_for(pilot, lambda: app.screen is screen, "the list again")
        assert fake.images_by_n(9) not in fake.removed
        assert [c.name for c in fake.containers] == ["ideck-stopped", "ideck-running"]
        await list_answers(pilot, screen)


async def test_an_archive_load_breaking_keeps_the_dialog_with_the_reason(
    errors: pytest.LogCaptureFixture,
) -> None:
    from textual.widgets import Button

    from tests.ui.test_archives_ui import ArchiveFake, archive_app, load_file, text_of

    class BreakingArchives(ArchiveFake):
        def load_archive(self, path: Any, *, cancel: Any = None, progress: Any = None) -> Any:
            raise RuntimeError(BOOM)

    app = archive_app(BreakingArchives())
    async with app.run_test(size=(120, 40)) as pilot:
        await load_file(pilot, "/tmp/x.tar")
        await broke(pilot, errors)
        await wait_for(pilot, lambda: BOOM in text_of(app, "#archive-status"), "the reason")
        assert type(app.screen).__name__ == "LoadDialog"
        assert not app.screen.query_one("#archive-ok", Button).disabled  # try another file


async def test_a_fleet_cleanup_run_breaking_on_one_daemon_is_shown_not_dropped(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tests.ui.test_fleet_fake import beta_fake, fleet_of, open_fleet
    from tui.modals.fleet import FleetPlanDialog

    alpha, beta = CleanupFake(), beta_fake()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(BOOM)

    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the wizard")
        dialog = app.screen
        assert isinstance(dialog, FleetPlanDialog)
        await pilot.press("d")
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        beta.remove_image = boom  # type: ignore[method-assign]  # beta's removal breaks
        beta.remove_reference = boom  # type: ignore[method-assign,misc]
        await pilot.press("y")
        await broke(pilot, errors)
        await wait_for(pilot, lambda: dialog.stage == "done", "the end")
        assert BOOM in str(dialog.query_one("#fleet-plan-status").render())
        assert not beta.removed


# -- the app's own workers, the early list, the freed-space figures, the fleet, the layer tree ---


async def test_closing_the_replaced_service_breaking_is_shown_and_the_new_list_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tests.ui.test_contexts import choose, context_app

    class ClosesBadly(FakeService):
        def close(self) -> None:
            raise RuntimeError(BOOM)

    app = context_app(ClosesBadly())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await choose(pilot, "build-box")  # the default context's service is closed meanwhile
        await broke(pilot, errors)
        await until_settled(pilot, lambda: "box/only:here" in refs(screen), "the other daemon")
        assert app.screen is screen
        await list_answers(pilot, screen)


async def test_the_last_used_record_breaking_is_shown_and_the_list_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    class NoDaemonId(FakeService):
        """The record's first question (the daemon's ID) raises an unexpected error."""

        def translate(self, doing: str) -> Any:
            return contextlib.nullcontext()

        @property
        def api(self) -> Any:
            raise RuntimeError(BOOM)

    app = make_app(NoDaemonId())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await broke(pilot, errors)
        assert app.last_used is None and app.screen is screen
        await list_answers(pilot, screen)


async def test_the_early_list_breaking_leaves_the_list_to_the_service(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tui.app import ImagedeckApp
    from tui.prefetch import Prefetch

    fake = FakeService()
    # Another socket than the service's: the first frame waits for the early list, which
    # breaks (a bug in its parser, say); the service lists the images once connected.
    prefetch = Prefetch(lambda: fake, unix_socket="/early/docker.sock")  # type: ignore[arg-type,return-value]
    prefetch.early.set_exception(RuntimeError(BOOM))
    app = ImagedeckApp(lambda: fake, host_hint="unix:///fake/docker.sock", prefetch=prefetch)  # type: ignore[arg-type,return-value]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        service: Any = app.service
        assert service is fake and "demo/alias:one" in refs(screen)
        await list_answers(pilot, screen)
    # No notification (the service's own list stands), but the log keeps the traceback.
    early = [r for r in errors.records if r.name == "imagedeck.startup"]
    assert early and early[0].exc_info is not None and BOOM in str(early[0].exc_info[1])


async def test_the_freed_space_figures_breaking_are_shown_and_the_list_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    fake = Breaks()
    fake.broken.add("layers_for")  # the reclaimable headline asks for them after the list
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await broke(pilot, errors)
        assert app.screen is screen
        await go_to(pilot, screen, "demo/app:1.2")
        await pilot.press("space")  # the list answers; the marks' figure stays the estimate
        summary = screen.query_one("#summary")
        await wait_for(pilot, lambda: "1 marked, frees about" in str(summary.render()), "mark")


async def test_the_fleet_cleanup_plan_breaking_returns_to_the_options_with_the_reason(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tests.ui.test_fleet_fake import beta_fake, fleet_of, open_fleet
    from tui.modals.fleet import FleetPlanDialog

    alpha, beta = CleanupFake(), beta_fake()
    fleet = fleet_of({"alpha": alpha, "beta": beta})

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(BOOM)

    fleet.plan_cleanup = boom  # type: ignore[method-assign]  # the fleet's own grouping breaks
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_fleet(pilot, fleet)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the wizard")
        dialog = app.screen
        assert isinstance(dialog, FleetPlanDialog)
        await pilot.press("d")
        await broke(pilot, errors)
        await wait_for(pilot, lambda: dialog.stage == "options", "the options again")
        assert BOOM in str(dialog.query_one("#fleet-plan-status").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not dialog, "closed")


async def test_a_fleet_conflicts_way_out_breaking_is_shown_and_the_dialog_answers(
    errors: pytest.LogCaptureFixture,
) -> None:
    from tests.ui.test_fleet_fake import beta_fake, fleet_of, open_fleet, shown
    from tui.modals.conflict import ConflictDialog
    from tui.modals.fleet import FleetPlanDialog

    alpha, beta = CleanupFake(), beta_fake()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(BOOM)

    alpha.remove_with_containers = boom  # type: ignore[method-assign,misc]
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        screen.model.cursor = shown(screen).index(("alpha", "demo/stopped:latest"))
        await pilot.press("space", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the preview")
        dialog = app.screen
        assert isinstance(dialog, FleetPlanDialog)
        await pilot.press("y")  # a stopped container holds it: a conflict
        await wait_for(pilot, lambda: dialog.stage == "done" and bool(dialog.conflicts()), "end")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the ways out")
        await pilot.press("r")  # the stopped container, then the image: breaks
        await broke(pilot, errors)
        await wait_for(pilot, lambda: app.screen is dialog and not dialog.resolving, "back")
        assert BOOM in str(dialog.query_one("#fleet-plan-status").render())
        assert dialog.conflicts() and CleanupFake.images_by_n(9) not in alpha.removed
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the fleet again")


async def test_the_layer_tree_breaking_is_shown_and_the_screen_answers(
    errors: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui.look_helpers import layers_ready
    from tui.analysis.result import ImageAnalysis

    def boom(self: Any, index: int) -> Any:
        raise RuntimeError(BOOM)

    app = make_app(CleanupFake())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await layers_ready(pilot)
        assert screen.tree_root is not None
        monkeypatch.setattr(ImageAnalysis, "aggregated_tree", boom)
        await pilot.press("a")  # every file up to this layer: its tree breaks
        await broke(pilot, errors)
        title = screen.query_one("#layers-tree-title")
        await wait_for(pilot, lambda: "building" not in str(title.render()), "no more building")
        assert screen.tree_root is None  # not the other mode's tree under this title
        await pilot.press("a")  # this layer's own changes again: the tree answers
        await wait_for(pilot, lambda: screen.tree_root is not None, "the layer's changes")
        assert not screen.aggregated
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.images_screen, "the list again")
