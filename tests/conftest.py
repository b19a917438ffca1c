"""Shared fixtures: the sandbox daemon's addresses, the docker CLI against it, scratch images.

The sandbox (``scripts/sandbox start``) is a private dockerd with a registry and a search index
in their own network namespace; ``make test`` runs pytest inside that namespace through
``scripts/sandbox exec``, which exports the variables read here. Under ``CI=true`` a sandbox
that does not answer is a failure, never a skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.service import ImageService

DockerCli = Callable[..., subprocess.CompletedProcess[str]]

BASE_IMAGE = "imagedeck/busybox:latest"


def in_child(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (for what is process-wide: imports, memory
    settings); fails with its stderr when it does not exit 0."""
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def settled_du(path: Path, still: float = 1.5, limit: float = 30.0) -> int:
    """Apparent bytes under ``path`` (``du -sb``) once the engine has stopped freeing space.

    The truth for what a delete gave back. An engine frees some space on its own clock: on the
    containerd store a classic build leaves its intermediate container's snapshot (the size
    of the COPY) for containerd's garbage collector, which runs 0.3-0.6 s later when idle and
    later under load; measured before it runs, that space counts as freed by the delete that
    follows (CI saw UNIQUE 6.0 MB against du 9.0 MB). So the figure is read until it has not
    moved for ``still`` seconds (at most ``limit``; then the last reading).
    """
    subprocess.run(["sync"], check=True)

    def read() -> int:
        out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[0])

    value, since, deadline = read(), time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline and time.monotonic() - since < still:
        time.sleep(0.25)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


@dataclass(frozen=True)
class Sandbox:
    """Where the sandbox's services answer (as seen from inside its network namespace)."""

    docker_host: str
    """``unix:///.../docker.sock`` of the private daemon."""
    registry: str
    """``host:port`` of the registry (``127.0.0.1:5000``)."""
    search_index: str
    """``host:port`` of the v1 search index (``127.0.0.1:5001``)."""
    netns: str
    """Path of the network namespace (``/var/run/netns/imagedeck``)."""

    @property
    def socket_path(self) -> str:
        """Filesystem path of the daemon's unix socket."""
        return self.docker_host.removeprefix("unix://")

    def inside_netns(self) -> bool:
        """True when this process runs in the sandbox's network namespace."""
        try:
            return os.stat(self.netns).st_ino == os.stat("/proc/self/ns/net").st_ino
        except OSError:
            return False


def ping_daemon(socket_path: str, timeout: float = 3.0) -> str | None:
    """GET ``/_ping`` over the unix socket; None when it answers OK, else why it did not."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    except OSError as error:
        return f"cannot reach {socket_path}: {error}"
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " not in f"{status_line} " or not answer.endswith(b"OK"):
        return f"unexpected answer from {socket_path}: {status_line!r}"
    return None


def _unavailable(message: str) -> None:
    """Fail under CI (a missing daemon is a broken build there), skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(f"{message} (not CI: there this fails); run `scripts/sandbox start` or `make test`")


@pytest.fixture(autouse=True)
def fixed_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """UI and snapshot tests measure ages against the fake service's EPOCH, so screens do not
    change with the date (``tui.format.clock`` pinned); other tests keep the real clock."""
    if request.node.path.parent.name not in ("ui", "snapshots"):
        yield
        return
    from tests.ui.fake import EPOCH
    from tui import format as fmt

    saved = fmt.clock
    fmt.clock = lambda: EPOCH
    yield
    fmt.clock = saved


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The running sandbox, read from the variables ``scripts/sandbox exec`` exports."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    if os.environ.get("IMAGEDECK_SANDBOX") != "1" or not docker_host.startswith("unix://"):
        _unavailable("not running inside the sandbox (IMAGEDECK_SANDBOX/DOCKER_HOST unset)")
    found = Sandbox(
        docker_host=docker_host,
        registry=os.environ.get("IMAGEDECK_REGISTRY", "127.0.0.1:5000"),
        search_index=os.environ.get("IMAGEDECK_SEARCH_INDEX", "127.0.0.1:5001"),
        netns=os.environ.get("IMAGEDECK_SANDBOX_NETNS", "/var/run/netns/imagedeck"),
    )
    problem = ping_daemon(found.socket_path)
    if problem is not None:
        _unavailable(f"the sandbox daemon does not answer ({problem})")
    return found


