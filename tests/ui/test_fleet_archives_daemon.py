"""The fleet view's E and S against real daemons: the sandbox daemon and its peer.

A commit made here on the sandbox daemon is copied to the peer from the fleet view (E, the
peer chosen in the dialog) and saved from the fleet view (S); the truth is the docker CLI on
each daemon's own socket (the same image ID on the peer) and the archive's own manifest.
"""

from __future__ import annotations

import json
import tarfile
import uuid
from pathlib import Path

from textual.widgets import Input, OptionList

from tests.conftest import DockerCli, Sandbox
from tests.service.test_fleet_daemon import committed
from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import wait_for
from tests.ui.test_archives_ui import finished, text_of
from tests.ui.test_fleet_fake import open_fleet, shown
from tui.modals.archives import CopyDialog, SaveDialog
from tui.service.fleet import Fleet, parse_members


async def test_fleet_copies_and_saves_one_daemons_image(
    sandbox: Sandbox, peer_host: str, docker_cli: DockerCli, peer_cli: DockerCli, tmp_path: Path
) -> None:
    reference = f"test/fleet-copy-{uuid.uuid4().hex[:8]}:v1"
    source_id = committed(docker_cli, reference)
    fleet = Fleet(parse_members([f"main={sandbox.docker_host}", f"peer={peer_host}"]))
    app = make_app(FakeService())
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_fleet(pilot, fleet)
            await pilot.press("slash", *reference.split(":")[0], "enter")
            assert shown(screen) == [("main", reference)]
            await pilot.press("E")
            await wait_for(pilot, lambda: isinstance(app.screen, CopyDialog), "the copy dialog")
            options = app.screen.query_one("#copy-contexts", OptionList)
            assert options.option_count == 1  # the peer; never the source itself
            await pilot.press("enter")
            await finished(pilot)
            outcome = text_of(app, "#archive-outcome")
            assert f"same ID {source_id[7:19]}" in outcome, outcome
            peer_id = peer_cli("image", "inspect", "-f", "{{.Id}}", reference, check=True)
            assert peer_id.stdout.strip() == source_id
            await pilot.press("enter")  # close; the list is asked again
            await wait_for(
                pilot,
                lambda: sorted(shown(screen)) == [("main", reference), ("peer", reference)],
                "the copy listed on both daemons",
            )
            # Both rows marked: a save across daemons is refused, nothing written.
            await pilot.press("a", "S")
            await pilot.pause()
            assert app.screen is screen
            assert any("Cannot save across daemons" in n.message for n in app._notifications)
            # The peer's row alone: saved from the peer.
            await pilot.press("A", "escape", "slash", *reference.split(":")[0], "enter")
            target = tmp_path / "peer.tar"
            rows = shown(screen)
            await pilot.press(*["down"] * rows.index(("peer", reference)), "S")
            await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "the save dialog")
            assert "from peer" in text_of(app, ".dialog-title")
            app.screen.query_one("#save-path", Input).value = str(target)
            await pilot.press("enter")
            await finished(pilot)
            with tarfile.open(target) as archive:
                member = archive.extractfile("manifest.json")
                assert member is not None
                manifest = json.load(member)
            assert [m["RepoTags"] for m in manifest] == [[reference]]
            assert target.stat().st_mode & 0o777 == 0o600
    finally:
        fleet.close()
        docker_cli("rmi", reference)
        peer_cli("rmi", reference)
