"""TLS is decided as the docker CLI decides it: every environment combination, CLI as the truth.

The sandbox's mutual-TLS listener (``scripts/remote_endpoints.py``) is asked with imagedeck's
service and with the real ``docker`` CLI (the one on PATH, 28.x here, and Debian's 20.10 in
/usr/bin when it is installed) in the same environment: both must connect, or both refuse.
``wrong`` is a certificate directory whose ``ca.pem`` is another CA's, so the daemon's
certificate does not verify against it (its client certificate is the good one, so the daemon
itself accepts the client: only the client's verification decides).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.service.test_remote import Remote, remote  # noqa: F401  (the fixture)
from tui.service import ImageService
from tui.service.connection import open_api, resolve_endpoint
from tui.service.errors import DaemonUnreachable, ImagedeckError

pytestmark = pytest.mark.daemon

UNSET = None
_PATH_CLI = shutil.which("docker")
# Debian's docker.io (20.10) beside an upstream CLI on PATH: both are asked when both exist.
CLIS = [c for c in dict.fromkeys([_PATH_CLI, "/usr/bin/docker"]) if c and os.path.exists(c)]


@dataclass(frozen=True)
class Dirs:
    """Certificate directories and Docker config directories for the combinations."""

    root: Path

    def path(self, name: str) -> Path:
        """One of: good, wrong, empty (cert dirs), config-empty, config-good (DOCKER_CONFIG)."""
        return self.root / name


@pytest.fixture(scope="module")
def dirs(remote: Remote, tmp_path_factory: pytest.TempPathFactory) -> Dirs:  # noqa: F811
    """good: the sandbox's client files; wrong: another CA's ca.pem with the good client
    certificate; empty: nothing; config-good: a DOCKER_CONFIG holding the good files."""
    root = tmp_path_factory.mktemp("tls-rules")
    client = remote.client_certs
    for name in ("good", "config-good"):
        (root / name).mkdir()
        for file in ("ca.pem", "cert.pem", "key.pem"):
            shutil.copy(client / file, root / name / file)
    (root / "wrong").mkdir()
    shutil.copy(remote.wrong_ca / "ca.pem", root / "wrong" / "ca.pem")
    shutil.copy(client / "cert.pem", root / "wrong" / "cert.pem")
    shutil.copy(client / "key.pem", root / "wrong" / "key.pem")
    for name in ("empty", "config-empty", "home"):
        (root / name).mkdir()
    return Dirs(root)


def environment(
    dirs: Dirs, host: str, verify: str | None, tls: str | None, certs: str
) -> dict[str, str]:
    """The variables a user may set; ``certs`` names DOCKER_CERT_PATH or, for ``config-*``,
    leaves it unset with DOCKER_CONFIG pointing at that directory."""
    env = {"HOME": str(dirs.path("home")), "DOCKER_HOST": host}
    if certs.startswith("config-"):
        env["DOCKER_CONFIG"] = str(dirs.path(certs))
    else:
        env["DOCKER_CONFIG"] = str(dirs.path("config-empty"))
        env["DOCKER_CERT_PATH"] = str(dirs.path(certs))
    if verify is not UNSET:
        env["DOCKER_TLS_VERIFY"] = verify
    if tls is not UNSET:
        env["DOCKER_TLS"] = tls
    return env


def cli_connects(cli: str, env: dict[str, str], *args: str) -> tuple[bool, str]:
    """Does the docker CLI reach the daemon in ``env``? (and its error text)"""
    result = subprocess.run(
        [cli, *args, "version", "--format", "{{.Server.Version}}"],
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode == 0, result.stderr.strip()


def imagedeck_connects(env: dict[str, str], context: str | None = None) -> tuple[bool, str, bool]:
    """Does imagedeck's service reach the daemon and list images? (reason; verified?)"""
    try:
        endpoint = resolve_endpoint(context=context, environ=env)
        service = ImageService(endpoint, open_api(endpoint, timeout=20))
    except DaemonUnreachable as exc:
        return False, exc.reason, False
    try:
        service.list_images()
    except ImagedeckError as exc:
        return False, str(exc), False
    finally:
        service.close()
    if not endpoint.verified:
        # The header shows the service's host: an unchecked daemon must say so there.
        assert "TLS NOT VERIFIED" in service.host
    else:
        assert "NOT VERIFIED" not in service.host
    return True, "", endpoint.verified


COMBINATIONS = [
    (verify, tls, certs)
    for verify in (UNSET, "1", "0", "")
    for tls in (UNSET, "1")
    for certs in ("good", "wrong", "empty", "config-good", "config-empty")
]


