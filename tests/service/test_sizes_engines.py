"""Every size figure against the truth on the engine the suite runs on: `du -sb` of the daemon's
data root before and after a delete, and the set `docker image prune` really removes.

The expectations that differ per engine say so: each test's id carries the engine
(``docker-20.10/overlay2``, ``docker-26/overlay2``, ``docker-26/containerd``). On the overlay2
store the freed figure is exact; on the containerd store it is an estimate that says why (API
1.45 does not report compressed layer sizes), and must still be within 5% of what du measures.
Images are scratch images of this test (random data, so layers neither compress nor dedupe),
large enough (MBs) that per-image metadata is noise; never the seeded ones.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, current_engine, settled_du
from tui.service import ImageService
from tui.service.cleanup import PruneOptions, freed_space, plan_delete
from tui.service.engine import full_image_id
from tui.service.models import image_rows, summarize, with_usage

ENGINE = current_engine().id
# Metadata (manifests, configs, layer bookkeeping) is a few kB per image whatever its size.
SLACK = 64 * 1024


def _close(promised: int, actual: int) -> bool:
    return abs(actual - promised) <= max(promised * 0.05, SLACK)


def _data_root(docker_cli: DockerCli) -> Path:
    root = docker_cli("info", "--format", "{{.DockerRootDir}}", check=True).stdout.strip()
    path = Path(root)
    assert path.is_dir(), f"the daemon's data root {root} is not readable from the test"
    return path


@pytest.fixture
def family(docker_cli: DockerCli, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A parent (2 MB COPY + 1.5 MB RUN, so it has an intermediate) and a child (1 MB RUN).

    Returns (parent ref, child ref, label value); both carry the label ``imagedeck.test``.
    """
    token = uuid.uuid4().hex[:8]
    (tmp_path / "x.bin").write_bytes(os.urandom(2_000_000))
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nLABEL imagedeck.test={token}\nCOPY x.bin /x.bin\n"
        "RUN head -c 1500000 /dev/urandom > /r\n"
    )
    parent, child = f"test/sizes-{token}-p:1", f"test/sizes-{token}-c:1"
    (tmp_path / "Dockerfile.child").write_text(
        f"FROM {parent}\nRUN head -c 1000000 /dev/urandom > /c\n"
    )
    docker_cli("build", "-q", "-t", parent, str(tmp_path), check=True)
    docker_cli(
        "build",
        "-q",
        "-t",
        child,
        "-f",
        str(tmp_path / "Dockerfile.child"),
        str(tmp_path),
        check=True,
    )
    yield parent, child, token
    for ref in (child, parent):
        docker_cli("rmi", ref)
    leftovers = docker_cli(
        "images", "-aq", "--filter", f"label=imagedeck.test={token}"
    ).stdout.split()
    for image_id in leftovers:
        docker_cli("rmi", image_id)


@pytest.mark.parametrize("engine_id", [ENGINE])
@pytest.mark.parametrize("case", ["child", "parent-and-child", "parent-with-a-child"])
def test_delete_frees_what_du_measures(
    engine_id: str,
    case: str,
    service: ImageService,
    docker_cli: DockerCli,
    family: tuple[str, str, str],
) -> None:
    """The delete dialog's figure (and the UNIQUE column for one image) vs the data root."""
    parent, child, _ = family
    targets = {
        "child": [child],
        "parent-and-child": [child, parent],
        "parent-with-a-child": [parent],
    }
    root = _data_root(docker_cli)
    usage = service.disk_usage()
    images = with_usage(service.list_images(), usage)
    rows = [r for i in images for r in image_rows(i) if r.reference in targets[case]]
    assert len(rows) == len(targets[case])
    plan = plan_delete(rows)
    promised = freed_space(plan.removed_ids, images, service.layers_for(images, plan.removed_ids))
    disk_before = summarize(images, usage).disk_size
    before = settled_du(root)
    outcomes = []
    for item in plan.items:
        outcome = service.remove_reference(item)
        assert outcome.ok, outcome.line()
        outcomes.append(outcome)
    actual = before - settled_du(root)
    assert _close(promised.bytes, actual), f"{engine_id}: promised {promised}, du says {actual}"
    if current_engine().containerd:
        # API 1.45 has no per-layer compressed sizes: an estimate, and it says why.
        assert not promised.exact and "compressed" in promised.why
    else:
        assert promised.exact
    if case == "child":
        unique = next(i for i in images if child in i.tags).unique_size
        assert unique is not None and _close(unique, actual), f"UNIQUE {unique}, du {actual}"
    if case == "parent-with-a-child":
        assert promised.bytes <= SLACK  # the child keeps every layer
        if current_engine().podman:
            # Podman deletes the image itself (no <none> stays) but not its layers, which the
            # child is built on: the outcome says "deleted" and that nothing is freed.
            assert [o.status for o in outcomes] == ["deleted"], [o.line() for o in outcomes]
            assert "nothing is freed" in outcomes[0].detail, outcomes[0].line()
        else:
            # overlay2 untags it (the child holds it); the containerd store keeps it as <none>
            # although it reports "Deleted": either way the outcome says it stays.
            assert [o.status for o in outcomes] == ["untagged"], [o.line() for o in outcomes]
    # "on disk" goes down by what the delete freed.
    after_usage = service.disk_usage()
    disk_after = summarize(with_usage(service.list_images(), after_usage), after_usage).disk_size
    assert disk_before is not None and disk_after is not None
    assert _close(disk_before - disk_after, actual), (disk_before, disk_after, actual)


