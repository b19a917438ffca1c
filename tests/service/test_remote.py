"""Remote daemons against real endpoints: tcp+TLS and ssh:// in front of the sandbox daemon.

``scripts/sandbox start`` runs ``scripts/remote_endpoints.py``: a mutual-TLS listener on
``tcp://127.0.0.1:2376`` and an OpenSSH server on ``127.0.0.1:2222`` inside the sandbox's
network namespace, described in ``$IMAGEDECK_SANDBOX_STATE/remote/endpoints.json``. Under
``CI=true`` missing endpoints fail the test, they never skip it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Sandbox, _unavailable
from tui.service import ImageService
from tui.service.connection import (
    list_contexts,
    open_api,
    resolve_endpoint,
    scrub_url,
)
from tui.service.errors import DaemonUnreachable

pytestmark = pytest.mark.daemon


@dataclass(frozen=True)
class Remote:
    """The remote endpoints of the sandbox daemon and their key material."""

    tls_host: str
    client_certs: Path
    """A DOCKER_CERT_PATH directory (ca.pem, cert.pem, key.pem) the daemon accepts."""
    wrong_ca: Path
    wrong_client: Path
    ca: Path
    ssh_host: str
    identity: Path
    known_hosts: Path


@pytest.fixture(scope="session")
def remote(sandbox: Sandbox) -> Remote:
    """The endpoints ``scripts/remote_endpoints.py`` set up."""
    state = os.environ.get("IMAGEDECK_SANDBOX_STATE", "")
    path = Path(state) / "remote" / "endpoints.json"
    if not state or not path.is_file():
        _unavailable(f"the sandbox's remote endpoints are not set up ({path} is missing)")
    data = json.loads(path.read_text())
    return Remote(
        tls_host=data["tls"]["host"],
        client_certs=Path(data["tls"]["client"]),
        wrong_ca=Path(data["tls"]["wrong_ca"]),
        wrong_client=Path(data["tls"]["wrong_client"]),
        ca=Path(data["tls"]["ca"]),
        ssh_host=data["ssh"]["host"],
        identity=Path(data["ssh"]["identity"]),
        known_hosts=Path(data["ssh"]["known_hosts"]),
    )


def tls_env(cert_path: Path, host: str) -> dict[str, str]:
    """The environment a user sets for a TLS daemon."""
    return {"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_path)}


def cert_dir(tmp_path: Path, ca: Path, cert: Path, key: Path) -> Path:
    """A DOCKER_CERT_PATH directory mixing files from different places."""
    target = tmp_path / "certs"
    target.mkdir()
    shutil.copy(ca, target / "ca.pem")
    shutil.copy(cert, target / "cert.pem")
    shutil.copy(key, target / "key.pem")
    return target


def connect(**kwargs: object) -> ImageService:
    """Resolve and connect like ImageService.connect, with an explicit environment."""
    endpoint = resolve_endpoint(**kwargs)  # type: ignore[arg-type]
    return ImageService(endpoint, open_api(endpoint, timeout=20))


# Seeded images (other tests add and remove their own images meanwhile, so compare these).
SEEDED = {
    "imagedeck/busybox:latest",
    "demo/app:1.0",
    "demo/app:10.0",
    "demo/multi:latest",
    "demo/running:latest",
    "127.0.0.1:5000/demo/pushed:latest",
}


def ids(svc: ImageService) -> set[tuple[str, str]]:
    """(tag, image ID) of the seeded images a service lists."""
    return {(tag, image.id) for image in svc.list_images() for tag in image.tags if tag in SEEDED}


# -- tcp + TLS ---------------------------------------------------------------------------------


def test_tls_lists_the_sandbox_images(remote: Remote, service: ImageService) -> None:
    svc = connect(environ=tls_env(remote.client_certs, remote.tls_host))
    try:
        assert svc.endpoint.tls is not None
        assert svc.host == "tcp://127.0.0.1:2376"
        assert len(ids(svc)) == len(SEEDED)
        assert ids(svc) == ids(service)
    finally:
        svc.close()


def test_tls_with_host_flag_takes_certs_from_the_environment(remote: Remote) -> None:
    env = tls_env(remote.client_certs, "unix:///ignored.sock")
    svc = connect(host=remote.tls_host, environ=env)
    try:
        assert svc.info().server_version
    finally:
        svc.close()


def test_tls_wrong_ca_is_refused(remote: Remote, tmp_path: Path) -> None:
    # The client trusts another CA, so the daemon's certificate does not verify.
    certs = cert_dir(
        tmp_path,
        remote.wrong_ca / "ca.pem",
        remote.client_certs / "cert.pem",
        remote.client_certs / "key.pem",
    )
    with pytest.raises(DaemonUnreachable) as caught:
        connect(environ=tls_env(certs, remote.tls_host))
    assert "TLS refused: the daemon's certificate is not signed by the CA" in caught.value.reason
    assert "tcp://127.0.0.1:2376" in str(caught.value)


def test_tls_wrong_client_certificate_is_refused(remote: Remote, tmp_path: Path) -> None:
    # The client trusts the daemon, but its own certificate comes from a stranger CA.
    certs = cert_dir(
        tmp_path, remote.ca, remote.wrong_client / "cert.pem", remote.wrong_client / "key.pem"
    )
    with pytest.raises(DaemonUnreachable) as caught:
        connect(environ=tls_env(certs, remote.tls_host))
    reason = caught.value.reason
    assert reason.startswith("TLS refused:")
    assert "did not accept the client certificate" in reason


def test_plain_http_to_the_tls_port_is_explained(remote: Remote) -> None:
    with pytest.raises(DaemonUnreachable) as caught:
        connect(host=remote.tls_host, environ={})
    assert "TLS" in caught.value.reason


# -- ssh ---------------------------------------------------------------------------------------


@pytest.fixture
def ssh_home(remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME whose ~/.ssh names the sandbox's client key and trusts its host key.

    That is how a user sets up ssh for docker: docker-py's paramiko transport reads
    ``~/.ssh/config`` (IdentityFile) and ``~/.ssh/known_hosts``.
    """
    home = tmp_path / "home"
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, mode=0o700)
    (ssh / "config").write_text(f"Host 127.0.0.1\n  IdentityFile {remote.identity}\n")
    shutil.copy(remote.known_hosts, ssh / "known_hosts")
    monkeypatch.setenv("HOME", str(home))
    # No agent: only the configured key may be tried.
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def test_ssh_lists_the_sandbox_images(
    remote: Remote, ssh_home: Path, service: ImageService
) -> None:
    svc = connect(host=remote.ssh_host, environ={})
    try:
        assert svc.host == "ssh://root@127.0.0.1:2222"
        assert ids(svc) == ids(service)
        assert svc.info().server_version == service.info().server_version
    finally:
        svc.close()


