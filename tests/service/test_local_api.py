"""The stdlib client (tui/service/local_api.py) against docker-py, on the real sandbox daemon.

A daemon on a unix socket is asked with the standard library for what the image list needs;
docker-py is loaded only for the other features. Here each call the list makes is made with
both clients on the same daemon (20.10, 26 overlay2, 26 containerd, Podman: whichever the
sandbox runs) and the answers must be equal; each error the service translates must give the
same sentence whichever client met it. Other tests share the daemon and change images
meanwhile, so answers are compared on the seeded images (read-only) or on a closed window of
events, never on the whole moving list.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Engine, Sandbox
from tests.daemon_proxy import DaemonProxy
from tui.service import ImageService
from tui.service.connection import Endpoint, open_api
from tui.service.core import open_local
from tui.service.errors import DaemonError, DaemonUnreachable, ImagedeckError, NotFound
from tui.service.local_api import LocalAPI

pytestmark = pytest.mark.daemon

SEEDED = ("demo/app", "demo/multi", "demo/alias", "imagedeck/busybox")


def _endpoint(host: str) -> Endpoint:
    return Endpoint(host=host, source="--host")


@pytest.fixture
def clients(sandbox: Sandbox) -> Iterator[tuple[LocalAPI, docker.APIClient]]:
    """The stdlib client and docker-py's, on the sandbox daemon."""
    endpoint = _endpoint(sandbox.docker_host)
    local = open_local(endpoint)
    assert isinstance(local, LocalAPI)
    dockerpy = open_api(endpoint)
    yield local, dockerpy
    local.close()
    dockerpy.close()


def _by_id(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: str(item["Id"]))


