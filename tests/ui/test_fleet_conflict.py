"""The fleet delete's conflict way out, on fake daemons: an image a stopped container uses is
reported under its daemon, and `r` offers what the single list offers (the conflict dialog:
Cancel focused; remove the stopped containers then the image; force asks again), carried out
on that daemon only."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button, Static

from tests.ui.fake import make_app
from tests.ui.pilot import wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tests.ui.test_fleet_fake import beta_fake, fleet_of, open_fleet, shown
from tui.modals.confirm import ConfirmDialog
from tui.modals.conflict import ConflictDialog
from tui.modals.fleet import FleetPlanDialog


def text(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def delete_stopped(pilot: Any, app: Any) -> FleetPlanDialog:
    """Filter to demo/stopped (on alpha), press d then y; wait for the results."""
    await pilot.press("slash", *"demo/stopped", "enter", "d")
    await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the preview")
    dialog = app.screen
    await pilot.press("y")
    await wait_for(pilot, lambda: dialog.stage == "done", "the results")
    return dialog


async def test_conflict_r_removes_the_stopped_container_then_the_image_on_its_daemon() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    beta_before = list(beta.images)
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        dialog = await delete_stopped(pilot, app)
        status = text(app, "#fleet-plan-status")
        assert "1 failed" in status
        assert "r shows the ways out for demo/stopped:latest on alpha" in status
        assert dialog.query_one("#resolve", Button).display
        assert app.focused is dialog.query_one("#cancel", Button)  # Enter alone closes
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the ways out")
        conflict = app.screen
        assert "demo/stopped:latest is in use on alpha" in text(app, ".dialog-title")
        assert "ideck-stopped" in text(app, "#conflict-text")
        assert app.focused is conflict.query_one("#cancel", Button)
        assert [c.name for c in alpha.containers] == ["ideck-stopped", "ideck-running"]
        await pilot.press("r")  # remove the stopped container, then the image
        await wait_for(
            pilot, lambda: app.screen is dialog and not dialog.resolving, "the way out's end"
        )
        results = text(app, "#fleet-plan-text")
        assert "removed  ideck-stopped" in results and "deleted  demo/stopped:latest" in results
        assert "none failed" in text(app, "#fleet-plan-status")
        assert not dialog.query_one("#resolve", Button).display
        assert [c.name for c in alpha.containers] == ["ideck-running"]
        assert "demo/stopped:latest" not in {t for i in alpha.images for t in i.tags}
        assert beta.images == beta_before  # the other daemon is never touched
        await pilot.press("escape")
        await wait_for(pilot, lambda: ("alpha", "demo/stopped:latest") not in shown(screen), "")


async def test_conflict_cancel_and_force_asks_again() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        dialog = await delete_stopped(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the ways out")
        await pilot.press("escape")  # Cancel: nothing removed, the conflict stays offered
        await wait_for(pilot, lambda: app.screen is dialog, "back to the results")
        assert len(alpha.containers) == 2 and dialog.conflicts()
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the ways out")
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "force asks again")
        assert "on alpha" in text(app, ".dialog-title")
        await pilot.press("escape")  # not forced
        await wait_for(pilot, lambda: app.screen is dialog, "back to the results")
        assert "demo/stopped:latest" in {t for i in alpha.images for t in i.tags}
        assert dialog.conflicts()


async def test_a_running_container_offers_no_way_out() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        await pilot.press("slash", *"demo/running", "enter", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the preview")
        dialog = app.screen
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.stage == "done", "the results")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "the dialog")
        assert not app.screen.query("#containers") and not app.screen.query("#force")
        await pilot.press("r", "f")  # neither applies
        await pilot.pause()
        assert isinstance(app.screen, ConflictDialog)
        assert [c.name for c in alpha.containers] == ["ideck-stopped", "ideck-running"]
