"""`imagedeck layers` reads `docker save` from a local socket without docker-py.

The stream's HTTP decoding is checked against a tiny server on a unix socket that answers
the way the daemon does (chunked, with chunk sizes that cut tar blocks anywhere); the
daemon itself is in tests/service/test_layers_daemon.py.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.layers_source import _RawSaveStream
from tui.service.errors import NotFound


def _serve_once(path: Path, answer: bytes, seen: list[bytes]) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def run() -> None:
        conn, _ = server.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            seen.append(request)
            # Small sends, so the reader sees every split of lines and chunks.
            for start in range(0, len(answer), 997):
                conn.sendall(answer[start : start + 997])
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _chunked(body: bytes, rng: random.Random) -> bytes:
    out = [b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n"]
    out.append(b"Transfer-Encoding: chunked\r\n\r\n")
    pos = 0
    while pos < len(body):
        size = rng.choice([1, 7, 512, 4096, 32768, 100_000])
        piece = body[pos : pos + size]
        out.append(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        pos += len(piece)
    out.append(b"0\r\n\r\n")
    return b"".join(out)


@pytest.fixture
def sock_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "d.sock"


def test_chunked_answer_is_decoded_exactly(sock_path: Path) -> None:
    rng = random.Random(4)
    body = rng.randbytes(700_001)
    seen: list[bytes] = []
    thread = _serve_once(sock_path, _chunked(body, rng), seen)
    stream = _RawSaveStream(str(sock_path), "demo/app:1.0")
    got = []
    pos = 0
    while True:
        size = rng.choice([1, 511, 4096, 100_000, 1 << 20])
        if rng.random() < 0.3:
            skipped = stream.skip(size)  # skipped bytes are not returned, only counted
            got.append(body[pos : pos + skipped])
            data = b"x" if skipped else b""
        else:
            data = stream.read(size)
            got.append(data)
            skipped = len(data)
        pos += skipped
        if not data:
            break
    stream.close()
    thread.join(5)
    assert b"".join(got) == body
    assert seen[0].startswith(b"GET /images/demo/app:1.0/get HTTP/1.0\r\n")


def test_content_length_answer(sock_path: Path) -> None:
    body = b"x" * 5000
    answer = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    thread = _serve_once(sock_path, answer, [])
    stream = _RawSaveStream(str(sock_path), "a")
    assert stream.read(-1) == body
    assert stream.read(10) == b""
    stream.close()
    thread.join(5)


def test_not_found_is_a_readable_error(sock_path: Path) -> None:
    message = json.dumps({"message": "reference does not exist"}).encode()
    answer = f"HTTP/1.1 404 Not Found\r\nContent-Length: {len(message)}\r\n\r\n".encode() + message
    thread = _serve_once(sock_path, answer, [])
    stream = _RawSaveStream(str(sock_path), "demo/nope:missing")
    with pytest.raises(NotFound, match=r"demo/nope:missing.*reference does not exist"):
        stream.read(512)
    stream.close()
    thread.join(5)
