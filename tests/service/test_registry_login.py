"""A `docker login` (or logout) made while imagedeck runs counts for the next pull and push.

The test starts a registry of its own that requires a password (Debian's ``docker-registry``
with an htpasswd file, bcrypt hash made with the ``bcrypt`` package paramiko brings), inside
the sandbox's network namespace on a free port; the sandbox daemon reaches it on loopback
(plain HTTP is allowed there). The service is connected first, with a config that already
holds credentials for another registry (docker-py then never rereads the file); the login is
made afterwards with the real docker CLI.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox, _unavailable
from tui.service import ImageService
from tui.service.errors import ImagedeckError

pytestmark = pytest.mark.daemon

USER = "deck"
PASSWORD = f"pw-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class AuthRegistry:
    """A password-protected registry: its ``host:port`` and the Docker config dir in use."""

    address: str
    config: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(address: str) -> bool:
    try:
        urllib.request.urlopen(f"http://{address}/v2/", timeout=2)
    except urllib.error.HTTPError as exc:
        return exc.code == 401  # up, and asking for a password
    except OSError:
        return False
    return False


@pytest.fixture
def auth_registry(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AuthRegistry]:
    """A registry that requires USER/PASSWORD, and a DOCKER_CONFIG with another registry's
    credentials in it (so docker-py has something cached and does not reread the file)."""
    import bcrypt  # paramiko's dependency: installed with docker-py's ssh extra

    binary = "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        _unavailable("Debian's docker-registry is not installed (scripts/sandbox installs it)")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    (tmp_path / "htpasswd").write_text(f"{USER}:{hashed}\n")
    address = f"127.0.0.1:{_free_port()}"
    (tmp_path / "registry.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n"
        f"http:\n  addr: {address}\n"
        f"auth:\n  htpasswd:\n    realm: imagedeck-test\n    path: {tmp_path / 'htpasswd'}\n"
    )
    log = (tmp_path / "registry.log").open("w")
    process = subprocess.Popen(
        [binary, "serve", str(tmp_path / "registry.yml")], stdout=log, stderr=log
    )
    config = tmp_path / "docker-config"
    config.mkdir()
    other = base64.b64encode(b"someone:else").decode()
    (config / "config.json").write_text(json.dumps({"auths": {"other.invalid": {"auth": other}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    try:
        for _ in range(100):
            if _answers(address) or process.poll() is not None:
                break
            time.sleep(0.1)
        if not _answers(address):
            pytest.fail(f"the registry did not start: {(tmp_path / 'registry.log').read_text()}")
        yield AuthRegistry(address, config)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def docker_login(registry: AuthRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    """The real docker CLI, with the test's DOCKER_CONFIG (login / logout)."""
    return subprocess.run(
        ["docker", *args],
        input=PASSWORD,
        env={**os.environ, "DOCKER_CONFIG": str(registry.config)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def push(service: ImageService, reference: str) -> None:
    for _ in service.push(reference):
        pass


def pull(service: ImageService, reference: str) -> None:
    for _ in service.pull(reference):
        pass


def tags_in_registry(registry: AuthRegistry, repo: str) -> list[str]:
    """The registry's tags for ``repo``, asked with the password (not through imagedeck)."""
    request = urllib.request.Request(f"http://{registry.address}/v2/{repo}/tags/list")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return list(json.load(response).get("tags") or [])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise


def test_login_and_logout_while_running_count_at_once(
    sandbox: Sandbox, auth_registry: AuthRegistry, docker_cli: DockerCli
) -> None:
    repo = f"test/login-{uuid.uuid4().hex[:8]}"
    reference = f"{auth_registry.address}/{repo}:v1"
    docker_cli("tag", BASE_IMAGE, reference, check=True)
    service = ImageService.connect(sandbox.docker_host)
    try:
        # Not logged in yet: the registry refuses, and says nothing secret.
        with pytest.raises(ImagedeckError) as refused:
            push(service, reference)
        assert PASSWORD not in str(refused.value)
        assert tags_in_registry(auth_registry, repo) == []

        # `docker login` while the service lives: the very next push uses it.
        login = docker_login(
            auth_registry, "login", auth_registry.address, "-u", USER, "--password-stdin"
        )
        assert login.returncode == 0, login.stderr
        push(service, reference)
        assert tags_in_registry(auth_registry, repo) == ["v1"]

        # And the next pull.
        docker_cli("rmi", reference, check=True)
        pull(service, reference)
        assert docker_cli("image", "inspect", reference).returncode == 0

        # `docker logout`: the next pull goes without credentials again, and is refused.
        docker_cli("rmi", reference, check=True)
        logout = docker_login(auth_registry, "logout", auth_registry.address)
        assert logout.returncode == 0, logout.stderr
        with pytest.raises(ImagedeckError) as again:
            pull(service, reference)
        assert PASSWORD not in str(again.value)
        assert docker_cli("image", "inspect", reference).returncode != 0
    finally:
        service.close()
        docker_cli("rmi", reference)
