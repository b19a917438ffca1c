"""Cleanup against the real sandbox daemon: bulk delete past conflicts, the ways out, the
running-container case, layer-exact freed space, the planned prune, tag and untag.

Every test builds its own images (``test/cl-<uuid8>...`` FROM ``imagedeck/busybox:latest`` with
a random layer and a unique ``LABEL t=<uuid>``) and its own containers (``t-<uuid8>``), and
removes them afterwards; seeded images are only read. Other engineers' tests run on the same
daemon at the same time, so every assertion is restricted to this test's own images.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from tests.conftest import current_engine
from tui.modals.tag import check_target
from tui.service import Conflict, ImageService, InvalidReference
from tui.service.cleanup import PruneOptions, plan_delete, sizes_from_history
from tui.service.engine import full_image_id
from tui.service.images import with_usage
from tui.service.models import Image, image_rows

ENGINE = current_engine().id  # tests whose expectation differs per engine carry it

DockerCli = Callable[..., CompletedProcess[str]]
BASE = "imagedeck/busybox:latest"


class Workshop:
    """Builds this test's images and containers and removes whatever is left at the end."""

    def __init__(self, docker_cli: DockerCli) -> None:
        self.docker = docker_cli
        self.run_id = uuid.uuid4().hex[:8]
        self.label = f"t={self.run_id}"
        self.containers: list[str] = []
        self.image_ids: set[str] = set()
        self.references: set[str] = set()

    def build(self, tag: str, *, blob: int = 100_000, base: str = BASE, tag_it: bool = True) -> str:
        """Build ``FROM base`` + ``LABEL t=<run>`` + a random ``blob``-byte layer; its ID."""
        dockerfile = (
            f"FROM {base}\nLABEL t={self.run_id}\n"
            f"RUN head -c {blob} /dev/urandom > /blob-{uuid.uuid4().hex[:6]}\n"
        )
        with tempfile.TemporaryDirectory() as ctx:
            Path(ctx, "Dockerfile").write_text(dockerfile)
            args = ["build", "-q", "--label", f"t={self.run_id}"]
            if tag_it:
                args += ["-t", tag]
                self.references.add(tag)
            result = self.docker(*args, ctx, check=True)
        # Podman's `build -q` prints the bare hex ID; the daemon's lists carry `sha256:`.
        image_id = full_image_id(result.stdout.strip().splitlines()[-1])
        self.image_ids.add(image_id)
        return image_id

    def container(self, image: str, *, running: bool = False) -> str:
        """A stopped (created) or running container named ``t-<uuid8>``."""
        name = f"t-{uuid.uuid4().hex[:8]}"
        if running:
            self.docker("run", "-d", "--name", name, image, "sleep", "600", check=True)
        else:
            self.docker("create", "--name", name, image, "true", check=True)
        self.containers.append(name)
        return name

    def ids_with_label(self) -> set[str]:
        """This run's images in the daemon's top-level list (what `docker images` shows)."""
        out = self.docker(
            "images", "--no-trunc", "-q", "--filter", f"label={self.label}", check=True
        )
        return set(out.stdout.split())

    def exists(self, ref: str) -> bool:
        """True when the daemon has an image for ``ref``."""
        return self.docker("image", "inspect", ref).returncode == 0

    def cleanup(self) -> None:
        """Remove this run's containers and images, whatever state the test left."""
        for name in self.containers:
            self.docker("rm", "-f", name)
        for ref in sorted(self.references):
            self.docker("rmi", ref)
        for image_id in self.ids_with_label() | self.image_ids:
            self.docker("rmi", image_id)
        # Build intermediates too: the containerd store keeps them as images of their own,
        # which turn into new <none> rows once their child is gone.
        for _ in range(3):
            args = ["images", "-aq", "--no-trunc", "--filter", f"label={self.label}"]
            left = self.docker(*args).stdout.split()
            if not left:
                break
            for image_id in left:
                self.docker("rmi", image_id)


@pytest.fixture
def workshop(docker_cli: DockerCli) -> Iterator[Workshop]:
    """Per-test images and containers, cleaned up afterwards."""
    shop = Workshop(docker_cli)
    yield shop
    shop.cleanup()


def listed(service: ImageService, ids: set[str]) -> list[Image]:
    """The service's view of some images, with disk usage merged in."""
    images = with_usage(service.list_images(), service.disk_usage())
    return [i for i in images if i.id in ids]


def rows_of(images: list[Image]) -> list[Any]:
    return [row for image in images for row in image_rows(image)]


