"""Start listing images before docker-py and Textual are even imported.

Cold start is dominated by imports; the first daemon requests overlap with them. The result is
picked up by the app's first load, which then has nothing to wait for.

For a local daemon on a unix socket (the usual case) the image list is asked for with the
standard library alone, before docker-py is imported: the daemon takes a while to answer for
thousands of tags, and that time overlaps with the imports instead of following them. The
answer is used only when the service then connects to the same socket; any doubt (another
endpoint, an error) falls back to the service's own request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tui.early import ALL as _ALL
from tui.early import DANGLING as _DANGLING
from tui.unix_http import parse_head, send_get

if TYPE_CHECKING:
    import _socket

    from tui.early import EarlyRequest
    from tui.service import ImageService
    from tui.service.models import DaemonInfo, DiskUsage, Image

RAW_TIMEOUT = 30.0


class Prefetch:
    """Futures for the connected service, its info, the image list and disk usage."""

    def __init__(
        self,
        factory: Callable[[], ImageService],
        *,
        unix_socket: str | None = None,
        early: EarlyRequest | None = None,
    ) -> None:
        self.service: Future[ImageService] = Future()
        self.info: Future[DaemonInfo] = Future()
        self.images: Future[list[Image]] = Future()
        self.usage: Future[DiskUsage] = Future()
        self._factory = factory
        self._socket = unix_socket
        # The /images/json answers (all, dangling) asked for with the stdlib and parsed without
        # docker-py: the first frame's list, and the service's first list when it is the same
        # daemon (parsed once, used twice).
        self.early: Future[list[Image]] = Future()
        # The daemon's time at (or just before) the early list: events start there.
        self.early_since: float | None = None
        # The two answers as decoded JSON (all images; the dangling ones, asked for after the
        # first and only when an image is untagged, so a Future of its own), for the first page
        # painted before Textual loads (tui/firstpaint.py), and whether it was painted.
        self.raw: Future[tuple[list[dict[str, Any]], Future[list[dict[str, Any]]]]] = Future()
        self.painted = False
        # Questions sent before the command line was parsed (tui/early.py), for this socket.
        self._early_request = early if early is not None and early.path == unix_socket else None
        if early is not None and self._early_request is None:
            early.close()
        # Set while the first page is being drawn: the answers are parsed into images only
        # after that (see hold_parse).
        self._parse_gate: threading.Event | None = None
        self._started = False
        self._start_lock = threading.Lock()

    def drop_raw(self) -> None:
        """Let the decoded answers go once the first page is drawn (a few MB at 10,000 tags).

        Only once they are there: the request's thread sets them.
        """
        if self.raw.done():
            self.raw = Future()
            self.raw.set_exception(LookupError("the raw answers were used and let go"))

    @property
    def has_early(self) -> bool:
        """True when an early (docker-py free) image list is being asked for."""
        return self._socket is not None

    def hold_parse(self) -> None:
        """Parse the answers into images only once :meth:`release_parse` is called.

        The parse (40 ms of Python at 10,000 tags) would otherwise run in its thread while the
        main thread draws the first page from the same answers, and take half its time (GIL).
        """
        self._parse_gate = threading.Event()

    def release_parse(self) -> None:
        """Let the held parse run (the first page is drawn, or will not be)."""
        if self._parse_gate is not None:
            self._parse_gate.set()

    def start_raw(self) -> Prefetch:
        """Ask for the image list with the standard library now (local socket only).

        Call before importing docker-py; returns self.
        """
        if self._socket is not None:
            threading.Thread(target=self._run_raw, name="prefetch-raw", daemon=True).start()
        else:
            if self._early_request is not None:
                self._early_request.close()
            error = LookupError("no local socket to ask without docker-py")
            self.raw.set_exception(error)
            self.early.set_exception(error)
        return self

    def start(self) -> Prefetch:
        """Connect and run the service's requests on daemon threads; returns self (once).

        The factory imports docker-py in that thread. docker-py's package has import cycles
        that break when two threads import it at once, so nothing else may import it meanwhile:
        the app calls this from its connect worker and waits for ``service``.
        """
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="prefetch", daemon=True).start()
        return self

    def _run_raw(self) -> None:
        assert self._socket is not None
        socket_path = self._socket
        dangling_answer: Future[list[dict[str, Any]]] = Future()
        try:
            early = self._early_request
            dates: list[tuple[float, float, str]] = []
            sent_all = early.take(_ALL) if early is not None else None
            everything = _get_json(socket_path, _ALL, dates, sent_all)
            # Only an untagged image can be dangling: the dangling list is asked for when the
            # list has one, and only now. Asked at once beside the list, the daemon answered
            # both on the two cores this process needs one of: the list came 10-20 ms later.
            untagged = any(_untagged(item) for item in everything)
            if not untagged:
                dangling_answer.set_result([])
            # The first page waits for this (and for the dangling answer only when an untagged
            # row is on it): handed over before anything else is worked out.
            self.raw.set_result((everything, dangling_answer))
            if untagged:
                _fill(dangling_answer, lambda: _get_json(socket_path, _DANGLING))
            self.early_since = _daemon_time_before(dates)
            dangling = dangling_answer.result(timeout=0)  # raises its failure
        except BaseException as exc:  # any failure: the service asks again
            if not self.raw.done():
                self.raw.set_exception(exc)
            if not dangling_answer.done():
                dangling_answer.set_exception(exc)
            self.early.set_exception(exc)
            return
        if self._parse_gate is not None:
            self._parse_gate.wait(timeout=RAW_TIMEOUT)
        try:
            self.early.set_result(_parse(everything, dangling))
        except BaseException as exc:
            self.early.set_exception(exc)

    def _run(self) -> None:
        try:
            service = self._factory()
            self.service.set_result(service)
        except BaseException as exc:
            for future in (self.service, self.info, self.images, self.usage):
                future.set_exception(exc)
            return
        # Usage (df) and info run alongside the list so the list waits for neither.
        for future, call in ((self.usage, service.disk_usage), (self.info, service.info)):
            threading.Thread(target=_fill, args=(future, call), daemon=True).start()
        raw = self._raw_images(service)
        if raw is not None:
            note = getattr(service, "note_first_list", None)  # test doubles may lack it
            if self.early_since is not None and callable(note):
                note(self.early_since)
            self.images.set_result(raw)
        else:
            _fill(self.images, service.list_images)

    def _raw_images(self, service: ImageService) -> list[Image] | None:
        """The stdlib answer as images, if there is one and it came from the service's daemon."""
        if self._socket is None or service.endpoint.host != f"unix://{self._socket}":
            return None
        try:
            return self.early.result(timeout=RAW_TIMEOUT)
        except Exception:
            return None


