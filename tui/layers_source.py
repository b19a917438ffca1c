"""Where ``imagedeck layers`` reads an image from: the bytes of its `docker save` archive.

One job: ``default_open_image_stream(host)`` gives an opener that, for an image reference,
streams the daemon's archive: over a bare unix socket when the daemon is local
(``_RawSaveStream``, no docker-py, no http.client: ``imagedeck layers`` is measured beside
dive), else through ``ImageService.save_stream``, else from a `docker save` child process
(``_DockerSaveStream``) when docker-py is missing. Errors are ImagedeckErrors in words.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from tui.service.errors import ImagedeckError, NotFound
from tui.unix_http import local_socket, parse_head, send_get

if TYPE_CHECKING:
    from tui.analysis import ImageAnalysis, ProgressCallback

OpenImageStream = Callable[[str], IO[bytes]]


class _DockerSaveStream:
    """Stdout of `docker save REF`; at the end, a failed command becomes a readable error."""

    def __init__(self, reference: str, host: str | None) -> None:
        argv = ["docker"]
        if host:
            argv += ["--host", host]
        argv += ["save", reference]
        self._reference = reference
        import subprocess

        try:
            self._proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError:
            raise _analysis_error(
                "The docker command is not installed; pass a `docker save` archive instead"
            ) from None

    def read(self, size: int = -1) -> bytes:
        """Read stdout; at its end, raise if `docker save` failed."""
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(size)
        if not data:
            self._check()
        return data

    def _check(self) -> None:
        assert self._proc.stderr is not None
        err = self._proc.stderr.read().decode(errors="replace").strip()
        code = self._proc.wait()
        if code != 0:
            detail = err.splitlines()[-1] if err else f"exit status {code}"
            raise _analysis_error(f"docker save {self._reference} failed: {detail}")

    def close(self) -> None:
        """Stop `docker save` if it still runs and release its pipes."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()


def _analysis_error(message: str) -> ImagedeckError:
    from tui.analysis import LayerAnalysisError

    return LayerAnalysisError(message)


# Seconds one socket operation may take: the daemon writes the whole archive to a temporary
# directory before the first byte (overlay2), which takes a while for a large image.
_RAW_TIMEOUT = 600.0
_RECV_SIZE = 256 << 10
# Receives the thread may hold ahead of the analysis (at most 2 MiB).
_QUEUED_RECEIVES = 8


