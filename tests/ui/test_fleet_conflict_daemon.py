"""The fleet delete's conflict way out against the real sandbox daemon (with its peer in the
fleet): an image of this test's own, used by a created (stopped) container of its own, is
refused by the daemon; `r` then `r` removes that container, then the image, on that daemon
only. The truth is the docker CLI."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import DockerCli, Sandbox
from tests.service.test_fleet_daemon import committed
from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import wait_for
from tests.ui.test_fleet_fake import open_fleet, shown
from tui.modals.conflict import ConflictDialog
from tui.modals.fleet import FleetPlanDialog
from tui.service.fleet import Fleet, parse_members


async def test_fleet_conflict_removes_the_stopped_container_then_the_image(
    sandbox: Sandbox, peer_host: str, docker_cli: DockerCli, peer_cli: DockerCli
) -> None:
    reference = f"test/fleet-conflict-{uuid.uuid4().hex[:8]}:v1"
    container = f"fleet-holder-{uuid.uuid4().hex[:8]}"
    committed(docker_cli, reference)
    docker_cli("create", "--name", container, reference, "true", check=True)
    peer_before = peer_cli("images", "-q", "--no-trunc", check=True).stdout
    fleet = Fleet(parse_members([f"main={sandbox.docker_host}", f"peer={peer_host}"]))
    app: Any = make_app(FakeService())
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_fleet(pilot, fleet)
            await pilot.press("slash", *reference.split(":")[0], "enter")
            assert shown(screen) == [("main", reference)]
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "preview")
            dialog = app.screen
            await pilot.press("y")
            await wait_for(pilot, lambda: dialog.stage == "done", "the results")
            assert [o.outcome.subject for o in dialog.conflicts()] == [reference]
            # The daemon refused: both still there.
            docker_cli("image", "inspect", reference, check=True)
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(app.screen, ConflictDialog), "ways out")
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: app.screen is dialog and not dialog.resolving and not dialog.conflicts(),
                "the way out carried out",
            )
            statuses = [(o.daemon, o.outcome.status) for o in dialog.outcomes]
            assert statuses == [("main", "removed"), ("main", "deleted")]
        assert docker_cli("image", "inspect", reference).returncode != 0
        assert docker_cli("container", "inspect", container).returncode != 0
        assert peer_cli("images", "-q", "--no-trunc", check=True).stdout == peer_before
    finally:
        fleet.close()
        docker_cli("rm", container)
        docker_cli("rmi", reference)
