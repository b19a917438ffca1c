"""Features open through the App's actions (tui/features.py): the key paths that had no
pilot test of their own, against the fake service.

The list's `r`, `p`, `b`, `T`, `?`, the build form's ctrl+r and the commit dialog opened
directly have tests elsewhere (test_transfers, test_build_ui, test_images_screen, test_search,
test_markup_input, and the pty flows in tests/e2e); these cover the commit from the containers
screen, the tag dialog's inputs and announcement, help from the containers screen, the fleet
view and a screen without a help of its own, recent builds with none yet, and a pull from the
transfers screen.
"""

from __future__ import annotations

from typing import Any

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake, go_to, text
from tests.ui.test_fleet_fake import beta_fake, fleet_of, open_fleet
from tui.modals.commit import CommitDialog
from tui.modals.pull import PullDialog
from tui.modals.tag import TagDialog
from tui.screens.build import BuildScreen
from tui.screens.containers import ContainersScreen
from tui.screens.help import HelpScreen
from tui.screens.transfers import TransfersScreen


def notified(app: Any, needle: str) -> bool:
    """True once a notification says ``needle``."""
    return any(needle in str(n.message) for n in app._notifications)


def help_texts(screen: HelpScreen) -> list[str]:
    """The help dialog's descriptions (its rows without the keys)."""
    return [description for _, description in screen.rows]


async def press_on(pilot: Any, reference: str, key: str, kind: type[Any]) -> Any:
    """On the list, put the cursor on ``reference``, press ``key``, wait for a ``kind`` screen."""
    await go_to(pilot, pilot.app.images_screen, reference)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), kind.__name__)
    return pilot.app.screen


def selects(images: Any, reference: str) -> Any:
    """A wait condition: the list's cursor is on ``reference``."""
    return lambda: (row := images.current_row()) is not None and row.reference == reference


async def test_commit_from_the_containers_screen_selects_the_new_image() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        images = await ready(pilot)
        containers = await press_on(pilot, "demo/stopped:latest", "c", ContainersScreen)
        await wait_for(pilot, lambda: containers.current_container() is not None, "a container")
        chosen = containers.current_container()
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommitDialog), "the dialog")
        dialog = pilot.app.screen
        assert (dialog.container_id, dialog.container_name) == (chosen.id, chosen.name)
        await pilot.press(*"team/snapshot:v1", "ctrl+s")
        await wait_for(pilot, lambda: pilot.app.screen is containers, "dismissed")
        assert next(c for c in fake.calls if c[0] == "commit")[1][:2] == (
            chosen.id,
            "team/snapshot:v1",
        )
        await wait_for(
            pilot,
            lambda: notified(pilot.app, f"Committed {chosen.name} as team/snapshot:v1"),
            "toast",
        )
        # The new image announced itself: the list selects it after its reload.
        await pilot.press("escape")
        await wait_for(pilot, selects(images, "team/snapshot:v1"), "the committed image selected")


async def test_tag_dialog_sees_the_list_and_announces_the_new_name() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        images = await ready(pilot)
        dialog = await press_on(pilot, "demo/app:1.0", "t", TagDialog)
        verdict = dialog.query_one("#tag-verdict")
        # The list's images reach the dialog: tagging onto another image's tag says it moves.
        dialog.query_one("#tag-input").value = "demo/app:1.2"
        await wait_for(pilot, lambda: "the tag moves from" in text(verdict), "the move note")
        dialog.query_one("#tag-input").value = "demo/app:fresh"
        await wait_for(pilot, lambda: "Valid: demo/app:fresh" in text(verdict), "valid")
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen is images, "the list again")
        await wait_for(pilot, selects(images, "demo/app:fresh"), "the new tag selected")
        assert notified(pilot.app, "as demo/app:fresh")


async def test_help_from_the_containers_screen_lists_its_keys() -> None:
    async with make_app(CleanupFake()).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press_on(pilot, "demo/stopped:latest", "c", ContainersScreen)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")
        assert "Commit this container to an image" in help_texts(pilot.app.screen)


async def test_help_on_a_screen_without_its_own_comes_from_the_app() -> None:
    async with make_app(CleanupFake()).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("T")  # the transfers screen binds no `?` of its own
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TransfersScreen), "transfers")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")
        assert "Pull another image" in help_texts(pilot.app.screen)
        # `?` again closes it, back on the screen it was opened from.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TransfersScreen), "closed")
        assert not any(isinstance(s, HelpScreen) for s in pilot.app.screen_stack)


async def test_help_on_the_fleet_view_names_its_daemons() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    async with make_app(alpha).run_test(size=(120, 40)) as pilot:
        await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")
        extra = pilot.app.screen.extra
        assert "Daemons of this view:" in extra
        assert f"beta: {beta.endpoint.host}" in extra


async def test_recent_builds_with_none_yet_says_so() -> None:
    async with make_app(CleanupFake()).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen), "the form")
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: notified(pilot.app, "No builds yet in this session."), "toast"
        )
        assert isinstance(pilot.app.screen, BuildScreen)


async def test_pull_from_the_transfers_screen_opens_the_pull_dialog() -> None:
    async with make_app(CleanupFake()).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TransfersScreen), "transfers")
        transfers = pilot.app.screen
        assert transfers is pilot.app.transfers_screen()
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is transfers, "back to transfers")
