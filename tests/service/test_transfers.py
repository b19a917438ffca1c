"""Pull, push, search and catalog against the sandbox daemon, registry and search index.

Every test makes its own uniquely named images (``127.0.0.1:5000/test/<uuid8>:v1`` built FROM
``imagedeck/busybox:latest`` with a random layer) and cleans up; seeded images are only read.
A throttling TCP proxy in front of the registry makes a pull slow enough to cancel mid-way.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import current_engine
from tui.service import Cancelled, InvalidReference, NotFound, RegistryError
from tui.service.connection import Endpoint
from tui.service.registry_catalog import registry_catalog, split_registry_term
from tui.service.run import docker_run_argv
from tui.service.transfer_progress import ProgressTracker, TransferEvent, classify_registry_error
from tui.service.transfers import familiar

DockerCli = Callable[..., subprocess.CompletedProcess[str]]


def registry_address() -> str:
    """The sandbox registry (host:port)."""
    return os.environ.get("IMAGEDECK_REGISTRY", "127.0.0.1:5000")


def index_address() -> str:
    """The sandbox search index (host:port)."""
    return os.environ.get("IMAGEDECK_SEARCH_INDEX", "127.0.0.1:5001")


# --- helpers shared with the UI end-to-end tests ----------------------------------------------


def build_unique_image(docker_cli: DockerCli, megabytes: float = 2.0) -> str:
    """Build ``REGISTRY/test/<uuid8>:v1`` FROM imagedeck/busybox with a random layer."""
    name = f"{registry_address()}/test/{uuid.uuid4().hex[:8]}:v1"
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "blob").write_bytes(os.urandom(int(megabytes * 1_000_000)))
        Path(ctx, "Dockerfile").write_text(
            'FROM imagedeck/busybox:latest\nCOPY blob /blob\nCMD ["echo", "hello from imagedeck"]\n'
        )
        result = docker_cli("build", "-q", "-t", name, ctx)
    assert result.returncode == 0, result.stderr
    return name


def push_and_forget(docker_cli: DockerCli, name: str) -> None:
    """Push ``name`` to the registry with the CLI, then remove it locally."""
    pushed = docker_cli("push", name)
    assert pushed.returncode == 0, pushed.stderr
    removed = docker_cli("rmi", name)
    assert removed.returncode == 0, removed.stderr


def local_has(docker_cli: DockerCli, name: str) -> bool:
    """True when the daemon has an image by that name."""
    return docker_cli("image", "inspect", name).returncode == 0


def registry_tags(repo: str) -> list[str]:
    """Tags of ``repo`` in the sandbox registry, through its v2 API."""
    url = f"http://{registry_address()}/v2/{repo}/tags/list"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return list(json.load(response).get("tags") or [])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise


def delete_from_registry(name: str) -> None:
    """Delete a tag's manifest from the sandbox registry (best effort; delete is enabled)."""
    repo_tag = name.split("/", 1)[1]
    repo, tag = repo_tag.rsplit(":", 1)
    base = f"http://{registry_address()}/v2/{repo}/manifests"
    head = urllib.request.Request(
        f"{base}/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with contextlib.suppress(Exception):
        with urllib.request.urlopen(head, timeout=5) as response:
            digest = response.headers["Docker-Content-Digest"]
        urllib.request.urlopen(
            urllib.request.Request(f"{base}/{digest}", method="DELETE"), timeout=5
        ).close()


class ThrottleProxy:
    """A TCP proxy to the registry that sends at most ``rate`` bytes/s back to the client.

    The daemon treats every 127.0.0.0/8 address as an insecure registry, so pulling
    ``127.0.0.1:<port>/repo:tag`` through it works like pulling from the registry itself.
    """

    def __init__(self, target: str, rate: int) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.rate = rate
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self.rate), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, rate: int | None) -> None:
        chunk = 16_384
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(chunk)
                if not data:
                    break
                sink.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        self._stop.set()
        self.server.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def remote_image(sandbox: Any, docker_cli: DockerCli) -> Iterator[str]:
    """A small unique image that is in the registry but not in the daemon."""
    name = build_unique_image(docker_cli, 2.0)
    push_and_forget(docker_cli, name)
    yield name
    docker_cli("rmi", "-f", name)
    delete_from_registry(name)