@pytest.mark.parametrize(("verify", "tls", "certs"), COMBINATIONS)
def test_tcp_tls_verdict_matches_the_docker_cli(
    remote: Remote,  # noqa: F811
    dirs: Dirs,
    verify: str | None,
    tls: str | None,
    certs: str,
) -> None:
    assert CLIS, "the docker CLI is needed: it is the truth these tests compare with"
    env = environment(dirs, remote.tls_host, verify, tls, certs)
    ours, reason, verified = imagedeck_connects(env)
    for cli in CLIS:
        theirs, error = cli_connects(cli, env)
        assert ours == theirs, (
            f"{cli} {'connects' if theirs else 'refuses'} ({error}); imagedeck "
            f"{'connects' if ours else 'refuses'} ({reason}) with {env}"
        )
    if ours:
        # Verification is on exactly when DOCKER_TLS_VERIFY is non-empty.
        assert verified == bool(verify)


def test_wrong_ca_is_refused_whenever_verification_is_asked(
    remote: Remote,  # noqa: F811
    dirs: Dirs,
) -> None:
    # The point of the combinations above, said plainly: no form of the variables lets a
    # certificate from another CA through while claiming verification.
    for verify in ("1", "0", "yes"):
        env = environment(dirs, remote.tls_host, verify, UNSET, "wrong")
        ours, reason, _ = imagedeck_connects(env)
        assert not ours
        assert reason.startswith("TLS refused: the daemon's certificate is not signed")
    # A cert path alone is plain HTTP (as with the CLI): refused by the TLS port, never TLS.
    ours, reason, _ = imagedeck_connects(environment(dirs, remote.tls_host, UNSET, UNSET, "wrong"))
    assert not ours
    assert "TLS" in reason


def test_missing_ca_with_tls_on_is_explained(
    remote: Remote,  # noqa: F811
    dirs: Dirs,
) -> None:
    env = environment(dirs, remote.tls_host, UNSET, "1", "empty")
    ours, reason, _ = imagedeck_connects(env)
    assert not ours
    assert f"the CA certificate {dirs.path('empty') / 'ca.pem'} cannot be read" in reason
    assert "DOCKER_TLS turns TLS on" in reason


@pytest.mark.parametrize("certs", ["good", "empty"])
def test_unix_socket_with_tls_variables(dirs: Dirs, certs: str, sandbox_socket_host: str) -> None:
    """TLS on a unix socket: the CLI on PATH (docker 28) talks plain HTTP over the socket but
    still insists on a readable ca.pem. Debian's 20.10 tries https over the socket and fails
    either way; imagedeck follows the current CLI."""
    assert _PATH_CLI
    env = environment(dirs, sandbox_socket_host, "1", UNSET, certs)
    ours, reason, _ = imagedeck_connects(env)
    theirs, error = cli_connects(_PATH_CLI, env)
    assert ours == theirs, f"CLI: {error}; imagedeck: {reason}"


@pytest.fixture
def sandbox_socket_host() -> str:
    """The sandbox daemon's unix:// address."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://"):
        pytest.fail("run inside the sandbox (scripts/sandbox exec): DOCKER_HOST is not unix://")
    return host


CONTEXTS = {
    "good": "ca={good}/ca.pem,cert={good}/cert.pem,key={good}/key.pem",
    "wrong": "ca={wrong}/ca.pem,cert={wrong}/cert.pem,key={wrong}/key.pem",
    "wrongskip": "ca={wrong}/ca.pem,cert={wrong}/cert.pem,key={wrong}/key.pem,skip-tls-verify=true",
    "noca": "cert={good}/cert.pem,key={good}/key.pem",
    "plain": "",
}


@pytest.fixture(scope="module")
def context_config(remote: Remote, dirs: Dirs) -> Path:  # noqa: F811
    """A DOCKER_CONFIG with contexts made by the docker CLI itself."""
    config = dirs.root / "contexts-config"
    config.mkdir()
    assert _PATH_CLI
    for name, tls in CONTEXTS.items():
        spec = f"host={remote.tls_host}"
        if tls:
            spec += "," + tls.format(good=dirs.path("good"), wrong=dirs.path("wrong"))
        subprocess.run(
            [_PATH_CLI, "context", "create", name, "--docker", spec],
            env={"DOCKER_CONFIG": str(config), "HOME": str(dirs.path("home"))},
            check=True,
            capture_output=True,
        )
    return config


@pytest.mark.parametrize("name", sorted(CONTEXTS))
@pytest.mark.parametrize("with_env", [False, True], ids=["plain-env", "tls-env"])
def test_context_verdict_matches_the_docker_cli(
    dirs: Dirs, context_config: Path, name: str, with_env: bool
) -> None:
    env = {"HOME": str(dirs.path("home")), "DOCKER_CONFIG": str(context_config)}
    if with_env:
        # A named context ignores the TLS variables (they belong to the default context).
        env |= {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(dirs.path("wrong"))}
    ours, reason, verified = imagedeck_connects(env, context=name)
    for cli in CLIS:
        theirs, error = cli_connects(cli, env, "--context", name)
        assert ours == theirs, f"{cli}: {error}; imagedeck: {reason}"
    if ours:
        assert verified == (name != "wrongskip")
