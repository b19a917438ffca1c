"""`service.history` and the inspect path query against the sandbox daemon and the docker CLI."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from tui.service.errors import NotFound
from tui.widgets.json_tree import parse_path, resolve, value_text

DockerCli = Callable[..., subprocess.CompletedProcess[str]]
SEEDED = ["demo/wasted:latest", "demo/app:1.0", "imagedeck/busybox:latest", "demo/running:latest"]


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over the daemon's unix socket, without docker-py (an independent witness)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self._path)
        self.sock = sock


def raw_api(socket_path: str, path: str) -> Any:
    """GET a daemon API path over the sandbox's unix socket and decode the JSON."""
    connection = _UnixConnection(socket_path)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        return json.loads(body)
    finally:
        connection.close()


def docker_size(size: int) -> str:
    """The Docker CLI's size text: units.HumanSizeWithPrecision(size, 3), decimal units."""
    value = float(size)
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    index = 0
    while value >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{value:.3g}{units[index]}"


def cli(docker_cli: DockerCli, *args: str) -> str:
    result = docker_cli(*args)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


@pytest.mark.daemon
@pytest.mark.parametrize("reference", SEEDED)
def test_history_equals_docker_history_no_trunc(
    service: Any, docker_cli: DockerCli, reference: str
) -> None:
    history = service.history(reference)
    lines = cli(docker_cli, "history", "--no-trunc", "--format", "{{json .}}", reference)
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    assert len(history.entries) == len(rows) > 0
    for entry, row in zip(history.entries, rows, strict=True):  # newest first on both sides
        assert entry.created_by == row["CreatedBy"]
        assert (entry.id or "<missing>") == row["ID"]
        assert entry.comment == row["Comment"]
        assert docker_size(entry.size) == row["Size"]
        assert entry.created == datetime.fromisoformat(row["CreatedAt"].replace("Z", "+00:00"))


@pytest.mark.daemon
@pytest.mark.parametrize("reference", SEEDED)
def test_history_sizes_equal_the_raw_api_exactly(
    service: Any, sandbox: Any, reference: str
) -> None:
    history = service.history(reference)
    raw = raw_api(sandbox.socket_path, f"/images/{quote(reference, safe='')}/history")
    assert [e.size for e in history.entries] == [int(item["Size"]) for item in raw]
    assert [e.created_by for e in history.entries] == [item["CreatedBy"] for item in raw]


@pytest.mark.daemon
def test_history_header_figures_equal_docker_inspect(service: Any, docker_cli: DockerCli) -> None:
    history = service.history("demo/wasted:latest")
    assert (
        str(history.size)
        == cli(docker_cli, "inspect", "-f", "{{.Size}}", "demo/wasted:latest").strip()
    )
    layers = json.loads(
        cli(docker_cli, "inspect", "-f", "{{json .RootFS.Layers}}", "demo/wasted:latest")
    )
    assert history.layers == len(layers) == 5
    # Every entry that is not metadata-only made exactly one of those layers.
    assert sum(1 for e in history.entries if not e.empty) == history.layers
    keywords = [e.keyword for e in history.entries]
    assert keywords[:5] == ["CMD", "RUN", "RUN", "RUN", "RUN"]
    assert history.entries[0].empty and history.entries[0].instruction == 'CMD ["ls" "-l" "/data"]'
    assert history.entries[2].instruction == "RUN rm -rf /data/cache"


@pytest.mark.daemon
def test_history_of_a_missing_image_is_not_found(service: Any) -> None:
    with pytest.raises(NotFound, match="demo/nope:missing"):
        service.history("demo/nope:missing")


@pytest.mark.daemon
@pytest.mark.parametrize("reference", ["demo/wasted:latest", "demo/app:1.0"])
def test_path_query_equals_docker_inspect_format(
    service: Any, docker_cli: DockerCli, reference: str
) -> None:
    document = service.inspect_image(reference)
    for query, template in [
        (".Size", "{{.Size}}"),
        ("{{.Size}}", "{{.Size}}"),
        (".Id", "{{.Id}}"),
        (".Config.Env", "{{json .Config.Env}}"),
        (".Config.Cmd", "{{json .Config.Cmd}}"),
        (".RootFS.Layers[0]", "{{index .RootFS.Layers 0}}"),
        (".RootFS", "{{json .RootFS}}"),
    ]:
        _, value = resolve(document, parse_path(query))
        expected = cli(docker_cli, "inspect", "-f", template, reference).strip()
        assert value_text(value) == expected, query
