"""A unix-socket proxy in front of the sandbox daemon that a test can freeze or cut.

imagedeck talks to the proxy's socket; the proxy forwards bytes both ways to the real daemon.
A test then plays the daemon's faults without touching the shared daemon itself:

- ``freeze()``: like ``kill -STOP dockerd``: connections are still accepted (the kernel's
  backlog does that for a stopped process too) but nothing is answered; ``thaw()`` resumes and
  delivers what waited.
- ``cut()``: like ``kill -9 dockerd``: every open connection is reset, and new ones are
  refused (the socket file stays, nobody listens: ECONNREFUSED). The real daemon sees its
  client go away and abandons the request, as it would have to anyway. ``restore()`` listens
  again: the daemon is back.
- ``cut_when(pattern)``: cut as soon as the daemon's answer contains ``pattern`` (after
  forwarding that chunk), e.g. mid-pull once the first layer reports progress.
- ``requests``: the request lines seen (``DELETE /v1.45/images/...``), and ``on_request`` a
  hook called with each, so a test can cut after the N-th removal.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

CHUNK = 65536


class DaemonProxy:
    """Forwards ``path`` (a new unix socket) to the daemon socket ``upstream``."""

    def __init__(self, upstream: str, path: str | Path) -> None:
        self.upstream = upstream
        self.path = str(path)
        self.requests: list[bytes] = []
        self.on_request: Callable[[bytes], None] | None = None
        self._pattern: bytes | None = None
        self._lock = threading.Lock()
        self._running = threading.Event()  # set: bytes flow; clear: frozen
        self._running.set()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self._closed = False
        self.cuts = 0
        self._listen()

    @property
    def docker_host(self) -> str:
        """``unix://`` URL of the proxy, for DOCKER_HOST or ImageService.connect."""
        return f"unix://{self.path}"

    # -- faults ------------------------------------------------------------------------------

    def freeze(self) -> None:
        """Stop answering (connections are accepted, nothing moves)."""
        self._running.clear()

    def thaw(self) -> None:
        """Answer again; whatever waited is delivered."""
        self._running.set()

    def cut(self) -> None:
        """The daemon dies: reset every connection and refuse new ones."""
        with self._lock:
            self.cuts += 1
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        if listener is not None:
            # Closing the listening socket leaves the file: connecting then gives ECONNREFUSED,
            # exactly what a killed daemon's stale socket gives.
            listener.close()
        for client, upstream in pairs:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    # SO_LINGER 0: a reset, not an orderly close, like a killed process.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
        self._running.set()

    def cut_when(self, pattern: bytes) -> None:
        """Cut as soon as the daemon's answer holds ``pattern``."""
        self._pattern = pattern

    def restore(self) -> None:
        """The daemon is back: listen again on the same path."""
        with self._lock:
            if self._listener is None and not self._closed:
                self._listen()

    def close(self) -> None:
        """Stop everything and remove the socket file."""
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    # -- plumbing ----------------------------------------------------------------------------

    def _listen(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or closed
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._running.wait()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.upstream)
        except OSError:
            client.close()
            upstream.close()
            return
        with self._lock:
            if self._listener is None:  # cut while connecting
                client.close()
                upstream.close()
                return
            self._pairs.append((client, upstream))
        threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, to_daemon: bool) -> None:
        tail = b""
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            self._running.wait()
            if to_daemon:
                self._note_requests(data)
            try:
                target.sendall(data)
            except OSError:
                return
            if not to_daemon and self._pattern is not None:
                seen = tail + data
                if self._pattern in seen:
                    self._pattern = None
                    self.cut()
                    return
                tail = seen[-len(self._pattern) :]

    def _note_requests(self, data: bytes) -> None:
        for method in (b"GET ", b"POST ", b"DELETE ", b"HEAD ", b"PUT "):
            start = data.find(method)
            while start != -1:
                end = data.find(b"\r\n", start)
                line = data[start : end if end != -1 else start + 200]
                if b" HTTP/1." in line:
                    self.requests.append(line)
                    if self.on_request is not None:
                        self.on_request(line)
                start = data.find(method, start + 1)