# -- bulk delete and conflicts ----------------------------------------------------------------


def test_bulk_delete_goes_past_a_stopped_container_and_names_it(
    service: ImageService, workshop: Workshop, docker_cli: DockerCli
) -> None:
    refs = [f"test/cl-{workshop.run_id}-{n}:v1" for n in range(3)]
    ids = [workshop.build(ref) for ref in refs]
    holder = workshop.container(refs[2])

    plan = plan_delete(rows_of(listed(service, set(ids))))
    assert [item.action for item in plan.items] == ["delete"] * 3
    outcomes = [service.remove_reference(item) for item in plan.items]

    by_ref = {o.subject: o for o in outcomes}
    assert by_ref[refs[0]].status == by_ref[refs[1]].status == "deleted"
    failed = by_ref[refs[2]]
    assert failed.status == "failed"
    assert holder in failed.detail
    assert [h.name for h in failed.holders] == [holder]
    assert not failed.holders[0].running
    assert not workshop.exists(refs[0]) and not workshop.exists(refs[1])
    # Never forced: the container still has its image.
    image_of = docker_cli("inspect", "-f", "{{.Image}}", holder, check=True).stdout.strip()
    assert image_of == ids[2]
    assert workshop.exists(refs[2])


def test_containers_then_image_in_one_flow(
    service: ImageService, workshop: Workshop, docker_cli: DockerCli
) -> None:
    ref = f"test/cl-{workshop.run_id}:v1"
    image_id = workshop.build(ref)
    first, second = workshop.container(ref), workshop.container(ref)
    image = listed(service, {image_id})[0]
    conflict = service.remove_reference(plan_delete(rows_of([image])).items[0])
    # The daemon names one container; the way out must know both.
    assert conflict.status == "failed"
    assert {h.name for h in conflict.holders} == {first, second}
    assert first in conflict.detail and second in conflict.detail
    holders = conflict.holders
    outcomes = service.remove_with_containers(ref, holders)
    assert [o.status for o in outcomes] == ["removed", "removed", "deleted"]
    assert not workshop.exists(ref)
    for name in (first, second):
        assert docker_cli("inspect", name).returncode != 0


def test_running_container_is_refused_and_said_why(
    service: ImageService, workshop: Workshop
) -> None:
    ref = f"test/cl-{workshop.run_id}:v1"
    workshop.build(ref)
    name = workshop.container(ref, running=True)
    plan = plan_delete(rows_of(listed(service, {service.inspect_image(ref)["Id"]})))
    outcome = service.remove_reference(plan.items[0])
    assert outcome.status == "failed" and outcome.conflict
    assert [(h.name, h.running) for h in outcome.holders] == [(name, True)]
    running_id = outcome.holders[0].id
    with pytest.raises(Conflict, match="stop it first"):
        service.remove_container(running_id, name=name)
    assert workshop.exists(ref)


@pytest.mark.parametrize("engine_id", [ENGINE])
def test_children_conflict_is_explained(
    engine_id: str, service: ImageService, workshop: Workshop
) -> None:
    """overlay2: a parent with children is refused. Containerd store: no such conflict."""
    parent_ref = f"test/cl-{workshop.run_id}-base:v1"
    parent = workshop.build(parent_ref)
    child = f"test/cl-{workshop.run_id}-child:v1"
    workshop.build(child, base=parent_ref)
    if current_engine().containerd:
        # The store deletes a parent that has children; the child keeps every layer.
        service.remove_image(parent_ref)
        assert workshop.exists(child), engine_id
        return
    if current_engine().podman:
        # Podman has no "dependent child images" conflict: it deletes the parent, name and
        # image record (no <none> row stays, not even in `images -a`), and the child keeps
        # every layer. The outcome says so: deleted, nothing freed.
        image = listed(service, {parent})[0]
        outcome = service.remove_reference(plan_delete(image_rows(image)).items[0])
        assert outcome.status == "deleted" and "built on it" in outcome.detail, outcome.line()
        everything = workshop.docker("images", "-aq", "--no-trunc", check=True).stdout.split()
        assert parent not in everything and not workshop.exists(parent_ref), engine_id
        assert workshop.exists(child), engine_id
        return
    with pytest.raises(Conflict) as caught:
        service.remove_image(parent)  # by ID: the daemon refuses for the child
    assert caught.value.children
    assert child in service.child_images(parent)