def import_service(*, ssh: bool) -> None:
    """Import the service layer (without docker-py: see tui/service/local_api.py).

    docker-py is imported when a feature needs it: for a local socket by
    ``tui.service.core.import_docker`` on the worker that needs it, with paramiko left out
    (``ssh`` False: a local socket never needs it, and it costs about as much as docker-py);
    for any other endpoint by the connect (``ssh`` True), paramiko included.
    """
    import tui.service.facade  # noqa: F401


def _get_json(
    path: str,
    url: str,
    dates: list[tuple[float, float, str]] | None = None,
    sent_before: tuple[_socket.socket, float] | None = None,
) -> Any:
    """GET ``url`` from the daemon at socket ``path``; the decoded JSON (raises on non-200).

    Plain HTTP/1.0 over the socket: the daemon then sends the body whole (no chunks) and
    closes, and http.client (which imports ssl, several MB and milliseconds at start-up) is
    not needed. ``dates`` receives (local time before the request, local time at the answer,
    the answer's ``Date`` header): see :func:`_daemon_time_before`. ``sent_before``: the
    socket that asked already (tui/early.py) and when.
    """
    if sent_before is not None:
        sock, sent = sent_before
    else:
        sent = time.time()
        sock = send_get(path, url, RAW_TIMEOUT)
    try:
        chunks = []
        while True:
            chunk = sock.recv(1 << 18)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    head, separator, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status, headers = parse_head(lines)
    if not separator or status != 200:
        raise OSError(f"GET {url}: {lines[0] or 'no answer'}")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise OSError(f"GET {url}: a chunked answer to an HTTP/1.0 request")
    if dates is not None:
        dates.append((sent, time.time(), headers.get("date", "")))
    return json.loads(body)


def _daemon_time_before(dates: list[tuple[float, float, str]]) -> float | None:
    """The daemon's time when the request was sent, never later than it really was.

    ``Date`` is truncated to the second and written before the answer arrived, so
    ``Date - answered`` is at most the daemon clock's offset; ``sent`` plus that is at most the
    daemon's time at sending, which is before it made the list.
    """
    if not dates or not dates[0][2]:
        return None
    sent, answered, header = dates[0]
    daemon = http_date(header)
    if daemon is None:
        return None
    return sent + (daemon - answered)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(header: str) -> float | None:
    """An HTTP ``Date`` header as a POSIX timestamp; None when it is not a date.

    The daemon (Go's net/http) writes the fixed form, ``Sun, 06 Nov 1994 08:49:37 GMT``, read
    here with what is loaded already: email.utils, which reads every form, costs 15-20 ms of
    imports (random, calendar, base64, quopri ...) in the thread the first page waits on, and
    runs only for another form.
    """
    parts = header.split()
    if len(parts) == 6 and parts[5] == "GMT" and parts[2] in _MONTHS:
        clock = parts[4].split(":")
        if len(clock) == 3 and all(p.isdigit() for p in (parts[1], parts[3], *clock)):
            from datetime import datetime, timezone

            hour, minute, second = map(int, clock)
            try:
                moment = datetime(
                    int(parts[3]),
                    _MONTHS.index(parts[2]) + 1,
                    int(parts[1]),
                    hour,
                    minute,
                    second,
                    tzinfo=timezone.utc,
                )
            except ValueError:
                return None
            return moment.timestamp()
    import email.utils

    try:
        return email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None


def _untagged(item: dict[str, Any]) -> bool:
    """True when the daemon lists ``item`` without a tag (``<none>:<none>``, or none at all)."""
    return all(tag == "<none>:<none>" for tag in item.get("RepoTags") or ())


def _parse(everything: list[dict[str, Any]], dangling: list[dict[str, Any]]) -> list[Image]:
    # The service layer's own parser (docker-py free), so every path gives identical images.
    from tui.service.models import image_from_api

    ids = {str(item.get("Id", "")) for item in dangling}
    return [image_from_api(item, str(item.get("Id", "")) in ids) for item in everything]


def _fill(future: Future[Any], call: Callable[[], Any]) -> None:
    try:
        future.set_result(call())
    except BaseException as exc:
        future.set_exception(exc)
