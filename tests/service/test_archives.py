"""Archives against the real sandbox daemon: save, load, import, and copy to the peer daemon.

Every figure is checked with the docker CLI (image IDs from `docker image inspect`, the
daemon's image list from `docker images`), not with imagedeck's own answers.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.tarfiles import tar_bytes
from tui.service import ImageService
from tui.service.archive_check import ArchiveProgress
from tui.service.errors import ArchiveError, Cancelled, FileExists, InvalidReference


def build_image(docker_host: str, reference: str) -> str:
    """Build ``reference`` FROM the base image with one unique file; its ID (CLI)."""
    dockerfile = f"FROM {BASE_IMAGE}\nRUN echo {uuid.uuid4().hex} > /marker\n"
    subprocess.run(
        ["docker", "-H", docker_host, "build", "-q", "-t", reference, "-"],
        input=dockerfile,
        text=True,
        capture_output=True,
        check=True,
        timeout=300,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    return image_id(docker_host, reference)


def image_id(docker_host: str, reference: str) -> str:
    """The ID the docker CLI gives ``reference`` ("" when absent)."""
    found = subprocess.run(
        ["docker", "-H", docker_host, "image", "inspect", "-f", "{{.Id}}", reference],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return found.stdout.strip() if found.returncode == 0 else ""


def all_images(docker_cli: DockerCli) -> list[str]:
    """Every image and tag the daemon has (`docker images -a`), sorted."""
    listed = docker_cli(
        "images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}", check=True
    )
    return sorted(listed.stdout.splitlines())


@pytest.fixture
def fresh(sandbox: Sandbox, docker_cli: DockerCli) -> Iterator[list[str]]:
    """Two new images built FROM the base (so they share its layer); removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    references = [f"test/archive-{tag}-a:v1", f"test/archive-{tag}-b:v1"]
    for reference in references:
        build_image(sandbox.docker_host, reference)
    yield references
    docker_cli("rmi", *references)


@pytest.fixture
def saved_and_removed(
    service: ImageService, sandbox: Sandbox, docker_cli: DockerCli, tmp_path: Path
) -> Iterator[tuple[Path, str, str]]:
    """An archive of a new image that was then removed: (path, reference, its ID)."""
    reference = f"test/archive-{uuid.uuid4().hex[:8]}:v1"
    built = build_image(sandbox.docker_host, reference)
    path = tmp_path / "one.tar"
    service.save_images([reference], path)
    docker_cli("rmi", reference, check=True)
    assert image_id(sandbox.docker_host, reference) == ""
    yield path, reference, built
    docker_cli("rmi", reference)


def test_save_rmi_load_round_trip_keeps_ids(
    service: ImageService, sandbox: Sandbox, docker_cli: DockerCli, fresh: list[str], tmp_path: Path
) -> None:
    """Two images into one archive (written 0600), removed, loaded back: same IDs, each
    reported loaded; the shared base layer is stored once."""
    before = {ref: image_id(sandbox.docker_host, ref) for ref in fresh}
    seen: list[ArchiveProgress] = []
    path = tmp_path / "two.tar"
    result = service.save_images(fresh, path, progress=seen.append)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result.size == path.stat().st_size
    assert any(p.phase == "saving" and p.done > 0 for p in seen)
    assert sorted(n for image in result.contents.images for n in image.names) == sorted(fresh)
    with tarfile.open(path) as tar:
        manifest = tar.extractfile("manifest.json")
        assert manifest is not None
        layers = [layer for entry in __import__("json").load(manifest) for layer in entry["Layers"]]
    # base layer + one own layer each, the base named by both entries but stored once
    assert len(layers) == 4 and len(set(layers)) == 3

    docker_cli("rmi", *fresh, check=True)
    assert all(image_id(sandbox.docker_host, ref) == "" for ref in fresh)
    loaded = service.load_archive(path)
    assert loaded.ok
    assert {image.names[0]: image.image_id for image in loaded.images} == before
    assert {ref: image_id(sandbox.docker_host, ref) for ref in fresh} == before


def cut(source: Path, target: Path, keep: int) -> Path:
    target.write_bytes(source.read_bytes()[:keep])
    return target


