"""Which engine a daemon is, from its /version and /info answers (recorded from the sandboxes).

The same facts are checked against the live daemon of each engine in
tests/service/test_engines.py; these pin the parsing of each engine's shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from tui.service.core import container_ids_in
from tui.service.engine import (
    engine_from,
    event_in_dockers_words,
    familiar,
    full_image_id,
    normalize_df,
)

DEBIAN_PLATFORM = {"Name": ""}


def docker_version(version: str) -> dict[str, Any]:
    """A Debian dockerd's /version (Components as 20.10.24 and 26.1.5 send them)."""
    return {
        "Platform": DEBIAN_PLATFORM,
        "Version": version,
        "Components": [
            {"Name": "Engine", "Version": version},
            {"Name": "containerd", "Version": "1.7.24~ds1"},
            {"Name": "runc", "Version": "1.1.5+ds1"},
        ],
    }


OVERLAY2_INFO = {
    "Driver": "overlay2",
    "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
}
CONTAINERD_INFO = {
    "Driver": "overlayfs",
    "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
}
PODMAN_VERSION = {
    "Platform": {"Name": "linux/amd64/debian-12"},
    "Version": "4.3.1",
    "Components": [
        {"Name": "Podman Engine", "Version": "4.3.1"},
        {"Name": "Conmon", "Version": "conmon version 2.1.6, commit: unknown"},
        {"Name": "OCI Runtime (runc)", "Version": "runc version 1.1.5+ds1\ncommit: x"},
    ],
}
PODMAN_INFO = {"Driver": "overlay", "DriverStatus": [["Backing Filesystem", "extfs"]]}


@pytest.mark.parametrize(
    ("version", "info", "label"),
    [
        (docker_version("20.10.24+dfsg1"), OVERLAY2_INFO, "Docker 20.10.24, overlay2"),
        (docker_version("26.1.5+dfsg1"), OVERLAY2_INFO, "Docker 26.1.5, overlay2"),
        (docker_version("26.1.5+dfsg1"), CONTAINERD_INFO, "Docker 26.1.5, containerd store"),
        (PODMAN_VERSION, PODMAN_INFO, "Podman 4.3.1"),
        (
            {"Platform": {"Name": "Docker Engine - Community"}, "Version": "29.0.1"},
            {"Driver": "vfs", "DriverStatus": []},
            "Docker 29.0.1, vfs",
        ),
    ],
    ids=[
        "docker-20.10-overlay2",
        "docker-26-overlay2",
        "docker-26-containerd",
        "podman",
        "docker-ce-vfs",
    ],
)
def test_engine_label(version: dict[str, Any], info: dict[str, Any], label: str) -> None:
    assert engine_from(version, info).label == label


def test_engine_kind_flags() -> None:
    podman = engine_from(PODMAN_VERSION, PODMAN_INFO)
    assert podman.podman and not podman.containerd
    containerd = engine_from(docker_version("26.1.5"), CONTAINERD_INFO)
    assert containerd.containerd and not containerd.podman
    assert containerd.product == "Docker" and containerd.version == "26.1.5"


def test_engine_without_info_names_version_only() -> None:
    assert engine_from(docker_version("26.1.5+dfsg1"), None).label == "Docker 26.1.5"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("docker.io/demo/app:1.0", "demo/app:1.0"),
        ("docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/library/team/app:1", "library/team/app:1"),
        ("docker.io/demo/app@sha256:" + "a" * 64, "demo/app@sha256:" + "a" * 64),
        ("127.0.0.1:5000/demo/app:1.0", "127.0.0.1:5000/demo/app:1.0"),
        ("localhost/app:1", "localhost/app:1"),
        ("demo/app:1.0", "demo/app:1.0"),
        ("docker.io.example.com/app:1", "docker.io.example.com/app:1"),
    ],
)
def test_familiar_names_as_the_docker_cli_shows_them(name: str, shown: str) -> None:
    assert familiar(name) == shown


def test_podman_df_ids_get_the_sha256_prefix() -> None:
    bare = "fd6bf1389bbf77de2c7e4f1774c885b7eff5b8654ff8b6b0a3ae40b16dd82ed3"
    df = {"LayersSize": 0, "Images": [{"Id": bare, "Size": 5}, {"Id": f"sha256:{bare}"}]}
    fixed = normalize_df(df)
    assert [item["Id"] for item in fixed["Images"]] == [f"sha256:{bare}"] * 2
    assert fixed["Images"][0]["Size"] == 5 and fixed["LayersSize"] == 0
    assert df["Images"][0]["Id"] == bare  # the daemon's answer itself is left alone
    assert full_image_id("") == ""


def test_podman_conflict_names_the_container() -> None:
    cid = "2334f8795089b2c1f1426ae048a891429b600aea923b9dfbfcc7999ecd0423c5"
    text = (
        f"image demo/stopped:latest is in use: image used by {cid}: image is in use by a "
        "container: consider listing external containers and force-removing image"
    )
    assert container_ids_in(text) == [cid]
    docker = "conflict: unable to remove repository reference "
    docker += '"demo/stopped:latest" (must force) - container cc45dd0ce6f1 is using its '
    docker += "referenced image 3f2a"
    assert container_ids_in(docker) == ["cc45dd0ce6f1"]


def test_only_bare_hex_ids_get_the_prefix() -> None:
    bare = "ab" * 32
    assert full_image_id(bare) == f"sha256:{bare}"
    assert full_image_id(f"sha256:{bare}") == f"sha256:{bare}"
    assert full_image_id("busybox") == "busybox"  # a pull event's actor is a reference
    assert full_image_id("busybox:latest") == "busybox:latest"


def test_podman_events_in_dockers_words() -> None:
    bare = "fd" * 32
    actor, attributes = event_in_dockers_words(
        "image", bare, {"name": "docker.io/test/events:v1", "podId": ""}
    )
    assert actor == f"sha256:{bare}"
    assert attributes == {"name": "test/events:v1", "podId": ""}
    actor, attributes = event_in_dockers_words(
        "container", "c0" * 32, {"image": "docker.io/demo/stopped:latest", "name": "web-1"}
    )
    assert actor == "c0" * 32  # container IDs have no algorithm prefix on any engine
    assert attributes == {"image": "demo/stopped:latest", "name": "web-1"}
