"""The fleet view's S (save) and E (copy to another member) on fake daemons.

An archive or a copy has one daemon as its source: marks on one daemon go to that daemon's
service; marks on several daemons are refused with the reason (nothing is asked of any daemon).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, OptionList

from tests.ui.fake import make_app, make_image
from tests.ui.pilot import wait_for
from tests.ui.test_archives_ui import ArchiveFake, finished, text_of
from tests.ui.test_fleet_fake import fleet_of, open_fleet, shown
from tui.modals.archives import CopyDialog, SaveDialog
from tui.service.fleet import Fleet, MemberSpec


def two_daemons() -> tuple[ArchiveFake, ArchiveFake, Fleet]:
    """alpha (the demo set) and beta (two images of its own), both recording archive calls."""
    alpha, beta = ArchiveFake(), ArchiveFake()
    beta.images = [
        make_image(20, ("team/api:3",), size=5_000_000, age_days=2),
        make_image(21, ("team/web:1",), size=3_000_000, age_days=3),
    ]
    beta.endpoint = type(beta.endpoint)(host="tcp://beta.example:2376", source="test")
    gamma = ArchiveFake()
    gamma.images = []
    gamma.endpoint = type(gamma.endpoint)(host="tcp://gamma.example:2376", source="test")
    fakes: dict[str, Any] = {"alpha": alpha, "beta": beta, "gamma": gamma}
    return alpha, beta, fleet_of(fakes)


async def filtered(pilot: Any, text: str) -> None:
    await pilot.press("slash", *text, "enter")


async def test_save_marked_rows_of_one_daemon_saves_on_that_daemon() -> None:
    alpha, beta, fleet = two_daemons()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet)
        await filtered(pilot, "team/")
        assert {d for d, _ in shown(screen)} == {"beta"}
        await pilot.press("a", "S")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "the save dialog")
        assert "Save 2 images from beta to an archive" in text_of(app, ".dialog-title")
        assert app.screen.query_one("#save-path", Input).value == "images-beta.tar"
        app.screen.query_one("#save-path", Input).value = "/tmp/beta.tar"
        await pilot.press("enter")
        await finished(pilot)
        assert beta.asked == [("save", (["team/api:3", "team/web:1"], "/tmp/beta.tar", False))]
        assert alpha.asked == []


async def test_save_across_daemons_is_refused_with_the_reason() -> None:
    alpha, beta, fleet = two_daemons()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet)
        await pilot.press("a", "S")  # every row: alpha's and beta's
        await pilot.pause()
        assert app.screen is screen  # no dialog
        said = [n.message for n in app._notifications]
        assert any(
            "Cannot save across daemons: the marked images are 14 on alpha, 2 on beta" in m
            for m in said
        ), said
        assert alpha.asked == [] and beta.asked == []
        await pilot.press("E")
        await pilot.pause()
        assert app.screen is screen
        assert any("Cannot copy across daemons" in n.message for n in app._notifications)


async def test_copy_a_row_to_another_member_of_the_fleet() -> None:
    alpha, beta, fleet = two_daemons()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet)
        await filtered(pilot, "team/api")
        assert shown(screen) == [("beta", "team/api:3")]
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, CopyDialog), "the copy dialog")
        dialog = app.screen
        assert "Copy 1 image from beta to another daemon" in text_of(app, ".dialog-title")
        options = dialog.query_one("#copy-contexts", OptionList)
        # The other members, never the source itself.
        offered = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert offered == ["alpha  unix:///fake/docker.sock", "gamma  tcp://gamma.example:2376"]
        await pilot.press("down", "enter")  # gamma
        await finished(pilot)
        assert beta.asked == [("copy", (["team/api:3"], "tcp://gamma.example:2376", None))]
        assert alpha.asked == [] and gamma_asked(fleet) == []
        assert "same ID" in text_of(app, "#archive-outcome")


def gamma_asked(fleet: Fleet) -> list[Any]:
    service = fleet.connected("gamma")
    return list(getattr(service, "asked", []))


def test_a_context_member_is_copied_to_by_its_context() -> None:
    members = [MemberSpec("a", context="ctx-a"), MemberSpec("b", host="unix:///b.sock")]
    dialog = CopyDialog(["x:1"], (), "", daemon_name="b", members=members)
    assert dialog.members == [members[0]]
    assert dialog.contexts == [("a", "context ctx-a")]