class _RawSaveStream:
    """`GET /images/REF/get` from a daemon on a local unix socket, over a bare socket.

    The request is sent when the object is made and the answer is read at the first
    ``read()``, so the daemon prepares the archive while the analysis modules are imported.
    Neither docker-py nor http.client is needed to read one stream: docker-py costs a fifth
    of a second and about 25 MB of resident memory, http.client imports ssl (several MB), and
    ``imagedeck layers`` is measured beside dive, a Go binary. The chunked transfer coding is
    decoded here, with large receives.
    """

    def __init__(self, socket_path: str, reference: str) -> None:
        from urllib.parse import quote

        self._reference = reference
        # Quoted as docker-py quotes a path argument. HTTP/1.0: the daemon (Go's net/http)
        # then sends the archive as it is, not in 32 kB chunks to decode (a third of the
        # reading's CPU time), and the end of the answer is the end of the socket (the
        # receiving thread waits for full receives, see _drain). A chunked answer is still
        # understood.
        self._sock = send_get(
            socket_path, f"/images/{quote(reference, safe='/:')}/get", _RAW_TIMEOUT
        )
        self._data = b""  # received, not yet consumed from ``_pos`` on
        self._pos = 0
        self._started = False
        self._chunked = False
        self._left = -1  # bytes left in this chunk (or of a Content-Length body; -1: to EOF)
        self._eof = False
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=_QUEUED_RECEIVES)
        self._thread: threading.Thread | None = None
        self._closed = False

    def _drain(self) -> None:
        """The receiving thread: keep the socket drained while the analysis works.

        The daemon writes the archive in small flushed chunks and stalls whenever the socket
        is full; reading it on a thread of its own (recv releases the GIL) lets it go on
        writing while the tar headers are parsed. The queue is bounded, so a slow reader holds
        at most a few MiB.
        """
        import socket

        try:
            while not self._closed:
                # MSG_WAITALL: one wake-up of this thread per 256 kB rather than one per
                # daemon write (32 kB); the kernel fills the buffer as the data comes.
                chunk = self._sock.recv(_RECV_SIZE, socket.MSG_WAITALL)
                while not self._closed:
                    try:
                        self._queue.put(chunk, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if not chunk:
                    return
        except BaseException as exc:  # the reader must hear of any failure, or it waits forever
            if not self._closed:
                self._queue.put(exc)

    def _recv(self) -> bool:
        """Append what has arrived; False at the end of the answer."""
        if self._thread is None:
            # The receiving thread needs the GIL for a moment after each receive; by default
            # it would wait up to 5 ms for the parser to let go, and the daemon's writes with
            # it (a 200 kB socket buffer per 5 ms is 40 MB/s).
            sys.setswitchinterval(0.0005)
            self._thread = threading.Thread(target=self._drain, name="save-stream", daemon=True)
            self._thread.start()
        chunk = self._queue.get()
        if isinstance(chunk, BaseException):
            raise chunk
        if not chunk:
            self._queue.put(chunk)  # stays at the end for any later read
            return False
        self._data = self._data[self._pos :] + chunk if self._pos < len(self._data) else chunk
        self._pos = 0
        return True

    def _line(self) -> bytes:
        """One CRLF-terminated line (without the CRLF)."""
        while True:
            end = self._data.find(b"\r\n", self._pos)
            if end >= 0:
                line = self._data[self._pos : end]
                self._pos = end + 2
                return line
            if len(self._data) - self._pos > 64 << 10 or not self._recv():
                raise _analysis_error(
                    f"docker save {self._reference}: the daemon's answer broke off"
                )

    def _start(self) -> None:
        self._started = True
        head = [self._line().decode("latin-1")]
        while line := self._line():
            head.append(line.decode("latin-1"))
        status, headers = parse_head(head)
        if status is None:
            raise _analysis_error(f"docker save {self._reference}: not an HTTP answer")
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not self._chunked and headers.get("content-length", "").isdigit():
            self._left = int(headers["content-length"])
            self._eof = self._left == 0
        if status != 200:
            body = self.read(64 << 10)
            try:
                message = str(json.loads(body).get("message", ""))
            except (ValueError, AttributeError):
                message = body.decode(errors="replace").strip()
            message = message or f"HTTP {status}"
            if status == 404:
                raise NotFound(f"save {self._reference}: No such image ({message})")
            raise _analysis_error(f"docker save {self._reference} failed: {message}")

    def _available(self, wait: bool) -> int:
        """Bytes of the body ready at ``_pos`` (0 at its end, or when not ``wait``ing)."""
        if self._eof:
            return 0
        if self._chunked and self._left <= 0:
            if self._left == 0:
                self._line()  # the CRLF after a chunk's data
            text = self._line().split(b";", 1)[0].strip()
            try:
                self._left = int(text, 16)
            except ValueError:
                raise _analysis_error(
                    f"docker save {self._reference}: the daemon's answer is garbled"
                ) from None
            if self._left == 0:
                self._eof = True  # trailers, if any, are not needed
                return 0
        if self._pos >= len(self._data):
            if not wait:
                return 0
            if not self._recv():
                if self._left > 0:
                    raise _analysis_error(
                        f"docker save {self._reference}: the daemon's answer broke off"
                    )
                self._eof = True
                return 0
        ready = len(self._data) - self._pos
        return min(ready, self._left) if self._left >= 0 else ready

    def _consumed(self, count: int) -> None:
        self._pos += count
        if self._left >= 0:
            self._left -= count
            if self._left == 0 and not self._chunked:
                self._eof = True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the archive (what has arrived; b"" at its end)."""
        if not self._started:
            self._start()
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_RECV_SIZE), b""))
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            take = min(self._available(wait=not parts), wanted)
            if take <= 0:
                break  # the end, or return what there is rather than wait
            parts.append(self._data[self._pos : self._pos + take])
            self._consumed(take)
            wanted -= take
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def skip(self, size: int) -> int:
        """Drop up to ``size`` bytes without copying them (file contents nobody reads)."""
        if not self._started:
            self._start()
        done = 0
        while done < size:
            take = min(self._available(wait=True), size - done)
            if take <= 0:
                break
            self._consumed(take)
            done += take
        return done

    def close(self) -> None:
        """Drop the connection: the daemon stops writing once it sees it."""
        import socket

        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the receiving thread
        if self._thread is not None:
            self._thread.join(1.0)
        self._sock.close()


def default_open_image_stream(host: str | None) -> OpenImageStream:
    """``ImageService.connect(host).save_stream``; `docker save` when the service is missing."""

    def open_stream(reference: str) -> IO[bytes]:
        unix_socket = local_socket(host)
        if unix_socket is not None:
            try:
                return _RawSaveStream(unix_socket, reference)  # type: ignore[return-value]
            except OSError:
                pass  # no daemon there: the service says so in its own words
        try:
            # Imported here: docker-py is only needed when an image, not a file, is analysed.
            from tui.service import ImageService
        except ImportError:
            return _DockerSaveStream(reference, host)  # type: ignore[return-value]
        service = ImageService.connect(host, None)
        return service.save_stream(reference)

    return open_stream


def storage_analysis(
    host: str | None,
    reference: str,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    required: bool = False,
) -> ImageAnalysis | None:
    """The analysis from the daemon's own overlay2 metadata, or None to stream from the API.

    Only for a daemon on a local unix socket whose data root this process can read (see
    ``tui.layers_storage`` for every check). None when anything is in doubt; the reason is
    logged at debug level. ``required``: raise an ImagedeckError with the reason instead.
    """
    unix_socket = local_socket(host)
    reason = "the daemon is not on a local unix socket"
    if unix_socket is not None:
        from tui.layers_storage import PieceReader, StorageRefused, read_storage_image

        try:
            image = read_storage_image(unix_socket, reference)
        except (StorageRefused, OSError, ValueError, UnicodeError) as exc:
            reason = (
                f"{type(exc).__name__}: {exc}" if not isinstance(exc, StorageRefused) else str(exc)
            )
        else:
            from tui.analysis import analyze_layers

            return analyze_layers(
                [(layer.tar_path, PieceReader(layer.tar_split)) for layer in image.layers],
                image.config,
                name=reference,
                total=image.size or None,
                progress=progress,
                cancel=cancel,
            )
    import logging  # only here: a fallback is rare, and logging is 2 MB of resident memory

    logging.getLogger(__name__).debug("layers of %s from the API stream: %s", reference, reason)
    if required:
        raise _analysis_error(f"The daemon's storage cannot be read for {reference}: {reason}")
    return None