@pytest.fixture
def big_remote_image(sandbox: Any, docker_cli: DockerCli) -> Iterator[str]:
    """A unique image with a 20 MB random layer, in the registry only."""
    name = build_unique_image(docker_cli, 20.0)
    push_and_forget(docker_cli, name)
    yield name
    docker_cli("rmi", "-f", name)
    delete_from_registry(name)


@pytest.fixture
def throttle() -> Iterator[ThrottleProxy]:
    """The registry behind a 1 MB/s proxy."""
    proxy = ThrottleProxy(registry_address(), rate=1_000_000)
    yield proxy
    proxy.close()


# --- pull -------------------------------------------------------------------------------------


@pytest.mark.daemon
@pytest.mark.parametrize("engine_id", [current_engine().id])
def test_pull_from_local_registry_reports_layer_progress(
    engine_id: str, service: Any, docker_cli: DockerCli, remote_image: str
) -> None:
    events = list(service.pull(remote_image))
    statuses = {layer.status for event in events for layer in event.layers}
    last = events[-1]
    if current_engine().containerd:
        # Layers end at "Download complete" there; the stream's good end completes them.
        assert "Download complete" in statuses, engine_id
        assert all(layer.status == "Complete" and layer.fraction == 1.0 for layer in last.layers)
    else:
        assert "Pull complete" in statuses
        assert "Already exists" in statuses  # the busybox base layer is shared
    if not current_engine().containerd:
        # The containerd store reports progress on a timer: a fast local pull may skip it.
        assert any(x.status == "Downloading" and x.total for e in events for x in e.layers)
    # The containerd store does not mention a layer it already has (no "Already exists").
    assert (
        last.overall.layers_done == last.overall.layers == (1 if current_engine().containerd else 2)
    )
    assert last.overall.fraction == 1.0
    assert last.digest and last.digest.startswith("sha256:")
    assert local_has(docker_cli, remote_image)
    tags = {t for image in service.list_images() for t in image.tags}
    assert familiar(remote_image) in tags


@pytest.mark.daemon
def test_pull_missing_tag_is_a_clear_not_found(service: Any, sandbox: Any) -> None:
    with pytest.raises(NotFound) as info:
        list(service.pull(f"{registry_address()}/test/{uuid.uuid4().hex[:8]}:nope"))
    assert "not found in the registry" in str(info.value)


@pytest.mark.daemon
def test_pull_from_unreachable_registry_says_so(service: Any) -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    with pytest.raises(RegistryError) as info:
        list(service.pull(f"127.0.0.1:{port}/nobody/home:v1"))
    assert "cannot be reached" in str(info.value)


@pytest.mark.daemon
def test_pull_checks_the_grammar_before_asking(service: Any) -> None:
    with pytest.raises(InvalidReference):
        list(service.pull("Demo/App:1"))


@pytest.mark.daemon
def test_cancel_mid_pull_leaves_no_tag(
    service: Any, docker_cli: DockerCli, big_remote_image: str, throttle: ThrottleProxy
) -> None:
    slow = big_remote_image.replace(registry_address(), throttle.address, 1)
    cancel = threading.Event()
    seen: list[TransferEvent] = []
    with pytest.raises(Cancelled):
        for event in service.pull(slow, cancel=cancel):
            seen.append(event)
            if event.overall.bytes_done > 1_000_000:
                cancel.set()
    assert seen, "no progress before the cancel"
    assert 0 < seen[-1].overall.bytes_done < 20_000_000  # it really was mid-way
    assert not local_has(docker_cli, slow)
    # The daemon dropped the download: a fresh pull of the same reference works.
    docker_cli("rmi", "-f", slow)