@pytest.fixture
def docker_cli(sandbox: Sandbox) -> DockerCli:
    """Run the docker CLI against the sandbox daemon: ``docker_cli("images", "-q")``.

    Returns the CompletedProcess (text output captured). ``check`` defaults to False, so a
    test can look at ``returncode`` (``image inspect`` of something absent) or clean up
    without caring; pass ``check=True`` to raise CalledProcessError on failure.
    """
    return cli_for(sandbox.docker_host)


def cli_for(docker_host: str) -> DockerCli:
    """The docker CLI against ``docker_host`` (classic builder), as ``docker_cli`` runs it."""
    env = {**os.environ, "DOCKER_HOST": docker_host, "DOCKER_BUILDKIT": "0"}

    def run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "-H", docker_host, *args],
            capture_output=True,
            text=True,
            check=check,
            env=env,
            timeout=300,
        )

    return run


@pytest.fixture(scope="session")
def peer_host(sandbox: Sandbox) -> str:
    """``unix://.../peer/docker.sock``: the sandbox's second dockerd (same namespace, engine and
    store, its own data root; it holds only ``imagedeck/busybox:latest``), for tests that need
    two daemons. Docker engines only; like the sandbox itself, missing fails under CI."""
    peer = os.environ.get("IMAGEDECK_SANDBOX_PEER_HOST", "")
    if not peer.startswith("unix://"):
        _unavailable(
            "the sandbox has no peer daemon (IMAGEDECK_SANDBOX_PEER_HOST unset: a Podman "
            "sandbox, or one started before the peer existed; `scripts/sandbox start` adds it)"
        )
    problem = ping_daemon(peer.removeprefix("unix://"))
    if problem is not None:
        _unavailable(f"the sandbox's peer daemon does not answer ({problem})")
    return peer


@pytest.fixture
def peer_cli(peer_host: str) -> DockerCli:
    """Run the docker CLI against the peer daemon (like ``docker_cli``)."""
    return cli_for(peer_host)


@pytest.fixture
def scratch_image(docker_cli: DockerCli) -> Iterator[str]:
    """A fresh tag of the base image, ``test/scratch-<uuid8>:v1``, removed afterwards."""
    reference = f"test/scratch-{uuid.uuid4().hex[:8]}:v1"
    docker_cli("tag", BASE_IMAGE, reference, check=True)
    yield reference
    docker_cli("rmi", reference)


@pytest.fixture
def service(sandbox: Sandbox) -> Iterator[ImageService]:
    """An ImageService connected to the sandbox daemon (closed after the test)."""
    svc = ImageService.connect(sandbox.docker_host)
    yield svc
    svc.close()


# --- engines ------------------------------------------------------------------------------------

# What `scripts/sandbox` runs (IMAGEDECK_SANDBOX_ENGINE / IMAGEDECK_SANDBOX_STORE, exported by
# `scripts/sandbox exec`); a run outside the sandbox is the default configuration.
DEFAULT_ENGINE = "docker-20.10"
DEFAULT_STORE = "overlay2"

# On Podman only the service layer's list/inspect/delete/prune and the sandbox's own tests run
# (`make test` runs them as its `podman` configuration); everything else is deselected there.
PODMAN_SUBSET = (
    "tests/service/test_sandbox.py",
    "tests/service/test_engines.py",
    "tests/service/test_images_service.py",
    "tests/service/test_cleanup_service.py",
    "tests/service/test_sizes_engines.py",
    "tests/service/test_local_api.py",
)