def test_containers_list_has_names_images_status_and_sizes(
    service: ImageService, workshop: Workshop
) -> None:
    ref = f"test/cl-{workshop.run_id}:v1"
    image_id = workshop.build(ref)
    name = workshop.container(ref)
    mine = service.list_containers(image_id=image_id)
    assert [c.name for c in mine] == [name]
    container = mine[0]
    assert container.image == ref and not container.running and container.state == "created"
    # The containerd store counts the empty writable snapshot in 4 kB blocks.
    assert container.size_rw == (4096 if current_engine().containerd else 0), ENGINE
    assert container.size_root_fs and container.size_root_fs > 0
    service.remove_container(container.id, name=name)
    assert service.list_containers(image_id=image_id) == []


# -- freed space --------------------------------------------------------------------------------


def test_layers_shared_only_among_the_deleted_count_once(
    service: ImageService, workshop: Workshop
) -> None:
    base_ref = f"test/cl-{workshop.run_id}-base:v1"
    base = workshop.build(base_ref, blob=200_000)
    one = workshop.build(f"test/cl-{workshop.run_id}-a:v1", blob=50_000, base=base_ref)
    two = workshop.build(f"test/cl-{workshop.run_id}-b:v1", blob=50_000, base=base_ref)
    images = with_usage(service.list_images(), service.disk_usage())
    from tui.service.cleanup import freed_space

    all_three = [base, one, two]
    layers = service.layers_for(images, all_three)
    freed = freed_space(all_three, images, layers)
    # The containerd store keeps each layer twice: compressed blob and unpacked snapshot (here
    # random data, so about the same size), and the blobs' sizes are worked out (an estimate).
    copies = 2 if current_engine().containerd else 1
    assert freed.exact != current_engine().containerd, ENGINE
    # The private base layer (200 kB) counts once; df's unique sizes would leave it out.
    assert 300_000 * copies <= freed.bytes < 310_000 * copies + 40_000
    mine = {i.id: i for i in images if i.id in all_three}
    assert sum(mine[i].unique_size or 0 for i in all_three) < 110_000 * copies + 20_000
    # Keeping the base: only the two small layers come back.
    pair = freed_space([one, two], images, layers).bytes
    assert 100_000 * copies <= pair < 105_000 * copies + 20_000


@pytest.mark.parametrize("engine_id", [ENGINE])
def test_history_sizes_match_layers_of_the_seeded_wasted_image(
    engine_id: str, service: ImageService, docker_cli: DockerCli
) -> None:
    layers = service.image_layers(service.inspect_image("demo/wasted:latest")["Id"])
    assert layers.sizes is not None and len(layers.sizes) == len(layers.chain) == 5
    size = service.inspect_image("demo/wasted:latest")["Size"]
    if current_engine().containerd:
        # inspect's Size is the compressed content there; history's, the unpacked snapshots.
        listed = next(i for i in service.list_images() if "demo/wasted:latest" in i.tags)
        # The list's unpacked part is measured over the whole snapshot chain: a few blocks
        # away from the sum of the layers' own usage.
        unpacked = listed.size - size
        assert layers.content == size, ENGINE
        assert abs(sum(layers.sizes) - unpacked) <= 0.03 * unpacked, (layers.sizes, unpacked)
    elif current_engine().podman:
        # Podman's Size (containers/storage ImageSize) adds the image's "big data" to its
        # layers: config, manifest (stored twice: by digest and as "manifest"), signatures.
        # Those are the files of storage/overlay-images/<id>/, measured here, not assumed.
        root = docker_cli("info", "--format", "{{.DockerRootDir}}", check=True).stdout.strip()
        big_data = Path(root, "overlay-images", layers.image_id.removeprefix("sha256:"))
        assert big_data.is_dir(), big_data
        extra = sum(f.stat().st_size for f in big_data.iterdir() if f.is_file())
        assert sum(layers.sizes) + extra == size, (engine_id, layers.sizes, extra, size)
    else:
        assert sum(layers.sizes) == size, engine_id
    # When history and layers cannot be matched, the answer is "unknown", never a guess.
    ambiguous = [
        {"Size": 5, "CreatedBy": "RUN x"},
        {"Size": 0, "CreatedBy": "/bin/sh -c #(nop) ENV"},
    ]
    assert sizes_from_history(ambiguous, 3) is None


# -- the planned prune ------------------------------------------------------------------------


