"""The bench's tag store writer (benchmarks/tagstore.py): format, atomic write, refusals.

That the daemon reads what it writes is tests/service/test_bench_tagstore_daemon.py.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from benchmarks.tagstore import BenchSandbox, add_tags, drop_repositories, read_store, write_store

ID_A = "sha256:" + "a" * 64
ID_B = "sha256:" + "b" * 64


def test_add_tags_keys_repositories_and_references_as_the_daemon_does() -> None:
    existing = {
        "Repositories": {"busybox": {"busybox:latest": ID_B, "busybox@sha256:" + "c" * 64: ID_B}}
    }
    store = add_tags(
        existing, {"bench/app00:1": ID_A, "bench/app00:2": ID_A, "bench/app01:1": ID_B}
    )
    assert store == {
        "Repositories": {
            "busybox": existing["Repositories"]["busybox"],
            "bench/app00": {"bench/app00:1": ID_A, "bench/app00:2": ID_A},
            "bench/app01": {"bench/app01:1": ID_B},
        }
    }
    # The input is left as it was.
    assert set(existing["Repositories"]) == {"busybox"}


def test_add_tags_repoints_a_tag_like_docker_tag() -> None:
    store = add_tags(
        {"Repositories": {"bench/app00": {"bench/app00:1": ID_A}}}, {"bench/app00:1": ID_B}
    )
    assert store["Repositories"]["bench/app00"] == {"bench/app00:1": ID_B}


@pytest.mark.parametrize(
    ("reference", "image_id"),
    [
        ("Bench/app:1", ID_A),  # upper case repository
        ("bench/app", ID_A),  # no tag
        ("bench/app:1", "a" * 64),  # not a full ID
        ("bench/app:1", "sha256:" + "A" * 64),
        ('bench/app:1"', ID_A),
    ],
)
def test_add_tags_refuses_what_the_daemon_would_not_have_written(
    reference: str, image_id: str
) -> None:
    with pytest.raises(ValueError):
        add_tags({"Repositories": {}}, {reference: image_id})


def test_drop_repositories_keeps_the_others() -> None:
    store = {
        "Repositories": {"bench/app00": {"bench/app00:1": ID_A}, "busybox": {"busybox:1": ID_B}}
    }
    assert drop_repositories(store, "bench/") == {"Repositories": {"busybox": {"busybox:1": ID_B}}}


def test_write_store_replaces_the_file_whole_with_the_daemons_mode(tmp_path: Path) -> None:
    path = tmp_path / "repositories.json"
    path.write_text('{"Repositories":{}}')
    store = add_tags({}, {"bench/app00:1": ID_A})
    write_store(path, store)
    assert json.loads(path.read_text()) == store
    assert read_store(path) == store
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["repositories.json"]  # no temporary left


def test_read_store_of_a_daemon_that_never_wrote_one(tmp_path: Path) -> None:
    assert read_store(tmp_path / "repositories.json") == {"Repositories": {}}


@pytest.mark.parametrize(
    "env",
    [
        {},  # not in a sandbox
        {"IMAGEDECK_SANDBOX_NAME": "imagedeck", "IMAGEDECK_SANDBOX_STATE": "/nonexistent"},
        {"IMAGEDECK_SANDBOX_NAME": "imagedeck-d26", "IMAGEDECK_SANDBOX_STATE": "/nonexistent"},
        {"IMAGEDECK_SANDBOX_NAME": "fleet", "IMAGEDECK_SANDBOX_STATE": "/nonexistent"},
        {
            "IMAGEDECK_SANDBOX_NAME": "bench50k",
            "IMAGEDECK_SANDBOX_STATE": "/nonexistent",
            "IMAGEDECK_SANDBOX_ENGINE": "docker-26",
            "IMAGEDECK_SANDBOX_STORE": "containerd",
        },
        {
            "IMAGEDECK_SANDBOX_NAME": "bench50k",
            "IMAGEDECK_SANDBOX_STATE": "/nonexistent",
            "IMAGEDECK_SANDBOX_ENGINE": "podman",
            "IMAGEDECK_SANDBOX_STORE": "overlay",
        },
    ],
)
def test_only_a_classic_bench_sandbox_of_its_own(env: dict[str, str]) -> None:
    with pytest.raises(RuntimeError):
        BenchSandbox(env)


def test_a_bench_sandbox_finds_its_tag_store(tmp_path: Path) -> None:
    (tmp_path / "storage-driver").write_text("overlay2\n")
    sandbox = BenchSandbox(
        {"IMAGEDECK_SANDBOX_NAME": "bench50k", "IMAGEDECK_SANDBOX_STATE": str(tmp_path)}
    )
    assert sandbox.store_path == tmp_path / "data" / "image" / "overlay2" / "repositories.json"