def test_ssh_after_a_start_without_paramiko(remote: Remote, ssh_home: Path) -> None:
    """A session started on a local socket hides paramiko while docker-py loads (start-up
    speed; docker-py loads on the first feature that needs it, import_docker); switching to
    an ssh:// daemon later in that session must still work."""
    script = (
        "import sys\n"
        "from tui.prefetch import import_service\n"
        "import_service(ssh=False)\n"
        "from tui.service.core import import_docker\n"
        "import_docker()\n"
        "import docker.api.client as c\n"
        "assert not hasattr(c, 'SSHHTTPAdapter'), 'docker-py loaded its ssh adapter'\n"
        "from tui.service import ImageService\n"
        f"svc = ImageService.connect({remote.ssh_host!r}, timeout=20)\n"
        "print(len(svc.list_images()))\n"
    )
    env = {**os.environ, "HOME": str(ssh_home)}
    env.pop("DOCKER_HOST", None)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 5


def test_ssh_unknown_host_key_is_refused(remote: Remote, ssh_home: Path) -> None:
    (ssh_home / ".ssh" / "known_hosts").write_text("")
    with pytest.raises(DaemonUnreachable) as caught:
        connect(host=remote.ssh_host, environ={})
    reason = caught.value.reason
    assert "ssh refused: the host key of [127.0.0.1]:2222 is not in your known_hosts" in reason