def test_prune_preview_equals_what_was_removed(
    service: ImageService, workshop: Workshop, docker_cli: DockerCli
) -> None:
    tagged = f"test/cl-{workshop.run_id}-tagged:v1"
    workshop.build(tagged)
    dangling = workshop.build(f"test/cl-{workshop.run_id}-dangle:v1")
    workshop.build(f"test/cl-{workshop.run_id}-dangle:v1")  # the first becomes dangling
    used_ref = f"test/cl-{workshop.run_id}-used:v1"
    used = workshop.build(used_ref)
    workshop.container(used_ref)

    only_mine = PruneOptions(mode="dangling", label=workshop.label)
    plan = service.plan_prune(only_mine)
    listed = {i.id for i in service.list_images()}
    # The containerd store's prune also takes the build intermediates the list hides.
    hidden = {i for i in plan.image_ids if i not in listed}
    assert bool(hidden) == current_engine().containerd, ENGINE
    assert tuple(i for i in plan.image_ids if i in listed) == (dangling,)

    before = workshop.ids_with_label()
    plan = service.plan_prune(PruneOptions(mode="unused", label=workshop.label))
    assert used not in plan.image_ids and dangling in plan.image_ids
    shown = [i for i in plan.image_ids if i in listed]
    assert len(shown) == 3  # tagged, the dangling one, the newer dangle build
    assert plan.freed.exact != current_engine().containerd and plan.freed.bytes >= 300_000
    outcomes = [service.remove_image_fully(c.image) for c in plan.candidates]
    assert all(o.status == "deleted" for o in outcomes), outcomes
    after = workshop.ids_with_label()
    assert before - after == set(shown)
    assert after == {used}


def test_prune_options_filter_age_and_label_without(
    service: ImageService, workshop: Workshop
) -> None:
    ref = f"test/cl-{workshop.run_id}-x:v1"
    image_id = workshop.build(ref)
    from datetime import timedelta

    mine = PruneOptions(mode="unused", label=workshop.label)
    assert image_id in service.plan_prune(mine).image_ids
    older = PruneOptions(mode="unused", label=workshop.label, older_than=timedelta(days=1))
    assert image_id not in service.plan_prune(older).image_ids
    filtered = PruneOptions(mode="unused", label=workshop.label, filter_text="nomatch-zz")
    assert service.plan_prune(filtered).image_ids == ()
    matching = PruneOptions(
        mode="unused", label=workshop.label, filter_text=f"cl-{workshop.run_id}"
    )
    planned = service.plan_prune(matching).image_ids
    # The containerd store: the image's build intermediates (hidden by the list) go with it.
    assert [i for i in planned if i == image_id] == [image_id]
    assert (len(planned) > 1) == current_engine().containerd, ENGINE
    without = PruneOptions(mode="unused", label=workshop.label, with_label=False)
    assert image_id not in service.plan_prune(without).image_ids


# -- tag and untag ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("Test/App:v1", "lowercase"),
        ("a:-bad", "starts with '-'"),
        ("a:" + "t" * 129, "129 characters"),
    ],
)
def test_tag_refuses_invalid_references_before_asking(
    service: ImageService, workshop: Workshop, target: str, why: str
) -> None:
    assert check_target(target)[0] is None and why in check_target(target)[1]
    with pytest.raises(InvalidReference, match=why):
        service.tag(BASE, target)


def test_tag_and_untag_valid_references(service: ImageService, workshop: Workshop) -> None:
    ref = f"test/cl-{workshop.run_id}:v1"
    image_id = workshop.build(ref)
    for target in (
        f"localhost:5000/team/app-{workshop.run_id}:v1",
        f"test/cl-{workshop.run_id}:V2",
    ):
        full, _ = check_target(target)
        assert full == target
        workshop.references.add(target)
        service.tag(ref, target)
        assert service.inspect_image(target)["Id"] == image_id
    # Untag one of three: the image stays.
    image = listed(service, {image_id})[0]
    row = next(r for r in image_rows(image) if r.reference == ref)
    item = plan_delete([row]).items[0]
    assert item.action == "untag"
    assert service.remove_reference(item).status == "untagged"
    assert not workshop.exists(ref) and workshop.exists(image_id)
    # Untag the last ones: the last deletes the image.
    image = listed(service, {image_id})[0]
    plan = plan_delete(rows_of([image]))
    assert [i.action for i in plan.items] == ["untag", "delete"]
    assert [service.remove_reference(i).status for i in plan.items] == ["untagged", "deleted"]
    with contextlib.suppress(Exception):
        assert not workshop.exists(image_id)
