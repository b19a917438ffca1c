"""The list row says which platform of a multi-platform image is here (issue 12, point 6).

A two-platform OCI index (arm64 listed first, amd64, an attestation) is pushed to the sandbox
registry and pulled once for this machine's platform and once, under another name, for arm64
only. The platform the list's data names for each is checked against `docker image inspect`
(the CLI's word for the platform that is here), and the row's marker against it: nothing for
an image of the daemon's own platform, ``[arm64]`` after the foreign one's name.

Which engines say it: the platform comes from the inspect the disk-usage step does anyway where
df's figures are worked out from layers (Docker 26 on either store, Podman). Docker 20.10's df
is used as it is, so its list does not inspect images and says nothing (the test's name says
which engine it ran on). API 1.47+ daemons (Docker 27.3+) list every platform of an index with
what is here in the list call itself; the sandbox engines are older (tests/unit covers that
answer's parsing).
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import DockerCli, Sandbox, current_engine
from tests.service.test_multiplatform import push_multiplatform
from tui.service import ImageService
from tui.service.models import Image, image_rows, with_usage
from tui.widgets.image_table import repository_cell

ENGINE = current_engine()
# Docker 20.10's /system/df is trusted as it is: no per-image inspect, so no platform.
SAYS_PLATFORM = ENGINE.name != "docker-20.10"


def _row_image(service: ImageService, reference: str) -> Image:
    """The listed image of ``reference`` with disk usage merged, as the list draws it."""
    images = with_usage(service.list_images(), service.disk_usage())
    found = [i for i in images if reference in i.tags]
    assert len(found) == 1, (reference, [i.tags for i in images])
    return found[0]


@pytest.mark.parametrize("engine_id", [ENGINE.id])
def test_row_names_the_platform_that_is_here(
    engine_id: str, sandbox: Sandbox, service: ImageService, docker_cli: DockerCli
) -> None:
    name = uuid.uuid4().hex[:8]
    native = f"{sandbox.registry}/test/platforms-{name}:v1"
    foreign = f"{sandbox.registry}/test/platforms-{name}-arm:v1"
    push_multiplatform(sandbox.registry, f"test/platforms-{name}")
    push_multiplatform(sandbox.registry, f"test/platforms-{name}-arm")
    try:
        docker_cli("pull", "-q", native, check=True)
        docker_cli("pull", "-q", "--platform", "linux/arm64", foreign, check=True)
        for reference, marker in ((native, ""), (foreign, "[arm64]")):
            cli = docker_cli(
                "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", reference, check=True
            ).stdout.strip()
            image = _row_image(service, reference)
            row = next(r for r in image_rows(image) if r.tag == "v1")
            name = row.repository
            if not SAYS_PLATFORM:
                assert image.platforms is None, (engine_id, image.platforms)
                assert repository_cell(row, 80) == name
                continue
            assert image.platforms is not None, (engine_id, reference)
            assert image.platforms.present == (cli,), (engine_id, image.platforms, cli)
            assert image.platforms.marker() == marker, (engine_id, image.platforms)
            assert repository_cell(row, 80) == f"{name} {marker}".strip()
        assert SAYS_PLATFORM or engine_id.startswith("docker-20.10")
    finally:
        for reference in (native, foreign):
            docker_cli("rmi", reference)