@pytest.mark.daemon
def test_cancel_from_another_thread_unblocks_a_stalled_read(
    service: Any, docker_cli: DockerCli, big_remote_image: str
) -> None:
    # A proxy so slow that the reader sits in a blocking read when the cancel comes.
    proxy = ThrottleProxy(registry_address(), rate=20_000)
    try:
        slow = big_remote_image.replace(registry_address(), proxy.address, 1)
        cancel = threading.Event()
        threading.Timer(1.5, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            for _ in service.pull(slow, cancel=cancel):
                pass
        assert time.monotonic() - started < 15
        assert not local_has(docker_cli, slow)
    finally:
        proxy.close()


# --- push -------------------------------------------------------------------------------------


@pytest.mark.daemon
def test_push_then_the_registry_has_the_tag(service: Any, docker_cli: DockerCli) -> None:
    name = build_unique_image(docker_cli, 1.0)
    repo = name.split("/", 1)[1].rsplit(":", 1)[0]
    try:
        events = list(service.push(name))
        statuses = {layer.status for event in events for layer in event.layers}
        assert statuses & {"Pushed", "Layer already exists"} or any(
            s.startswith("Mounted from") for s in statuses
        )
        assert events[-1].digest and events[-1].digest.startswith("sha256:")
        assert "v1" in registry_tags(repo)
    finally:
        docker_cli("rmi", "-f", name)
        delete_from_registry(name)


@pytest.mark.daemon
def test_push_to_unreachable_registry_is_readable(service: Any, docker_cli: DockerCli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    name = f"127.0.0.1:{port}/test/{uuid.uuid4().hex[:8]}:v1"
    assert docker_cli("tag", "imagedeck/busybox:latest", name).returncode == 0
    try:
        with pytest.raises(RegistryError) as info:
            list(service.push(name))
        assert "cannot be reached" in str(info.value)
    finally:
        docker_cli("rmi", name)


# --- search and catalog -----------------------------------------------------------------------


@pytest.mark.daemon
def test_search_through_the_sandbox_index(service: Any) -> None:
    results = service.search(f"{index_address()}/demo", limit=10)
    names = [r.name for r in results]
    assert "demo/app" in names
    app = next(r for r in results if r.name == "demo/app")
    assert app.stars == 42 and not app.official and "releases" in app.description


@pytest.mark.daemon
def test_search_filters_and_limit(service: Any) -> None:
    official = service.search(f"{index_address()}/box", official_only=True)
    assert [r.name for r in official] == ["library/busybox"]  # not tools/busybox-httpd
    starred = service.search(f"{index_address()}/alpine", min_stars=100)
    assert {r.name for r in starred} == {"library/alpine", "tools/alpine-curl"}
    assert len(service.search(f"{index_address()}/a", limit=2)) == 2


@pytest.mark.daemon
def test_search_of_a_v2_only_registry_is_explained(service: Any) -> None:
    with pytest.raises(RegistryError) as info:
        service.search(f"{registry_address()}/demo")
    assert "catalog" in str(info.value)


@pytest.mark.daemon
def test_catalog_lists_repositories_with_tags(sandbox: Any, service: Any) -> None:
    results = service.catalog(registry_address(), "demo")
    by_name = {r.name: r for r in results}
    app = by_name[f"{registry_address()}/demo/app"]
    assert "1.0" in app.tags
    assert app.pull_reference == f"{registry_address()}/demo/app:1.0"
    assert f"{registry_address()}/demo/pushed" in by_name


@pytest.mark.daemon
def test_catalog_follows_every_page(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three pages or more, against the registry's own storage: every repository is counted
    and the first ones listed in order; past MAX_PAGES the count says "or more"."""
    root = Path(os.environ["IMAGEDECK_SANDBOX_STATE"], "registry/docker/registry/v2/repositories")
    # A repository is a folder holding _layers (distribution's catalog walk); one that only
    # had a cancelled push has _layers but no _manifests, and is listed all the same.
    on_disk = sorted(str(p.parent.relative_to(root)) for p in root.rglob("_layers"))
    assert len(on_disk) >= 3, on_disk  # the seeded demo/app, demo/pushed, demo/multi at least
    # The shared sandbox registry keeps what earlier runs pushed (hundreds): pages of a third.
    page = min(len(on_disk) // 3 + 1, 1000)
    hits = registry_catalog(registry_address(), "", page_size=page, max_repos=3)
    assert (hits.matching, hits.complete) == (len(on_disk), True)
    assert [h.name for h in hits] == [f"{registry_address()}/{r}" for r in on_disk[:3]]
    assert (
        hits.summary("r")
        == f"the first 3 of {len(on_disk):,} matching repositories in the catalog of r"
    )
    demo = registry_catalog(registry_address(), "demo/", page_size=page)
    assert [h.name.split("/", 1)[1] for h in demo] == [r for r in on_disk if "demo/" in r]
    assert demo.summary("r") == f"{len(demo)} from the catalog of r"
    monkeypatch.setattr("tui.service.registry_catalog.MAX_PAGES", 1)
    first = registry_catalog(registry_address(), "", page_size=2, max_repos=0)
    assert (first.matching, first.complete, list(first)) == (2, False, [])
    assert "0 of 2 or more" in first.summary("r")


def test_catalog_of_nothing_listening_is_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    with pytest.raises(RegistryError) as info:
        registry_catalog(f"127.0.0.1:{port}", "", timeout=2)
    assert "cannot be reached" in str(info.value)


# --- pure logic -------------------------------------------------------------------------------


def test_tracker_folds_a_recorded_pull() -> None:
    tracker = ProgressTracker()
    stream: list[dict[str, Any]] = [
        {"status": "Pulling from test/x", "id": "v1"},
        {"status": "Already exists", "progressDetail": {}, "id": "aaa"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
        {"status": "Waiting", "progressDetail": {}, "id": "bbb"},
        {"status": "Downloading", "progressDetail": {"current": 500, "total": 1000}, "id": "bbb"},
    ]
    events = [tracker.feed(m) for m in stream]
    last = events[-1]
    assert last is not None
    assert [(x.id, x.status) for x in last.layers] == [
        ("aaa", "Already exists"),
        ("bbb", "Downloading"),
    ]
    assert last.overall.layers_done == 1 and last.overall.bytes_done == 500
    assert last.overall.bytes_total == 1000
    assert last.overall.fraction == 0.5  # the bytes shown: 500 B of 1000 B
    more = [
        {"status": "Download complete", "progressDetail": {}, "id": "bbb"},
        {"status": "Extracting", "progressDetail": {"current": 1000, "total": 1000}, "id": "bbb"},
        {"status": "Pull complete", "progressDetail": {}, "id": "bbb"},
        {"status": "Digest: sha256:" + "0" * 64},
        {"status": "Status: Downloaded newer image for 127.0.0.1:5000/test/x:v1"},
    ]
    final = [tracker.feed(m) for m in more][-1]
    assert final is not None and final.overall.fraction == 1.0
    assert final.overall.bytes_done == 1000 and final.digest == "sha256:" + "0" * 64
    assert final.status.startswith("Status: Downloaded newer image")


def test_tracker_raises_the_stream_error() -> None:
    tracker = ProgressTracker()
    with pytest.raises(RegistryError) as info:
        tracker.feed(
            {
                "error": "pull access denied for nope, repository does not exist or may require "
                "'docker login': denied: requested access to the resource is denied",
                "errorDetail": {"message": "..."},
            }
        )
    assert "no access" in str(info.value)


def test_error_classes() -> None:
    assert isinstance(classify_registry_error("manifest unknown: manifest unknown"), NotFound)
    assert "cannot be reached" in str(
        classify_registry_error('Get "https://x/v2/": dial tcp: lookup x: no such host')
    )
    assert "no access" in str(classify_registry_error("unauthorized: authentication required"))


def test_registry_terms_and_familiar_names() -> None:
    assert split_registry_term("127.0.0.1:5000/") == ("127.0.0.1:5000", "")
    assert split_registry_term("localhost:5000/team/a") == ("localhost:5000", "team/a")
    assert split_registry_term("demo/app") is None
    assert split_registry_term("busybox") is None
    assert familiar("busybox") == "busybox:latest"
    assert familiar("docker.io/library/busybox:1.36") == "busybox:1.36"
    assert familiar("localhost:5000/team/app") == "localhost:5000/team/app:latest"


def test_run_argv_honours_host_and_context() -> None:
    tcp = Endpoint(host="tcp://10.0.0.5:2376", source="--host")
    assert docker_run_argv(tcp, "demo/app:1.0", ["sh", "-c", "echo hi; exit 3"]) == [
        "docker", "-H", "tcp://10.0.0.5:2376", "run", "-i", "-t", "--rm", "demo/app:1.0",
        "sh", "-c", "echo hi; exit 3",
    ]  # fmt: skip
    ctx = Endpoint(host="ssh://me@box", source="--context", context="box")
    assert docker_run_argv(ctx, "demo/app:1.0", remove=False)[:3] == ["docker", "--context", "box"]
    assert "--rm" not in docker_run_argv(ctx, "demo/app:1.0", remove=False)
    with pytest.raises(InvalidReference):
        docker_run_argv(tcp, "Bad Name", [])
