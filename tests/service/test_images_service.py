"""The image service against the real sandbox daemon, compared with the Docker CLI."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from tests.conftest import BASE_IMAGE, DockerCli
from tui.service import ImageService
from tui.service.errors import Conflict, DaemonUnreachable, NotFound
from tui.service.images import summarize, with_usage
from tui.service.models import DaemonEvent, image_rows

pytestmark = pytest.mark.daemon


def cli_rows(docker_cli: DockerCli) -> set[tuple[str, str, str]]:
    out = docker_cli("images", "--no-trunc", "--format", "{{json .}}", check=True).stdout
    rows = set()
    for line in out.splitlines():
        item = json.loads(line)
        rows.add((item["Repository"], item["Tag"], item["ID"]))
    return rows


def test_list_matches_docker_images(service: ImageService, docker_cli: DockerCli) -> None:
    ours = {
        (row.repository, row.tag, row.image.id)
        for image in service.list_images()
        for row in image_rows(image)
    }
    # Other tests run concurrently on the same daemon: compare the seeded repositories only.
    seeded = ("demo/", "imagedeck/", "127.0.0.1:5000/demo/", "<none>")
    theirs = {r for r in cli_rows(docker_cli) if r[0].startswith(seeded)}
    ours = {r for r in ours if r[0].startswith(seeded)}
    assert {r for r in ours if r[0] != "<none>"} == {r for r in theirs if r[0] != "<none>"}
    for name in ("demo/app", "demo/alias", "demo/multi", "demo/wasted"):
        assert any(r[0] == name for r in ours)


def test_dangling_is_the_daemons_filter(service: ImageService, docker_cli: DockerCli) -> None:
    expected = set(
        docker_cli(
            "images", "-q", "--no-trunc", "--filter", "dangling=true", check=True
        ).stdout.split()
    )
    images = service.list_images()
    assert expected, "the sandbox seeds a dangling image"
    assert {i.id for i in images if i.dangling} == expected
    # Tagged images are never dangling.
    assert not any(i.dangling for i in images if i.tags)


def test_one_id_under_several_names(service: ImageService) -> None:
    images = {i.id: i for i in service.list_images()}
    multi = next(i for i in images.values() if "demo/multi:latest" in i.tags)
    assert {"demo/alias:one", "demo/alias:two", "demo/multi:latest"} <= set(multi.tags)
    rows = image_rows(multi)
    assert len(rows) == len(multi.tags)


def test_disk_usage_matches_system_df(service: ImageService, docker_cli: DockerCli) -> None:
    usage = service.disk_usage()
    out = docker_cli("system", "df", "-v", "--format", "{{json .}}", check=True).stdout
    df = json.loads(out)
    # By ID: Podman's df names no repository ("<none>") for any image, and lists one per tag.
    cli_images = {item["ID"].removeprefix("sha256:")[:12]: item for item in df["Images"]}
    images = with_usage(service.list_images(), usage)
    stopped = next(i for i in images if "demo/stopped:latest" in i.tags)
    running = next(i for i in images if "demo/running:latest" in i.tags)
    assert stopped.containers == 1 and running.containers == 1
    assert cli_images[stopped.id.removeprefix("sha256:")[:12]]["Containers"] == "1"
    wasted = next(i for i in images if "demo/wasted:latest" in i.tags)
    assert wasted.shared_size is not None and wasted.unique_size is not None
    assert wasted.unique_size == wasted.size - wasted.shared_size
    assert wasted.unique_size > 1_000_000  # its own layers: more than a megabyte of blobs
    summary = summarize(images, usage)
    # Layers are stored once: the logical sum overstates what the disk holds.
    assert summary.disk_size is not None and summary.logical_size > summary.disk_size
    assert summary.reclaimable is not None and 0 < summary.reclaimable <= summary.disk_size


def test_events_report_a_tag_made_with_the_cli(
    service: ImageService, docker_cli: DockerCli
) -> None:
    target = f"test/events-{uuid.uuid4().hex[:8]}:v1"
    stream = service.open_events()
    seen: list[DaemonEvent] = []
    done = threading.Event()

    def read() -> None:
        try:
            for event in stream:
                seen.append(event)
                if event.type == "image" and event.action == "tag":
                    done.set()
                    return
        except Exception:  # closing the stream ends the loop
            done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        docker_cli("tag", BASE_IMAGE, target, check=True)
        assert done.wait(10), "no tag event within 10 s"
        tags = [e for e in seen if e.action == "tag"]
        assert tags and dict(tags[0].attributes).get("name") == target
    finally:
        stream.close()
        docker_cli("rmi", target)
    reader.join(5)
    assert not reader.is_alive(), "close() must end the blocked read"


def test_tag_checks_the_grammar_before_the_daemon(service: ImageService) -> None:
    with pytest.raises(ValueError, match="lowercase"):
        service.tag(BASE_IMAGE, "Test/Upper:1")


def test_tag_and_remove(service: ImageService, docker_cli: DockerCli) -> None:
    target = f"test/svc-{uuid.uuid4().hex[:8]}:v1"
    service.tag(BASE_IMAGE, target)
    assert docker_cli("image", "inspect", target).returncode == 0
    report = service.remove_image(target)
    assert ("Untagged", target) in report
    assert docker_cli("image", "inspect", target).returncode != 0
    with pytest.raises(NotFound):
        service.remove_image(target)


def test_conflict_names_the_stopped_container(service: ImageService) -> None:
    with pytest.raises(Conflict) as caught:
        service.remove_image("demo/stopped:latest")
    conflict = caught.value
    assert [h.name for h in conflict.holders] == ["ideck-stopped"]
    assert not conflict.holders[0].running
    assert "ideck-stopped" in str(conflict)
    assert "container" in conflict.daemon_message


def test_unreachable_daemon_says_which_host_and_why(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dead = f"unix://{tmp_path}/nothing.sock"
    with pytest.raises(DaemonUnreachable) as caught:
        ImageService.connect(dead, timeout=3).list_images()
    assert dead in str(caught.value)
    assert "socket does not exist" in str(caught.value)


def test_save_stream_is_a_tar(service: ImageService) -> None:
    stream = service.save_stream("demo/app:1.0")
    head = stream.read(1024)
    stream.close()
    assert len(head) == 1024
    with pytest.raises(NotFound):
        service.save_stream("demo/nothere:1")
