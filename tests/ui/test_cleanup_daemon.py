"""Cleanup end to end: keys pressed in the app, then what the real sandbox daemon holds.

Images and containers are this test's own (see ``tests/service/test_cleanup_service.py``'s
Workshop); the list is filtered to them with `/`, as a person would, because other tests share
the daemon.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import current_engine
from tests.service.test_cleanup_service import DockerCli, Workshop
from tests.ui.test_cleanup_fake import text, wait_for
from tui.app import ImagedeckApp
from tui.modals.conflict import ConflictDialog
from tui.modals.delete import DeleteDialog
from tui.modals.prune import PruneWizard
from tui.modals.results_log import ResultsLogScreen
from tui.modals.tag import TagDialog
from tui.screens.images import ImagesScreen
from tui.service import ImageService


@pytest.fixture
def workshop(docker_cli: DockerCli) -> Iterator[Workshop]:
    """Per-test images and containers, cleaned up afterwards."""
    shop = Workshop(docker_cli)
    yield shop
    shop.cleanup()


def real_app(sandbox: Any) -> ImagedeckApp:
    """The app on the sandbox daemon."""
    return ImagedeckApp(lambda: ImageService.connect(sandbox.docker_host))


async def filtered_to(pilot: Any, needle: str, count: int) -> ImagesScreen:
    """Load, then type the filter and go back to the table with Enter."""
    screen: ImagesScreen = pilot.app.images_screen
    await wait_for(pilot, lambda: screen.loaded and screen.usage is not None, "the list")
    await pilot.press("slash", *needle, "enter")
    await wait_for(pilot, lambda: len(screen.model.visible) == count, f"{count} rows")
    return screen


async def test_mark_three_delete_two_and_report_the_container(
    sandbox: Any, workshop: Workshop, docker_cli: DockerCli
) -> None:
    refs = [f"test/cl-{workshop.run_id}-{n}:v1" for n in range(3)]
    ids = [workshop.build(ref) for ref in refs]
    holder = workshop.container(refs[1])
    app = real_app(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await filtered_to(pilot, f"cl-{workshop.run_id}", 3)
        await pilot.press("a")
        assert "3 marked, frees" in text(screen.query_one("#summary"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), "the dialog")
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        plan = text(app.screen.query_one("#delete-plan"))
        assert all(f"delete {ref}" in plan for ref in refs)
        assert "used by 1 container" in plan
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
        await wait_for(pilot, lambda: len(screen.model.visible) == 1, "the list to reload")
        assert screen.model.visible[0].reference == refs[1]
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsLogScreen), "the log")
        options = app.screen.query_one("#results-list")
        lines = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "2 deleted, 1 failed" in lines[0]
        assert any(refs[1] in line and holder in line for line in lines)
    assert not workshop.exists(refs[0]) and not workshop.exists(refs[2])
    image_of = docker_cli("inspect", "-f", "{{.Image}}", holder, check=True).stdout.strip()
    assert image_of == ids[1] and workshop.exists(refs[1])


async def test_conflict_way_out_removes_the_container_then_the_image(
    sandbox: Any, workshop: Workshop, docker_cli: DockerCli
) -> None:
    ref = f"test/cl-{workshop.run_id}:v1"
    workshop.build(ref)
    holder = workshop.container(ref)
    app = real_app(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await filtered_to(pilot, f"cl-{workshop.run_id}", 1)
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the conflict")
        dialog = app.screen
        assert dialog.focused is not None and dialog.focused.id == "cancel"
        body = text(dialog.query_one("#conflict-text"))
        assert holder in body and "created" in body
        await pilot.press("r")
        await wait_for(pilot, lambda: not workshop.exists(ref), "the image to go")
        await wait_for(pilot, lambda: len(screen.model.visible) == 0, "the row to go")
    assert docker_cli("inspect", holder).returncode != 0


async def test_running_container_conflict_offers_no_force(sandbox: Any, workshop: Workshop) -> None:
    ref = f"test/cl-{workshop.run_id}:v1"
    workshop.build(ref)
    holder = workshop.container(ref, running=True)
    app = real_app(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        await filtered_to(pilot, f"cl-{workshop.run_id}", 1)
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the conflict")
        dialog = app.screen
        assert not dialog.query("#force") and not dialog.query("#containers")
        assert f"{holder} is running" in text(dialog.query_one("#conflict-text"))
        await pilot.press("f", "r", "escape")
    assert workshop.exists(ref)


async def test_wizard_removes_exactly_the_preview(sandbox: Any, workshop: Workshop) -> None:
    workshop.build(f"test/cl-{workshop.run_id}-a:v1")
    workshop.build(f"test/cl-{workshop.run_id}-b:v1")
    used_ref = f"test/cl-{workshop.run_id}-used:v1"
    used = workshop.build(used_ref)
    workshop.container(used_ref)
    before = workshop.ids_with_label()
    app = real_app(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await filtered_to(pilot, f"cl-{workshop.run_id}", 3)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, PruneWizard), "the wizard")
        wizard = app.screen
        await pilot.press("down", "enter")  # all images no container uses
        await pilot.click("#prune-label")
        await pilot.press(*workshop.label, "enter")
        await wait_for(pilot, lambda: wizard.stage == "preview", "the preview")
        plan = wizard.plan
        assert plan is not None and used not in plan.image_ids
        # The containerd store: the images' build intermediates (hidden by the list) go too.
        shown = [c for c in plan.candidates if c.image.tags]
        assert len(shown) == 2
        assert (len(plan.image_ids) > 2) == current_engine().containerd, current_engine().id
        preview = text(wizard.query_one("#prune-list"))
        assert f"test/cl-{workshop.run_id}-a:v1" in preview
        n = len(plan.image_ids)
        assert f"{n} images will be removed" in text(wizard.query_one("#prune-summary"))
        # The list about to be removed has focus, so it scrolls at once; nothing runs before y.
        assert wizard.focused is not None and wizard.focused.id == "prune-preview"
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: wizard.stage == "done",
            "the outcome",
        )
        assert f"{n} images removed" in text(wizard.query_one("#prune-summary"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list")
    after = workshop.ids_with_label()
    assert before - after == {c.image.id for c in shown}
    assert after == {used}  # and no new <none> row (an intermediate left behind)


async def test_tag_then_untag_from_the_keyboard(sandbox: Any, workshop: Workshop) -> None:
    ref = f"test/cl-{workshop.run_id}:v1"
    workshop.build(ref)
    target = f"localhost:5000/team/cl-{workshop.run_id}:v1"
    workshop.references.add(target)
    app = real_app(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await filtered_to(pilot, f"cl-{workshop.run_id}", 1)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TagDialog), "the tag dialog")
        field = app.screen.query_one("#tag-input")
        assert field.value == ref
        field.value = ""
        await pilot.press(*"Team/App:v1")
        assert "lowercase" in text(app.screen.query_one("#tag-verdict"))
        field.value = ""
        await pilot.press(*target, "enter")
        await wait_for(pilot, lambda: app.screen is screen, "the list")
        await wait_for(
            pilot,
            lambda: (row := screen.current_row()) is not None and row.reference == target,
            "the new row, selected",
        )
        assert workshop.exists(target)
        await pilot.press("u")  # the image keeps ref
        await wait_for(pilot, lambda: not workshop.exists(target), "the untag")
        assert workshop.exists(ref)
