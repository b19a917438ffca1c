"""The daemon's API over its local unix socket with the standard library alone.

``imagedeck`` (the first image list, :mod:`tui.prefetch`) and ``imagedeck layers`` (the
archive, :mod:`tui.layers_source`) ask a local daemon before, or instead of, importing docker-py
(a fifth of a second and about 25 MB) or http.client (which imports ssl, several MB). Both
ask in HTTP/1.0: the daemon (Go's net/http) then sends the body as it is, not in chunks, and
the end of the answer is the end of the socket. Only ``_socket`` is imported here, and only
when a request is made.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# typing, json and pathlib load after the first questions are sent (tui/early.py): mypy
# reads any name TYPE_CHECKING as true, Python sees False.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import _socket

DEFAULT_SOCKET = "/var/run/docker.sock"


def local_socket(
    host: str | None, context: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The unix socket the service will use, when that is plain to see without docker-py.

    ``--host unix://...``, ``DOCKER_HOST=unix://...``, or no host, context or current context
    at all (the default socket). Anything else (TCP, SSH, contexts) returns None: the
    service resolves it.
    """
    env = os.environ if environ is None else environ
    if host:
        return host.removeprefix("unix://") if host.startswith("unix://") else None
    if context:
        return None
    docker_host = env.get("DOCKER_HOST")
    if docker_host:
        return docker_host.removeprefix("unix://") if docker_host.startswith("unix://") else None
    if env.get("DOCKER_CONTEXT"):
        return None
    import json
    from pathlib import Path

    config_dir = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        config = json.loads((config_dir / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    current = config.get("currentContext") if isinstance(config, dict) else None
    return DEFAULT_SOCKET if current in (None, "", "default") else None


def send_get(socket_path: str, url: str, timeout: float) -> _socket.socket:
    """A socket connected to ``socket_path`` that has sent ``GET url`` in HTTP/1.0.

    The caller reads the answer and closes the socket; on an error here it is closed already.
    A ``_socket`` socket (what ``socket.socket`` is built on): the ``socket`` module's own
    imports, enum and selectors, are not needed for recv and close, and tui/early.py sends
    the first question before anything else is loaded.
    """
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(
            f"GET {url} HTTP/1.0\r\nHost: docker\r\nUser-Agent: imagedeck\r\n"
            "Connection: close\r\n\r\n".encode()
        )
    except OSError:
        sock.close()
        raise
    return sock


def parse_head(lines: list[str]) -> tuple[int | None, dict[str, str]]:
    """The status code (None when the first line is not an HTTP status line) and the headers.

    ``lines`` are the answer's head, one line each without the CRLF, the status line first;
    header names are lower-cased.
    """
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        status: int | None = int(lines[0].split()[1]) if lines else None
    except (IndexError, ValueError):
        status = None
    return status, headers