def _seeded(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list's entries of the seeded images, by ID (others come and go meanwhile)."""
    keep = [
        item
        for item in items
        if any(tag.rsplit(":", 1)[0].endswith(SEEDED) for tag in item.get("RepoTags") or [])
    ]
    return sorted(keep, key=lambda item: str(item["Id"]))


def test_the_lists_answers_equal_docker_pys(clients: tuple[LocalAPI, docker.APIClient]) -> None:
    local, dockerpy = clients
    assert local.api_version == dockerpy.api_version
    assert local.version() == dockerpy.version()
    assert local.ping() is True and dockerpy.ping() is True
    # The list: every image, all layers, named, dangling IDs.
    assert _seeded(local.images()) == _seeded(dockerpy.images())
    assert _seeded(local.images(all=True)) == _seeded(dockerpy.images(all=True))
    # Images made in the same second come in any order: compared by ID.
    named = _by_id(local.images(name="demo/app"))
    assert len(named) >= 1 and named == _by_id(dockerpy.images(name="demo/app"))
    assert sorted(local.images(name="demo/app", quiet=True)) == sorted(
        dockerpy.images(name="demo/app", quiet=True)
    )
    dangling_local = local.images(filters={"dangling": True}, quiet=True)
    assert all(isinstance(i, str) for i in dangling_local)
    # Dangling images of other tests come and go: the seeded one is in both.
    seeded_dangling = set(dangling_local) & set(
        dockerpy.images(filters={"dangling": True}, quiet=True)
    )
    assert seeded_dangling
    # Inspect, history.
    for reference in ("demo/app:1.0", "imagedeck/busybox:latest"):
        assert local.inspect_image(reference) == dockerpy.inspect_image(reference)
        assert local.history(reference) == dockerpy.history(reference)
    # Info: what a moment does not change.
    info_local, info_py = local.info(), dockerpy.info()
    assert set(info_local) == set(info_py)
    # (Podman makes up a new ID on every /info.)
    for key in ("Name", "ServerVersion", "Driver", "DockerRootDir", "OperatingSystem"):
        assert info_local.get(key) == info_py.get(key), key
    # Disk usage: the seeded images' entries (their shared sizes move with other tests').
    df_local, df_py = local.df(), dockerpy.df()
    assert set(df_local) == set(df_py)

    # (Podman's df names no tags and drops "sha256:": the seeded images are found by ID.)
    seeded = {str(i["Id"]).removeprefix("sha256:") for i in _seeded(local.images())}

    def stable(df: dict[str, Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (str(i["Id"]), i.get("Size"), i.get("RepoTags"))
            for i in df["Images"] or []
            if str(i["Id"]).removeprefix("sha256:") in seeded
        )

    assert stable(df_local) and stable(df_local) == stable(df_py)


def test_the_containers_answers_equal_docker_pys(
    clients: tuple[LocalAPI, docker.APIClient],
) -> None:
    local, dockerpy = clients

    def ours(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = [c for c in items if any(n.lstrip("/") == "ideck-stopped" for n in c["Names"])]
        return sorted(found, key=lambda c: str(c["Id"]))

    stopped = ours(local.containers(all=True))
    assert len(stopped) == 1 and stopped == ours(dockerpy.containers(all=True))
    assert ours(local.containers(all=True, size=True)) == ours(
        dockerpy.containers(all=True, size=True)
    )
    assert local.inspect_container("ideck-stopped") == dockerpy.inspect_container("ideck-stopped")


def test_the_events_equal_docker_pys_and_hold_the_tag_except_on_podman(
    clients: tuple[LocalAPI, docker.APIClient], docker_cli: DockerCli, engine: Engine
) -> None:
    # A closed window of the past (since .. until): both streams end by themselves and must
    # hold the same events, this test's tag among them (the Podman sandbox replays no past
    # events to either client).
    local, dockerpy = clients
    name = f"test/local-events-{uuid.uuid4().hex[:8]}:1"
    since = int(time.time()) - 1
    docker_cli("tag", BASE_IMAGE, name, check=True)
    docker_cli("rmi", name, check=True)
    until = int(time.time()) + 1
    while int(time.time()) <= until:  # the daemon ends the stream at `until`: let it pass
        time.sleep(0.1)
    filters = {"type": ["image", "container"]}
    from_local = list(local.events(since=since, until=until, filters=filters, decode=True))
    from_py = list(dockerpy.events(since=since, until=until, filters=filters, decode=True))
    assert from_local == from_py
    actions = [
        (e.get("Action"), (e.get("Actor") or {}).get("Attributes", {}).get("name"))
        for e in from_local
    ]
    if not engine.podman:
        assert any(action == "tag" for action, _ in actions), actions


def test_an_open_event_stream_stops_when_closed_from_another_thread(service: ImageService) -> None:
    # The events thread closes the stream on quit or reconnect; the reader must wake.
    import threading

    assert isinstance(service.api, LocalAPI)
    stream = service.open_events()
    ended = threading.Event()

    def read() -> None:
        for _ in stream:
            pass
        ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stream.close()
    reader.join(timeout=10)
    assert ended.is_set()


# -- errors --------------------------------------------------------------------------------------


def _outcome(call: Callable[[], object]) -> tuple[str, str]:
    try:
        call()
    except ImagedeckError as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


def _both(host: str) -> tuple[ImageService, ImageService]:
    endpoint = _endpoint(host)
    return ImageService(endpoint, open_local(endpoint)), ImageService(endpoint, open_api(endpoint))


def test_not_found_translates_the_same(sandbox: Sandbox) -> None:
    local, dockerpy = _both(sandbox.docker_host)
    absent = f"test/absent-{uuid.uuid4().hex[:8]}:x"
    for service in (local, dockerpy):
        with pytest.raises(NotFound):
            service.inspect_image(absent)
    assert _outcome(lambda: local.inspect_image(absent)) == _outcome(
        lambda: dockerpy.inspect_image(absent)
    )

    def container(service: ImageService) -> Callable[[], object]:
        def call() -> object:
            with service.translate("inspect container"):
                return service.api.inspect_container(f"absent-{uuid.uuid4().hex[:4]}x")

        return call

    # The name differs per call: compare the class and the sentence's start.
    kind_l, text_l = _outcome(container(local))
    kind_p, text_p = _outcome(container(dockerpy))
    assert kind_l == kind_p == "NotFound"
    assert text_l.split("absent-")[0] == text_p.split("absent-")[0]
    assert "docker" not in type(local.api).__module__


def test_an_api_version_too_old_translates_the_same(sandbox: Sandbox) -> None:
    endpoint = _endpoint(sandbox.docker_host)
    # docker-py refuses to be made with a version below 1.24, which every daemon here takes:
    # its version is set after (the URL it asks is then /v1.0/info, as the stdlib client's).
    local = LocalAPI.open(sandbox.socket_path, lambda: None)
    local.api_version = "1.0"
    dockerpy = docker.APIClient(base_url=sandbox.docker_host, version="1.24")
    dockerpy._version = "1.0"
    outcomes = []
    for api in (local, dockerpy):
        service = ImageService(endpoint, api)  # type: ignore[arg-type]

        def call(service: ImageService = service) -> object:
            with service.translate("ask the daemon for its info"):
                return service.api.info()

        outcomes.append(_outcome(call))
    assert outcomes[0] == outcomes[1]
    if outcomes[0][0] != "ok":  # Podman's compat API takes any version
        assert outcomes[0][0] == DaemonError.__name__
        assert "too old" in outcomes[0][1].lower()


def test_a_daemon_gone_translates_the_same(sandbox: Sandbox, tmp_path: Path) -> None:
    proxy = DaemonProxy(sandbox.socket_path, tmp_path / "proxy.sock")
    local, dockerpy = _both(proxy.docker_host)
    assert local.list_images() and dockerpy.list_images()
    proxy.cut()
    # The proxy's accept in progress may take one more connection after the cut (and drop
    # it: "closed the connection"), whoever asks first; after that both are refused.
    for service in (local, dockerpy):
        assert _outcome(service.list_images)[0] == DaemonUnreachable.__name__
    first = _outcome(local.list_images)
    assert "connection refused" in first[1]
    assert first == _outcome(dockerpy.list_images)
    # And at connect time: the socket is there but nobody listens.
    with_local = _outcome(
        lambda: ImageService(_endpoint(proxy.docker_host), open_local(_endpoint(proxy.docker_host)))
    )
    with_py = _outcome(
        lambda: ImageService(_endpoint(proxy.docker_host), open_api(_endpoint(proxy.docker_host)))
    )
    assert with_local[0] == DaemonUnreachable.__name__ and with_local == with_py


def test_a_missing_socket_translates_the_same(tmp_path: Path) -> None:
    host = f"unix://{tmp_path}/absent.sock"
    local = _outcome(lambda: open_local(_endpoint(host)))
    dockerpy = _outcome(lambda: open_api(_endpoint(host)))
    assert local == dockerpy
    assert "the socket does not exist" in local[1]


def test_permission_denied_on_the_socket_translates_the_same(tmp_path: Path) -> None:
    # A socket only its owner may use, asked by another user (a child, run as root like the
    # suite, that drops to nobody).
    import socket

    path = tmp_path / "private.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    os.chmod(path, 0o600)
    os.chmod(tmp_path, 0o755)
    endpoint = _endpoint(f"unix://{path}")
    # A forked child (the modules are loaded already: as nobody it could not read them) drops
    # to nobody and tries both clients; it writes the two sentences to a pipe.
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            texts = [_outcome(lambda o=opener: o(endpoint))[1] for opener in (open_local, open_api)]
            os.write(write_end, "\n".join(texts).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        output = pipe.read()
    os.waitpid(child, 0)
    listener.close()
    lines = output.splitlines()
    assert len(lines) == 2, output
    assert lines[0] == lines[1]
    assert "permission denied on the socket" in lines[0]
