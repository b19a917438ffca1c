"""Prefetch: the stdlib image list over a unix socket, and when it is (not) used."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.conftest import in_child
from tests.ui.fake import FakeService, make_image
from tui.early import neutral, send_early
from tui.prefetch import Prefetch
from tui.service.connection import Endpoint
from tui.unix_http import DEFAULT_SOCKET, local_socket

RAW = [
    {
        "Id": "sha256:" + "a" * 64,
        "RepoTags": ["demo/app:1", "demo/app:10"],
        "Created": 1_700_000_000,
        "Size": 1234,
        "SharedSize": -1,
        "Containers": -1,
        "Labels": {"k": "v"},
    },
    {
        "Id": "sha256:" + "b" * 64,
        "RepoTags": None,
        "RepoDigests": ["demo/x@sha256:" + "c" * 64],
        "Created": 1_700_000_100,
        "Size": 99,
        "SharedSize": -1,
        "Containers": -1,
    },
]


class _Handler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []
    listed: list[dict[str, Any]] = RAW  # what /images/json lists

    def do_GET(self) -> None:
        """Answer like the daemon's /images/json (the dangling filter gives the untagged one)."""
        type(self).requests.append(self.path)
        listed = type(self).listed
        body = listed if "dangling" not in self.path else [i for i in listed if i is RAW[1]]
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self) -> str:
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def daemon_socket(tmp_path: Path) -> Iterator[str]:
    """A tiny HTTP server on a unix socket that answers /images/json like the daemon."""
    path = str(tmp_path / "docker.sock")
    _Handler.requests = []
    _Handler.listed = RAW
    server = _Server(path, _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path
    server.shutdown()
    server.server_close()


class _Service(FakeService):
    def __init__(self, host: str) -> None:
        super().__init__([make_image(7, ("from/service:1",))])
        self.endpoint = Endpoint(host=host, source="test")


def _prefetch(socket_path: str | None, service: _Service) -> Prefetch:
    return Prefetch(lambda: service, unix_socket=socket_path).start_raw().start()  # type: ignore[arg-type,return-value]


def test_the_stdlib_list_is_used_when_the_service_talks_to_the_same_socket(
    daemon_socket: str,
) -> None:
    service = _Service(f"unix://{daemon_socket}")
    prefetch = _prefetch(daemon_socket, service)
    images = prefetch.images.result(timeout=10)
    assert [i.tags for i in images] == [("demo/app:1", "demo/app:10"), ()]
    assert [i.dangling for i in images] == [False, True]
    assert images[0].size == 1234 and images[0].shared_size is None
    assert images[0].labels == (("k", "v"),)
    assert not any(name == "list_images" for name, _ in service.calls)
    assert prefetch.service.result(timeout=10) is service
    assert prefetch.usage.result(timeout=10) is not None
    assert prefetch.info.result(timeout=10).server_version
    # Both asked at once (two connections), so in either order.
    assert sorted(unquote(r) for r in _Handler.requests) == [
        "/images/json",
        '/images/json?filters={"dangling": ["true"]}',
    ]


def test_another_endpoint_falls_back_to_the_service(daemon_socket: str) -> None:
    service = _Service("tcp://10.0.0.1:2375")
    images = _prefetch(daemon_socket, service).images.result(timeout=10)
    assert [i.tags for i in images] == [("from/service:1",)]


def test_an_unreachable_socket_falls_back_to_the_service(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing.sock")
    service = _Service(f"unix://{missing}")
    images = _prefetch(missing, service).images.result(timeout=10)
    assert [i.tags for i in images] == [("from/service:1",)]


def test_a_failing_service_fails_every_future() -> None:
    def broken() -> Any:
        raise RuntimeError("no daemon")

    prefetch = Prefetch(broken).start_raw().start()
    for future in (prefetch.service, prefetch.info, prefetch.images, prefetch.usage):
        with pytest.raises(RuntimeError):
            future.result(timeout=10)


def test_local_socket_only_when_plain_to_see(tmp_path: Path) -> None:
    empty = {"DOCKER_CONFIG": str(tmp_path)}
    assert local_socket(None, None, empty) == DEFAULT_SOCKET
    assert local_socket("unix:///run/d.sock", None, empty) == "/run/d.sock"
    assert local_socket("tcp://h:2375", None, empty) is None
    assert local_socket(None, "remote", empty) is None
    assert local_socket(None, None, {**empty, "DOCKER_HOST": "unix:///x.sock"}) == "/x.sock"
    assert local_socket(None, None, {**empty, "DOCKER_HOST": "ssh://me@h"}) is None
    assert local_socket(None, None, {**empty, "DOCKER_CONTEXT": "other"}) is None
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    assert local_socket(None, None, empty) is None
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "default"}))
    assert local_socket(None, None, empty) == DEFAULT_SOCKET


def test_import_service_leaves_paramiko_out_for_a_local_socket_but_importable() -> None:
    # A fresh interpreter: this one has imported docker-py (and maybe paramiko) already.
    # The service layer imports docker-py only when a feature needs it (import_docker, on a
    # worker), and then without paramiko unless it is loaded already.
    code = (
        "import sys\n"
        "from tui.prefetch import import_service\n"
        "import_service(ssh=False)\n"
        "heavy = ('docker', 'requests', 'urllib3', 'charset_normalizer', 'paramiko')\n"
        "assert not [m for m in heavy if m in sys.modules], sorted(sys.modules)\n"
        "from tui.service.core import import_docker\n"
        "import_docker()\n"
        "assert 'docker' in sys.modules and 'paramiko' not in sys.modules, sorted(sys.modules)\n"
        "from tui.service import ImageService\n"
        "import paramiko\n"
        "print('ok', paramiko.SSHClient.__name__)\n"
    )
    assert in_child(code) == "ok SSHClient"


