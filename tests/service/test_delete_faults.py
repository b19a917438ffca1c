"""A bulk delete stops when the daemon dies (issue 11, point 8), against the sandbox daemon.

Five scratch tags are removed through tests/daemon_proxy.py, which resets every connection and
refuses new ones as the third removal request arrives (``kill -9 dockerd`` as imagedeck sees
it; the shared daemon itself is never touched). The first two are untagged, the third fails
with the reason, and the last two are "not attempted": the loop does not try them against a
daemon that is gone. The docker CLI (straight to the daemon) confirms what is left.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.daemon_proxy import DaemonProxy
from tui.service import ImageService
from tui.service.cleanup import ResultLog, plan_delete
from tui.service.models import image_rows

pytestmark = pytest.mark.daemon


@pytest.fixture
def scratch_tags(sandbox: Sandbox, docker_cli: DockerCli) -> Iterator[list[str]]:
    """Five tags of the base image, removed afterwards."""
    repo = f"test/bulk-{uuid.uuid4().hex[:8]}"
    tags = [f"{repo}:{n}" for n in range(1, 6)]
    for tag in tags:
        docker_cli("tag", BASE_IMAGE, tag, check=True)
    yield tags
    for tag in tags:
        docker_cli("rmi", tag)


def test_a_bulk_delete_stops_when_the_daemon_dies_and_marks_the_rest(
    sandbox: Sandbox, docker_cli: DockerCli, scratch_tags: list[str], tmp_path: Path
) -> None:
    from tui.service.cleanup import remove_each

    proxy = DaemonProxy(sandbox.socket_path, tmp_path / "docker.sock")
    deletes: list[bytes] = []

    def on_request(line: bytes) -> None:
        if line.startswith(b"DELETE "):
            deletes.append(line)
            if len(deletes) == 3:
                proxy.cut()  # before the third removal reaches the daemon

    proxy.on_request = on_request
    service = ImageService.connect(proxy.docker_host)
    try:
        rows = [r for i in service.list_images() for r in image_rows(i)]
        wanted = [r for r in rows if r.reference in scratch_tags]
        wanted.sort(key=lambda r: scratch_tags.index(r.reference))
        plan = plan_delete(wanted)
        log = ResultLog("Delete")
        remove_each(
            log,
            plan.items,
            service.remove_reference,
            lambda item: (item.reference, item.image.id),
            threading.Event(),
        )
    finally:
        service.close()
        proxy.close()
    statuses = {o.subject: o.status for o in log.outcomes}
    assert [statuses[t] for t in scratch_tags] == [
        "untagged",
        "untagged",
        "failed",
        "not attempted",
        "not attempted",
    ], log.outcomes
    failed = next(o for o in log.outcomes if o.status == "failed")
    assert "Cannot reach the Docker daemon" in failed.detail
    assert "TLS" not in failed.detail
    assert log.stopped_early and "2 not attempted" in log.summary()
    assert len(deletes) == 3  # nothing was sent after the daemon went away
    # The truth, from the daemon itself: only the first two are gone.
    present = [t for t in scratch_tags if docker_cli("image", "inspect", t).returncode == 0]
    assert present == scratch_tags[2:]


async def test_the_delete_dialog_stops_when_the_daemon_dies(
    sandbox: Sandbox, docker_cli: DockerCli, scratch_tags: list[str], tmp_path: Path
) -> None:
    """The same through the UI: mark five rows, d, y; the results log says what happened."""
    from tests.ui.pilot import ready, wait_for
    from tui.app import ImagedeckApp
    from tui.modals.delete import DeleteDialog

    proxy = DaemonProxy(sandbox.socket_path, tmp_path / "docker.sock")
    deletes: list[bytes] = []

    def on_request(line: bytes) -> None:
        if line.startswith(b"DELETE "):
            deletes.append(line)
            if len(deletes) == 3:
                proxy.cut()

    proxy.on_request = on_request
    app = ImagedeckApp(lambda: ImageService.connect(proxy.docker_host), host_hint=proxy.docker_host)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            images = await ready(pilot)
            for tag in scratch_tags:
                assert images.model.select_reference(tag), tag
                await pilot.press("space")
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), "the dialog")
            await pilot.press("y")
            controller = images.query_one("#cleanup-controller")
            await wait_for(pilot, lambda: bool(controller.logs), "the results log")
            log = controller.logs[0]
    finally:
        proxy.close()
    statuses = sorted(o.status for o in log.outcomes)
    assert statuses == ["failed", "not attempted", "not attempted", "untagged", "untagged"]
    assert len(deletes) == 3
    present = [t for t in scratch_tags if docker_cli("image", "inspect", t).returncode == 0]
    assert len(present) == 3