@pytest.mark.parametrize("engine_id", [ENGINE])
def test_size_column_of_a_lone_image_is_what_deleting_it_frees(
    engine_id: str, service: ImageService, docker_cli: DockerCli, tmp_path: Path
) -> None:
    """SIZE minus the base it shares with the seeded base image: the whole image goes."""
    token = uuid.uuid4().hex[:8]
    ref = f"test/sizes-{token}-lone:1"
    (tmp_path / "x.bin").write_bytes(os.urandom(3_000_000))
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY x.bin /x.bin\n")
    docker_cli("build", "-q", "-t", ref, str(tmp_path), check=True)
    try:
        root = _data_root(docker_cli)
        usage = service.disk_usage()
        images = with_usage(service.list_images(), usage)
        image = next(i for i in images if ref in i.tags)
        assert image.shared_size is not None and image.unique_size is not None
        before = settled_du(root)
        assert service.remove_reference(plan_delete(image_rows(image)).items[0]).ok
        actual = before - settled_du(root)
        assert _close(image.unique_size, actual), (
            f"{engine_id}: UNIQUE {image.unique_size}, du {actual}"
        )
        # SHARED is what stays: the base image's layers.
        base = next(i for i in images if BASE_IMAGE in i.tags)
        assert _close(image.shared_size, base.size), (image.shared_size, base.size)
    finally:
        docker_cli("rmi", ref)


@pytest.mark.parametrize("engine_id", [ENGINE])
@pytest.mark.parametrize("mode", ["dangling", "unused"])
def test_prune_preview_is_the_set_docker_image_prune_removes(
    engine_id: str, mode: str, service: ImageService, docker_cli: DockerCli, tmp_path: Path
) -> None:
    """The wizard's preview (same label filter) vs what `docker image prune` removes.

    Labelled scratch images only: a tagged image, a dangling older build of it, and (classic
    builder) their intermediate images. On the containerd store the CLI's prune also removes
    the intermediates, which the list hides; on overlay2 a removal takes the untagged parents
    of the removed image with it, so those are compared as what goes along (Podman too: its
    rmi takes an untagged parent that has no other child; its Parent IDs lack ``sha256:``).
    On Podman the ``unused`` truth is `podman image prune -a` (libpod API): see below why.
    """
    token = uuid.uuid4().hex[:8]
    ref = f"test/sizes-{token}-prune:1"
    for n in range(2):  # the second build leaves the first one dangling
        (tmp_path / "Dockerfile").write_text(
            f"FROM {BASE_IMAGE}\nLABEL imagedeck.test={token}\n"
            f"RUN echo {n} > /n\nRUN echo {token} > /t\n"
        )
        docker_cli("build", "-q", "-t", ref, str(tmp_path), check=True)
    label = f"imagedeck.test={token}"
    try:
        plan = service.plan_prune(PruneOptions(mode=mode, label=label))  # type: ignore[arg-type]
        planned = {c.image.id for c in plan.candidates}
        before = set(
            docker_cli("images", "-aq", "--no-trunc", "--filter", f"label={label}").stdout.split()
        )
        parents = {_parent(service, i) for i in planned}
        goes_along = _ancestors(service, parents, before)
        if current_engine().podman and mode == "unused":
            # `docker image prune -a` cannot run against Podman 4.3: the CLI sends
            # dangling=false and the compat endpoint refuses it ("specifying "dangling" filter
            # more than once with different values is not supported"). `podman image prune -a`
            # is the truth there: its libpod endpoint, on the same socket.
            _podman_prune_all(service, label)
        else:
            args = ["image", "prune", "-f", "--filter", f"label={label}"] + (
                ["-a"] if mode == "unused" else []
            )
            docker_cli(*args, check=True)
        after = set(
            docker_cli("images", "-aq", "--no-trunc", "--filter", f"label={label}").stdout.split()
        )
        removed = before - after
        assert planned <= removed, f"{engine_id}: planned {planned - removed} that prune kept"
        extra = removed - planned
        if current_engine().containerd:
            assert not extra, f"{engine_id}: prune removed {extra} the preview did not list"
        else:
            # Only untagged parents of planned images go along (the daemon's prune of a child).
            assert extra <= goes_along, f"{engine_id}: prune removed {extra - goes_along}"
    finally:
        for image_id in docker_cli("images", "-aq", "--filter", f"label={label}").stdout.split():
            docker_cli("rmi", "-f", image_id)


