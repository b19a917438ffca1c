"""What imagedeck says about the engine, checked on each engine against the docker CLI.

``make test`` runs this file on every configuration (Docker 20.10, Docker 26 with overlay2 and
with the containerd store, Podman). A test whose expectation differs per engine says so in its
name; the ``engine`` fixture says which configuration runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.conftest import BASE_IMAGE, DockerCli, Engine, Sandbox
from tui.app import ImagedeckApp
from tui.modals.conflict import conflict_text, force_warning
from tui.service import Conflict, ImageService
from tui.service.cleanup import plan_delete
from tui.service.images import with_usage
from tui.service.models import image_rows

pytestmark = pytest.mark.daemon

SEEDED_PREFIXES = ("demo/", "imagedeck/", "127.0.0.1:5000/")


def cli_json(docker_cli: DockerCli, *args: str) -> dict:  # type: ignore[type-arg]
    """``docker ARGS --format '{{json .}}'`` decoded."""
    return json.loads(docker_cli(*args, "--format", "{{json .}}", check=True).stdout)


def expected_label(docker_cli: DockerCli) -> str:
    """The header's words, worked out from `docker version` and `docker info` alone."""
    server = cli_json(docker_cli, "version")["Server"]
    info = cli_json(docker_cli, "info")
    podman = [c for c in server.get("Components") or [] if c["Name"] == "Podman Engine"]
    if podman:
        return f"Podman {podman[0]['Version']}"
    version = server["Version"].split("+")[0]  # Debian's "26.1.5+dfsg1"
    statuses = dict(info.get("DriverStatus") or [])
    containerd = "containerd.snapshotter" in statuses.get("driver-type", "")
    return f"Docker {version}, {'containerd store' if containerd else info['Driver']}"


def test_sandbox_setting_is_the_engine_that_answers(engine: Engine, docker_cli: DockerCli) -> None:
    """IMAGEDECK_SANDBOX_ENGINE/STORE (what tests are told) is what the daemon is."""
    label = expected_label(docker_cli)
    if engine.podman:
        assert label.startswith("Podman ")
    else:
        series = engine.name.removeprefix("docker-")
        assert label.startswith(f"Docker {series}.")
        assert label.endswith(", containerd store") == engine.containerd


def test_info_names_engine_and_store_as_the_cli_does(
    service: ImageService, docker_cli: DockerCli
) -> None:
    assert service.info().engine == expected_label(docker_cli)
    assert service.engine().label == expected_label(docker_cli)


async def test_header_names_engine_and_store(sandbox: Sandbox, docker_cli: DockerCli) -> None:
    app = ImagedeckApp(lambda: ImageService.connect(sandbox.docker_host, timeout=10))
    label = expected_label(docker_cli)
    async with app.run_test(size=(160, 40)) as pilot:
        # Polled for up to a minute: the header does not wait for the list or its sizes.
        shown = ""
        for _ in range(600):
            await pilot.pause(0.1)
            shown = str(app.images_screen.query_one("#header", Static).render())
            if label in shown:
                break
        assert label in shown
        assert "Docker 4." not in shown  # Podman's version, not a Docker's