@dataclass(frozen=True)
class Engine:
    """The engine and image store the sandbox daemon is (see scripts/sandbox)."""

    name: str
    """``docker-20.10``, ``docker-26`` or ``podman``."""
    store: str
    """``overlay2`` (the classic graph-driver store), ``containerd`` (the containerd image
    store) or ``overlay`` (Podman's containers/storage)."""

    @property
    def podman(self) -> bool:
        """True for Podman's Docker-compatible API."""
        return self.name == "podman"

    @property
    def containerd(self) -> bool:
        """True for Docker's containerd image store."""
        return self.store == "containerd"

    @property
    def id(self) -> str:
        """``docker-26/containerd``: the label `make test` prints, and a parameter id."""
        return f"{self.name}/{self.store}"


def current_engine() -> Engine:
    """The engine this test session runs against (from the sandbox's environment)."""
    return Engine(
        name=os.environ.get("IMAGEDECK_SANDBOX_ENGINE") or DEFAULT_ENGINE,
        store=os.environ.get("IMAGEDECK_SANDBOX_STORE") or DEFAULT_STORE,
    )


@pytest.fixture(scope="session")
def engine() -> Engine:
    """Which engine and store the sandbox runs: tests whose expectation differs say so."""
    return current_engine()


#: Tests that run the real program in a pseudo-terminal and read its screen (besides every
#: test in tests/e2e). They wait for what the screen shows, but a machine under heavy load can
#: still outrun a deadline; each gets one rerun, and `scripts/test-engines` names every rerun
#: in its closing summary (pytest's ``-r R``), so flakiness is reported, not hidden.
PTY_TEST_FILES = (
    "tests/ui/test_daemon_gone_pty.py",
    "tests/ui/test_hostile_pty.py",
    "tests/ui/test_terminals.py",
)


def _mark_pty_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One rerun for each real-terminal test (see PTY_TEST_FILES)."""
    root = config.rootpath
    for item in items:
        if not item.path.is_relative_to(root):
            continue
        path = item.path.relative_to(root).as_posix()
        if path.startswith("tests/e2e/") or path in PTY_TEST_FILES:
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On Podman, keep only PODMAN_SUBSET (the rest is Docker's behaviour or engine-free).

    ``IMAGEDECK_PODMAN_SUBSET=0`` runs whatever was asked for (to try a file on Podman).
    ``IMAGEDECK_DAEMON_TESTS_ONLY=1`` (`make test` sets it for every configuration after the
    first) keeps only the tests that talk to a daemon (the ``sandbox`` fixture or the ``daemon``
    marker): the others cannot differ per engine and have run once already.
    ``IMAGEDECK_ENGINE_FREE_ONLY=1`` (`make test-fast`) keeps the opposite: the tests that need
    no daemon (unit tests, the fake service's UI tests, snapshots of fake screens).
    """
    _mark_pty_tests(config, items)
    if os.environ.get("IMAGEDECK_ENGINE_FREE_ONLY") == "1":
        needs_daemon = [
            item
            for item in items
            if "sandbox" in item.fixturenames or item.get_closest_marker("daemon") is not None
        ]
        if needs_daemon:
            config.hook.pytest_deselected(items=needs_daemon)
            dropped_ids = {id(item) for item in needs_daemon}
            items[:] = [item for item in items if id(item) not in dropped_ids]
        return
    if os.environ.get("IMAGEDECK_DAEMON_TESTS_ONLY") == "1":
        engine_free = [
            item
            for item in items
            if "sandbox" not in item.fixturenames and item.get_closest_marker("daemon") is None
        ]
        if engine_free:
            config.hook.pytest_deselected(items=engine_free)
            dropped_ids = {id(item) for item in engine_free}
            items[:] = [item for item in items if id(item) not in dropped_ids]
    if not current_engine().podman or os.environ.get("IMAGEDECK_PODMAN_SUBSET") == "0":
        return
    root = config.rootpath
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        wanted = any(path == p or path.startswith(f"{p}/") for p in PODMAN_SUBSET)
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