def test_ssh_changed_host_key_is_refused(remote: Remote, ssh_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    public = " ".join(other.with_suffix(".pub").read_text().split()[:2])
    (ssh_home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:2222 {public}\n")
    with pytest.raises(DaemonUnreachable) as caught:
        connect(host=remote.ssh_host, environ={})
    assert "does not match the one in your known_hosts" in caught.value.reason


def test_ssh_unknown_client_key_is_refused(remote: Remote, ssh_home: Path, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    (ssh_home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n  IdentityFile {stranger}\n")
    with pytest.raises(DaemonUnreachable) as caught:
        connect(host=remote.ssh_host, environ={})
    assert "ssh refused: authentication failed" in caught.value.reason


# -- contexts ----------------------------------------------------------------------------------


@pytest.fixture
def docker_config(remote: Remote, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh DOCKER_CONFIG with contexts made by the docker CLI: tls, ssh and a dead one."""
    config = tmp_path / "docker-config"
    config.mkdir()
    env = {"DOCKER_CONFIG": str(config), "PATH": os.environ.get("PATH", "")}
    client = remote.client_certs

    def cli(*args: str) -> None:
        subprocess.run(["docker", *args], check=True, env=env, capture_output=True, text=True)

    cli(
        "context", "create", "sandbox-tls", "--description", "the sandbox over TLS",
        "--docker",
        f"host={remote.tls_host},ca={client}/ca.pem,cert={client}/cert.pem,key={client}/key.pem",
    )  # fmt: skip
    cli("context", "create", "sandbox-ssh", "--docker", f"host={remote.ssh_host}")
    cli("context", "create", "dead", "--docker", "host=unix:///nonexistent/docker.sock")
    yield env


def test_context_flag_reaches_the_daemon_over_tls(
    docker_config: dict[str, str], service: ImageService
) -> None:
    svc = connect(context="sandbox-tls", environ=docker_config)
    try:
        assert svc.endpoint.context == "sandbox-tls"
        assert svc.host == "tcp://127.0.0.1:2376 (context sandbox-tls)"
        assert ids(svc) == ids(service)
    finally:
        svc.close()


def test_docker_context_variable_picks_the_context(
    docker_config: dict[str, str], service: ImageService
) -> None:
    svc = connect(environ={**docker_config, "DOCKER_CONTEXT": "sandbox-tls"})
    try:
        assert svc.endpoint.source == "DOCKER_CONTEXT"
        assert ids(svc) == ids(service)
    finally:
        svc.close()


def test_config_current_context_is_used_and_docker_host_wins(
    docker_config: dict[str, str], service: ImageService
) -> None:
    subprocess.run(
        ["docker", "context", "use", "sandbox-tls"], check=True, env=docker_config,
        capture_output=True,
    )  # fmt: skip
    endpoint = resolve_endpoint(environ=docker_config)
    assert (endpoint.context, endpoint.source) == ("sandbox-tls", "docker config")
    svc = ImageService(endpoint, open_api(endpoint))
    try:
        assert ids(svc) == ids(service)
    finally:
        svc.close()
    # DOCKER_HOST beats the config's context, as with the CLI.
    with_host = resolve_endpoint(environ={**docker_config, "DOCKER_HOST": "unix:///x.sock"})
    assert (with_host.host, with_host.context) == ("unix:///x.sock", None)
    # The switcher marks the config's context as current.
    current = [c.name for c in list_contexts(docker_config) if c.current]
    assert current == ["sandbox-tls"]


def test_ssh_context(docker_config: dict[str, str], ssh_home: Path, service: ImageService) -> None:
    svc = connect(context="sandbox-ssh", environ=docker_config)
    try:
        assert ids(svc) == ids(service)
    finally:
        svc.close()


def test_contexts_listed_and_missing_context_explained(docker_config: dict[str, str]) -> None:
    listed = {c.name: c for c in list_contexts(docker_config)}
    assert next(iter(listed)) == "default"
    assert {"sandbox-tls", "sandbox-ssh", "dead"} <= set(listed)
    assert listed["sandbox-tls"].tls and listed["sandbox-tls"].description == (
        "the sandbox over TLS"
    )
    assert listed["dead"].host == "unix:///nonexistent/docker.sock"
    with pytest.raises(DaemonUnreachable) as caught:
        resolve_endpoint(context="nope", environ=docker_config)
    assert "no Docker context named 'nope'" in caught.value.reason
    with pytest.raises(DaemonUnreachable) as dead:
        connect(context="dead", environ=docker_config)
    assert "the socket does not exist" in dead.value.reason


def test_passwords_never_reach_messages() -> None:
    assert scrub_url("tcp://me:s3cret@host:2376") == "tcp://me:***@host:2376"
    assert scrub_url("ssh://me@host") == "ssh://me@host"
    endpoint = resolve_endpoint(host="tcp://me:s3cret@127.0.0.1:1", environ={})
    assert "s3cret" not in endpoint.description
    with pytest.raises(DaemonUnreachable) as caught:
        open_api(endpoint, timeout=2)
    assert "s3cret" not in str(caught.value)