def test_list_names_are_the_docker_clis(service: ImageService, docker_cli: DockerCli) -> None:
    """REPOSITORY:TAG as `docker images` shows them (Podman's "docker.io/" left out)."""
    shown = docker_cli("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout.split()
    ours = [tag for image in service.list_images() for tag in image.repo_tags]

    def seeded(refs: list[str]) -> set[str]:
        # The seeded names only: other tests' scratch images come and go meanwhile.
        return {r for r in refs if r.startswith(SEEDED_PREFIXES) and "<none>" not in r}

    assert seeded(ours) == seeded(shown)
    assert "demo/app:1.0" in ours and not any(t.startswith("docker.io/") for t in ours)


def test_disk_usage_ids_are_the_lists(service: ImageService) -> None:
    """df's image IDs match /images/json's (Podman's df leaves "sha256:" out)."""
    listed = {image.id for image in service.list_images()}
    usage = service.disk_usage()
    assert listed <= set(usage.images)
    assert all(image_id.startswith("sha256:") for image_id in usage.images)


@pytest.fixture
def used_image(sandbox: Sandbox, docker_cli: DockerCli) -> Iterator[tuple[str, str]]:
    """A one-tag image of its own, and a stopped container made from it: (reference, name)."""
    reference = f"test/engine-{uuid.uuid4().hex[:8]}:v1"
    name = f"ideck-engine-{uuid.uuid4().hex[:8]}"
    dockerfile = f"FROM {BASE_IMAGE}\nLABEL org.imagedeck.test={reference}\n"
    subprocess.run(
        ["docker", "-H", sandbox.docker_host, "build", "-q", "-t", reference, "-"],
        input=dockerfile,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        timeout=300,
    )
    image_id = docker_cli("image", "inspect", "-f", "{{.Id}}", reference, check=True).stdout
    docker_cli("create", "--name", name, reference, "true", check=True)
    yield reference, name
    docker_cli("rm", "-f", name)
    # By ID: on the containerd store a test's forced remove only untagged it, and removing the
    # tag again would leave it behind as a dangling row in every later test's list.
    docker_cli("rmi", "-f", image_id.strip())


def test_conflict_names_the_container_on_every_engine(
    service: ImageService, used_image: tuple[str, str]
) -> None:
    reference, name = used_image
    with pytest.raises(Conflict) as caught:
        service.remove_image(reference)
    assert [holder.name for holder in caught.value.holders] == [name]
    assert caught.value.holders[0].status in ("created", "exited", "configured")
    assert name in str(caught.value)


def test_forced_remove_keeps_the_container_on_docker_removes_it_on_podman(
    engine: Engine, service: ImageService, docker_cli: DockerCli, used_image: tuple[str, str]
) -> None:
    """Docker leaves the container pointing at a bare image ID; Podman removes it too."""
    reference, name = used_image
    service.remove_image(reference, force=True)
    still_there = docker_cli("container", "inspect", name).returncode == 0
    assert still_there is not engine.podman


def test_delete_conflict_offers_the_ways_out_podman_force_takes_the_container(
    engine: Engine, service: ImageService, used_image: tuple[str, str], docker_cli: DockerCli
) -> None:
    """The bulk delete's outcome names the container on every engine; on Podman the texts say
    that force removes the container too, and it does."""
    reference, name = used_image
    image = next(i for i in service.list_images() if reference in i.repo_tags)
    item = plan_delete(image_rows(image)).items[0]
    outcome = service.remove_reference(item)
    assert outcome.status == "failed"
    assert [holder.name for holder in outcome.holders] == [name]
    assert outcome.podman is engine.podman
    words = str(conflict_text(outcome)) + force_warning(outcome)
    assert name in words
    assert ("on Podman" in words) is engine.podman
    forced = service.force_remove(reference)
    assert forced.status == "deleted" or not engine.podman
    assert ("Podman removed the containers" in forced.detail) is engine.podman
    assert (docker_cli("container", "inspect", name).returncode == 0) is not engine.podman


def du_bytes(*paths: Path) -> int:
    """Apparent bytes below ``paths``, as `du -sb` counts them (hard links once)."""
    out = subprocess.run(
        ["du", "-sbc", *map(str, paths)], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return int(out.splitlines()[-1].split()[0])


def test_disk_usage_from_the_layers_podman_on_disk_is_du_of_its_layers(
    engine: Engine, service: ImageService, sandbox: Sandbox
) -> None:
    """Shared and unique sizes and "on disk" are real on every engine; Podman's df has none
    of them (SharedSize = Size, LayersSize 0), so there they come from the layers."""
    usage = service.disk_usage()
    images = {
        tag: image for image in with_usage(service.list_images(), usage) for tag in image.tags
    }
    base, app, wasted = images[BASE_IMAGE], images["demo/app:1.0"], images["demo/wasted:latest"]
    assert usage.layers_size > base.size  # the base once, plus every image's own layers
    assert wasted.unique_size is not None and wasted.unique_size > 1_000_000  # its own layers
    assert app.shared_size is not None and app.shared_size >= 0.95 * base.size  # the base
    assert app.unique_size is not None and app.unique_size < 0.05 * app.size
    if engine.podman:
        # Every layer's unpacked files (containers' writable layers are in there too: small).
        storage = Path(os.environ["IMAGEDECK_SANDBOX_STATE"]) / "storage" / "overlay"
        on_disk = du_bytes(*sorted(storage.glob("*/diff")))
        assert abs(usage.layers_size - on_disk) <= 0.05 * on_disk, (usage.layers_size, on_disk)
