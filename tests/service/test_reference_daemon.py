"""The reference grammar agrees with the engine: what `docker tag` and the daemon refuse, parse
refuses too, and what they take, parse takes."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import BASE_IMAGE, DockerCli
from tui.service.reference import is_valid

pytestmark = pytest.mark.daemon

HEX64 = "a" * 64


@pytest.mark.parametrize(
    ("name", "engine_takes_it"),
    [
        (HEX64, False),  # "cannot specify 64-byte hexadecimal strings"
        (f"{HEX64}:v{{n}}", True),
        (f"test/{HEX64}-{{n}}", True),
        ("test/Upper{n}", False),
        ("test/ok-{n}:1.0", True),
    ],
)
def test_names_the_engine_refuses_are_refused(
    docker_cli: DockerCli, name: str, engine_takes_it: bool
) -> None:
    reference = name.format(n=uuid.uuid4().hex[:6])
    done = docker_cli("tag", BASE_IMAGE, reference)
    try:
        assert (done.returncode == 0) is engine_takes_it, done.stderr
        assert is_valid(reference) is engine_takes_it
    finally:
        if done.returncode == 0:
            docker_cli("rmi", reference)


@pytest.mark.parametrize(
    ("digest", "engine_says"),
    [
        ("sha256:" + "b" * 40, "invalid checksum digest length"),
        ("sha512:" + "b" * 64, "invalid checksum digest length"),
        ("md5:" + "b" * 32, "unsupported digest algorithm"),
        ("sha256:" + "B" * 64, "invalid checksum digest format"),
    ],
)
def test_digests_the_engine_refuses_are_refused(
    docker_cli: DockerCli, digest: str, engine_says: str
) -> None:
    reference = f"busybox@{digest}"
    done = docker_cli("image", "inspect", reference)
    assert done.returncode != 0
    assert engine_says in done.stderr
    assert not is_valid(reference)


@pytest.mark.parametrize("digest", ["sha256:" + "b" * 64, "sha512:" + "b" * 128])
def test_well_formed_digests_are_only_missing(docker_cli: DockerCli, digest: str) -> None:
    done = docker_cli("image", "inspect", f"busybox@{digest}")
    assert done.returncode != 0
    assert "No such image" in done.stderr and "digest" not in done.stderr.split(":")[-1]
    assert is_valid(f"busybox@{digest}")