def _parent(service: ImageService, image_id: str) -> str:
    """The image's Parent as a full ID (Podman's inspect writes it without ``sha256:``)."""
    return full_image_id(str(service.api.inspect_image(image_id).get("Parent") or ""))


def _podman_prune_all(service: ImageService, label: str) -> None:
    """`podman image prune -a --filter label=...` through Podman's own (libpod) API."""
    filters = json.dumps({"label": [label]})
    response = service.api.post(
        f"{service.api.base_url}/v4.0.0/libpod/images/prune",
        params={"all": "true", "filters": filters},
    )
    assert response.status_code == 200, response.text


def _ancestors(service: ImageService, start: set[str], known: set[str]) -> set[str]:
    found: set[str] = set()
    stack = [s for s in start if s]
    while stack:
        current = stack.pop()
        if current in found or current not in known:
            continue
        found.add(current)
        try:
            parent = _parent(service, current)
        except Exception:  # already removed: its parents are not needed either
            continue
        if parent:
            stack.append(parent)
    return found


@pytest.mark.parametrize("engine_id", [ENGINE])
def test_force_remove_of_an_image_a_stopped_container_uses(
    engine_id: str, service: ImageService, docker_cli: DockerCli, tmp_path: Path
) -> None:
    """Overlay2: force deletes the image. Containerd store: force only untags (and says so)."""
    token = uuid.uuid4().hex[:8]
    ref = f"test/sizes-{token}-held:1"
    (tmp_path / "x.bin").write_bytes(os.urandom(2_000_000))
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY x.bin /x.bin\n")
    docker_cli("build", "-q", "-t", ref, str(tmp_path), check=True)
    image_id = docker_cli("image", "inspect", "-f", "{{.Id}}", ref, check=True).stdout.strip()
    container = f"sizes-{token}"
    docker_cli("create", "--name", container, ref, "true", check=True)
    try:
        images = with_usage(service.list_images(), service.disk_usage())
        image = next(i for i in images if ref in i.tags)
        conflict = service.remove_reference(plan_delete(image_rows(image)).items[0])
        assert conflict.conflict and conflict.containerd == current_engine().containerd
        root = _data_root(docker_cli)
        before = settled_du(root)
        forced = service.force_remove(ref)
        freed = before - settled_du(root)
        still_there = docker_cli("image", "inspect", image_id).returncode == 0
        if current_engine().containerd:
            assert forced.status == "untagged" and "only untags" in forced.detail
            assert still_there and freed <= SLACK, (engine_id, freed)
        else:
            assert forced.status == "deleted" and not still_there
    finally:
        docker_cli("rm", "-f", container)
        docker_cli("rmi", "-f", image_id)


@pytest.mark.parametrize("engine_id", [ENGINE])
def test_history_names_its_sizes_where_the_engine_has_two(
    engine_id: str, service: ImageService
) -> None:
    """Containerd store: inspect's Size is compressed content, history rows are unpacked."""
    history = service.history("demo/wasted:latest")
    listed = next(i for i in service.list_images() if "demo/wasted:latest" in i.tags)
    if current_engine().containerd:
        assert history.unpacked == sum(e.size for e in history.entries), engine_id
        # Together they are the list's SIZE (within a few 4 kB blocks).
        assert abs(history.size + history.unpacked - listed.size) <= 0.03 * listed.size
    else:
        assert history.unpacked is None and history.size == listed.size, engine_id