def without_largest_blob(source: Path, target: Path) -> Path:
    """``source`` rewritten without its largest regular file (a layer the manifest names)."""
    with tarfile.open(source) as tar:
        members = tar.getmembers()
        largest = max((m for m in members if m.isreg()), key=lambda m: m.size)
        with tarfile.open(target, "w") as out:
            for member in members:
                if member.name != largest.name:
                    out.addfile(member, tar.extractfile(member) if member.isreg() else None)
    return target


@pytest.mark.parametrize("damage", ["truncated", "not-a-tar", "missing-blob", "empty"])
def test_a_bad_archive_is_refused_and_loads_nothing(
    service: ImageService,
    sandbox: Sandbox,
    docker_cli: DockerCli,
    saved_and_removed: tuple[Path, str, str],
    tmp_path: Path,
    damage: str,
) -> None:
    """A cut, foreign, incomplete or empty archive: a clear reason, the daemon's images as
    they were (the image in it not loaded)."""
    good, reference, _ = saved_and_removed
    if damage == "truncated":
        bad = cut(good, tmp_path / "bad.tar", good.stat().st_size * 2 // 3)
        reason = "cut short"
    elif damage == "not-a-tar":
        bad = tmp_path / "bad.tar"
        bad.write_bytes(b"this is not an archive\n" * 400)
        reason = "not a tar archive"
    elif damage == "missing-blob":
        bad = without_largest_blob(good, tmp_path / "bad.tar")
        reason = "not in the archive"
    else:
        bad = tmp_path / "bad.tar"
        bad.write_bytes(b"")
        reason = "empty"
    before = all_images(docker_cli)
    with pytest.raises(ArchiveError, match=reason):
        service.load_archive(bad)
    assert all_images(docker_cli) == before
    assert image_id(sandbox.docker_host, reference) == ""


def test_cancelled_load_loads_nothing(
    service: ImageService,
    sandbox: Sandbox,
    docker_cli: DockerCli,
    saved_and_removed: tuple[Path, str, str],
) -> None:
    """Cancel while the archive is being sent: Cancelled, and the daemon has nothing new."""
    path, reference, _ = saved_and_removed
    cancel = threading.Event()

    def progress(step: ArchiveProgress) -> None:
        if step.phase == "sending" and step.done > 0:
            cancel.set()

    before = all_images(docker_cli)
    with pytest.raises(Cancelled):
        service.load_archive(path, cancel=cancel, progress=progress)
    assert all_images(docker_cli) == before
    assert image_id(sandbox.docker_host, reference) == ""


def test_load_reports_each_image_with_the_daemons_id(
    service: ImageService, sandbox: Sandbox, saved_and_removed: tuple[Path, str, str]
) -> None:
    path, reference, built = saved_and_removed
    result = service.load_archive(path)
    assert [(i.names, i.image_id, i.loaded) for i in result.images] == [((reference,), built, True)]
    assert image_id(sandbox.docker_host, reference) == built


def test_an_existing_file_is_not_overwritten(
    service: ImageService, scratch_image: str, tmp_path: Path
) -> None:
    """Without overwrite: FileExists, the file (or the link and its target) untouched; with
    it, replaced by the archive, 0600."""
    path = tmp_path / "exists.tar"
    path.write_text("keep me")
    path.chmod(0o644)
    with pytest.raises(FileExists):
        service.save_images([scratch_image], path)
    assert path.read_text() == "keep me"

    target = tmp_path / "target.txt"
    target.write_text("not mine to write")
    link = tmp_path / "link.tar"
    link.symlink_to(target)
    with pytest.raises(FileExists):
        service.save_images([scratch_image], link)
    assert target.read_text() == "not mine to write" and link.is_symlink()

    service.save_images([scratch_image], path, overwrite=True)
    assert tarfile.is_tarfile(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # overwrite replaces the link itself, never the file it points to
    service.save_images([scratch_image], link, overwrite=True)
    assert not link.is_symlink() and target.read_text() == "not mine to write"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.tar", "link.tar", "target.txt"]


def test_a_cancelled_save_leaves_no_file(
    service: ImageService, scratch_image: str, tmp_path: Path
) -> None:
    cancel = threading.Event()

    def progress(step: ArchiveProgress) -> None:
        if step.done > 0:
            cancel.set()

    with pytest.raises(Cancelled):
        service.save_images([scratch_image], tmp_path / "x.tar", cancel=cancel, progress=progress)
    assert list(tmp_path.iterdir()) == []


def rootfs_tar(path: Path) -> Path:
    path.write_bytes(
        tar_bytes([("hello.txt", b"hello from a rootfs\n"), ("etc/os-release", b"ID=x\n")])
    )
    return path


def test_import_a_rootfs_under_a_checked_reference(
    service: ImageService, sandbox: Sandbox, docker_cli: DockerCli, tmp_path: Path
) -> None:
    reference = f"test/import-{uuid.uuid4().hex[:8]}:v1"
    tarball = rootfs_tar(tmp_path / "rootfs.tar")
    try:
        result = service.import_rootfs(tarball, reference, message="from a test")
        assert result.reference == reference
        assert result.image_id == image_id(sandbox.docker_host, reference)
        layers = docker_cli(
            "image", "inspect", "-f", "{{len .RootFS.Layers}} {{.Comment}}", reference, check=True
        )
        assert layers.stdout.strip() == "1 from a test"
    finally:
        docker_cli("rmi", reference)


def test_import_refuses_a_bad_reference_or_a_cut_tarball(
    service: ImageService, docker_cli: DockerCli, tmp_path: Path
) -> None:
    tarball = rootfs_tar(tmp_path / "rootfs.tar")
    before = all_images(docker_cli)
    with pytest.raises(InvalidReference):
        service.import_rootfs(tarball, "Test/Upper:v1")
    cut_tarball = cut(tarball, tmp_path / "cut.tar", 700)
    with pytest.raises(ArchiveError, match="cut short"):
        service.import_rootfs(cut_tarball, f"test/import-{uuid.uuid4().hex[:8]}:v1")
    assert all_images(docker_cli) == before


@pytest.fixture
def to_copy(
    sandbox: Sandbox, docker_cli: DockerCli, peer_cli: DockerCli
) -> Iterator[tuple[str, str]]:
    """A new image to copy to the peer: its reference and ID; removed from both daemons after."""
    reference = f"test/copy-{uuid.uuid4().hex[:8]}:v1"
    built = build_image(sandbox.docker_host, reference)
    yield reference, built
    docker_cli("rmi", reference)
    peer_cli("rmi", reference)


def test_copy_to_the_peer_gives_the_same_id(
    service: ImageService, peer_host: str, to_copy: tuple[str, str]
) -> None:
    """A save streamed into the peer's load: the peer has the image under the same ID."""
    reference, built = to_copy
    assert image_id(peer_host, reference) == ""
    seen: list[ArchiveProgress] = []
    result = service.copy_images([reference], host=peer_host, progress=seen.append)
    assert result.ok
    assert [(i.names, i.image_id) for i in result.images] == [((reference,), built)]
    assert image_id(peer_host, reference) == built
    assert any(p.phase == "copying" and p.done > 0 for p in seen)


def test_a_cancelled_copy_loads_nothing_on_the_peer(
    service: ImageService, peer_host: str, peer_cli: DockerCli, to_copy: tuple[str, str]
) -> None:
    """Cancel once the first bytes moved: Cancelled, and the peer's images are as they were."""
    reference, _ = to_copy
    cancel = threading.Event()

    def progress(step: ArchiveProgress) -> None:
        if step.phase == "copying" and step.done > 0:
            cancel.set()

    before = all_images(peer_cli)
    with pytest.raises(Cancelled):
        service.copy_images([reference], host=peer_host, cancel=cancel, progress=progress)
    assert all_images(peer_cli) == before
    assert image_id(peer_host, reference) == ""


def test_a_gzip_compressed_archive_loads(
    service: ImageService,
    sandbox: Sandbox,
    saved_and_removed: tuple[Path, str, str],
    tmp_path: Path,
) -> None:
    """`docker save | gzip` is checked through the compression and loads with the same ID."""
    import gzip

    path, reference, built = saved_and_removed
    compressed = tmp_path / "one.tar.gz"
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    result = service.load_archive(compressed)
    assert result.ok and result.images[0].image_id == built
    assert image_id(sandbox.docker_host, reference) == built