def test_the_early_questions_are_the_ones_the_prefetch_reads(
    daemon_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sent before the command line is parsed (tui/early.py); the prefetch then reads those
    # answers instead of asking again: the daemon sees each question once.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{daemon_socket}")
    early = send_early(["--log-level", "debug", "--config=x.toml"])
    assert early is not None and early.path == daemon_socket
    service = _Service(f"unix://{daemon_socket}")
    prefetch = Prefetch(lambda: service, unix_socket=daemon_socket, early=early)  # type: ignore[arg-type,return-value]
    images = prefetch.start_raw().start().images.result(timeout=10)
    assert [i.tags for i in images] == [("demo/app:1", "demo/app:10"), ()]
    assert [i.dangling for i in images] == [False, True]
    # The list was asked for early; the dangling images once the list showed an untagged one.
    assert [unquote(r) for r in _Handler.requests] == [
        "/images/json",
        '/images/json?filters={"dangling": ["true"]}',
    ]
    assert early.take("/images/json") is None  # taken once


def test_a_list_without_an_untagged_image_asks_nothing_more(daemon_socket: str) -> None:
    # Only an untagged image can be dangling: every image has a tag, so none is, and the
    # daemon is asked once.
    _Handler.listed = [RAW[0]]
    prefetch = Prefetch(lambda: None, unix_socket=daemon_socket)  # type: ignore[arg-type,return-value]
    prefetch.start_raw()
    everything, dangling = prefetch.raw.result(timeout=10)
    assert everything == [RAW[0]] and dangling.result(timeout=0) == []
    assert [i.dangling for i in prefetch.early.result(timeout=10)] == [False]
    assert _Handler.requests == ["/images/json"]


def test_the_list_is_handed_over_before_the_dangling_answer(daemon_socket: str) -> None:
    # The first page may be drawn from the list while the dangling images are still asked for.
    asked = threading.Event()
    answer = threading.Event()
    real_get = _Handler.do_GET

    def slow_dangling(handler: _Handler) -> None:
        if "dangling" in handler.path:
            asked.set()
            answer.wait(10)
        real_get(handler)

    _Handler.do_GET = slow_dangling  # type: ignore[method-assign]
    try:
        prefetch = Prefetch(lambda: None, unix_socket=daemon_socket)  # type: ignore[arg-type,return-value]
        prefetch.start_raw()
        everything, dangling = prefetch.raw.result(timeout=10)
        assert asked.wait(10) and not dangling.done()
        assert everything == RAW
        answer.set()
        assert dangling.result(timeout=10) == [RAW[1]]
        assert [i.dangling for i in prefetch.early.result(timeout=10)] == [False, True]
    finally:
        answer.set()
        _Handler.do_GET = real_get  # type: ignore[method-assign]


def test_nothing_is_sent_early_when_an_argument_may_name_another_daemon(
    daemon_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{daemon_socket}")
    for args in (["-H", "tcp://h:2375"], ["--host=unix:///x"], ["--cont", "c"], ["--help"]):
        assert not neutral(args)
        assert send_early(args) is None
    assert neutral([]) and neutral(["--config", "c.toml", "--log-level=info"])
    monkeypatch.setenv("DOCKER_HOST", "tcp://h:2375")
    assert send_early([]) is None
    assert _Handler.requests == []


def test_a_held_parse_waits_for_the_first_page(daemon_socket: str) -> None:
    prefetch = Prefetch(lambda: None, unix_socket=daemon_socket)  # type: ignore[arg-type,return-value]
    prefetch.hold_parse()
    prefetch.start_raw()
    assert prefetch.raw.result(timeout=10)[0][0]["RepoTags"] == ["demo/app:1", "demo/app:10"]
    # The answers are there; the images are not made until the page is drawn.
    assert not prefetch.early.done()
    prefetch.release_parse()
    assert len(prefetch.early.result(timeout=10)) == 2


@pytest.mark.parametrize(
    "header",
    [
        "Fri, 04 Dec 2026 10:35:40 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Thu, 29 Feb 2024 23:59:59 GMT",
        # The other forms HTTP allows go to email.utils.
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ],
)
def test_http_date_reads_what_email_utils_reads(header: str) -> None:
    import email.utils

    from tui.prefetch import http_date

    assert http_date(header) == email.utils.parsedate_to_datetime(header).timestamp()


@pytest.mark.parametrize(
    "header", ["", "yesterday", "Fri, 31 Feb 2026 10:35:40 GMT", "Fri, 04 Dec 2026 25:xx:40 GMT"]
)
def test_http_date_is_none_for_what_is_not_a_date(header: str) -> None:
    from tui.prefetch import http_date

    assert http_date(header) is None


def test_the_daemons_time_is_the_send_time_moved_by_the_clock_offset() -> None:
    from tui.prefetch import _daemon_time_before, http_date

    header = "Fri, 04 Dec 2026 10:35:40 GMT"
    daemon = http_date(header)
    assert daemon is not None
    # Local clock readings 1000 s (sent) and 1001 s (answered) past the daemon's Date: the
    # daemon's time at sending is taken as 1001 s before the local one (never later).
    sent, answered = daemon + 1000.0, daemon + 1001.0
    assert _daemon_time_before([(sent, answered, header)]) == sent - 1001.0
    assert _daemon_time_before([(sent, answered, "")]) is None
    assert _daemon_time_before([]) is None
