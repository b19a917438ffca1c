"""The delete dialog says beforehand which untagged build parents go with an image (issue 12, 4).

On a graph-driver (overlay2) store a classic build leaves one untagged intermediate image per
step; deleting the built image deletes them too (the daemon's "Deleted:" lines name them).
Docker 26 counts them as sharers in df, so UNIQUE there says 0 B: the dialog names them and
the bytes of their layers before anything runs. Checked against the truth: the IDs the CLI's
`docker rmi` reports deleted, and `docker image inspect` Size of the top parent minus that of
the base it was built on. On the containerd store what goes with a delete differs (it can
leave a parent behind as a dangling row): nothing is claimed there.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, current_engine
from tests.ui.pilot import ready, wait_for
from tui.app import ImagedeckApp
from tui.modals.delete import DeleteDialog
from tui.service import ImageService
from tui.service.models import with_usage

ENGINE = current_engine().id
pytestmark = pytest.mark.daemon


def _build(docker_cli: DockerCli, tag: str) -> str:
    """A classic build of three steps on the base: two untagged parents and the image."""
    run = uuid.uuid4().hex[:8]
    dockerfile = (
        f"FROM {BASE_IMAGE}\n"
        f"RUN head -c 300000 /dev/urandom > /one-{run}\n"
        f"RUN head -c 200000 /dev/urandom > /two-{run}\n"
        f"LABEL run={run}\n"
    )
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "Dockerfile").write_text(dockerfile)
        docker_cli("build", "-q", "-t", tag, ctx, check=True)  # classic builder (the fixture)
    return docker_cli("image", "inspect", "-f", "{{.Id}}", tag, check=True).stdout.strip()


def _parents(docker_cli: DockerCli, image_id: str) -> list[str]:
    """The ParentId chain up to the base (exclusive), from the CLI."""
    base = docker_cli("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE, check=True).stdout.strip()
    found = []
    current = image_id
    while True:
        parent = docker_cli(
            "image", "inspect", "-f", "{{.Parent}}", current, check=True
        ).stdout.strip()
        if not parent or parent == base:
            return found
        found.append(parent)
        current = parent


def _size(docker_cli: DockerCli, ref: str) -> int:
    return int(docker_cli("image", "inspect", "-f", "{{.Size}}", ref, check=True).stdout.strip())


@pytest.mark.parametrize("engine_id", [ENGINE])
async def test_delete_dialog_names_the_build_parents_that_go_and_their_bytes(
    engine_id: str, service: ImageService, docker_cli: DockerCli
) -> None:
    # Docker's stores only: Podman's subset (PODMAN_SUBSET) never collects this file.
    tag = f"test/parents-{uuid.uuid4().hex[:8]}:v1"
    image_id = _build(docker_cli, tag)
    parents: list[str] = []
    try:
        parents = _parents(docker_cli, image_id)
        images = with_usage(service.list_images(), service.disk_usage())
        layers = service.layers_for(images, [image_id])
        found = service.build_parents([image_id], images, layers)
        if current_engine().containerd:
            # The containerd store keeps parents on a delete (they may show as <none> rows).
            assert found is None, engine_id
        else:
            assert found is not None and len(parents) == 2, (engine_id, parents)
            assert set(found.ids) == set(parents)
            # Their bytes: the top parent's layers above the base (nobody else holds them).
            truth = _size(docker_cli, parents[0]) - _size(docker_cli, BASE_IMAGE)
            assert found.bytes == truth, (engine_id, found.bytes, truth)

        # The dialog says it before anything runs.
        host = service.host
        app = ImagedeckApp(lambda: ImageService.connect(host, timeout=30), host_hint=host)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            await pilot.press("slash", *tag.split(":")[0], "enter")
            await wait_for(pilot, lambda: len(screen.model.visible) == 1, "the filtered row")
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, DeleteDialog)
            await wait_for(pilot, lambda: dialog.freed.exact or bool(dialog.freed.why), "sum")
            if current_engine().containerd:
                await pilot.pause(0.5)
                assert dialog.parents is None
                assert "build parent" not in str(dialog.query_one("#delete-freed").render())
            else:
                await wait_for(pilot, lambda: dialog.parents is not None, "the parents")
                text = str(dialog.query_one("#delete-freed").render())
                assert "Also deleted: 2 untagged build parents" in text, text
                assert parents[0].removeprefix("sha256:")[:12] in text, text
            await pilot.press("escape")

        # The truth: the graph-driver daemon deletes them with the image. (The containerd
        # store deleted them too on Docker 26.1 here, and can leave a parent behind as a
        # dangling row elsewhere: the dialog claims nothing there, so nothing is checked.)
        deleted = docker_cli("rmi", tag, check=True).stdout
        if not current_engine().containerd:
            for parent in parents:
                assert parent in deleted, (engine_id, deleted)
    finally:
        docker_cli("rmi", tag)
        for parent in parents:  # the containerd store keeps them
            docker_cli("rmi", parent)
