"""The daemon's API on a local unix socket with the standard library (socket, json).

The image list and what it needs while it is open (``/images/json``, ``/system/df``, ``/info``,
``/version``, ``/_ping``, ``/events``, image inspect and history, the container list and
container inspect) are asked here, with the same JSON answers docker-py returns: docker-py
(with requests, urllib3, charset_normalizer) costs a fifth of a second of imports and about
13 MB resident that a session which only looks at its images never needs. Every other call
(pull, push, build, run, commit, save, load, remove, tag, login...) goes to docker-py's
``APIClient``, made on first use (``__getattr__``) on the thread that needs it, which for the
UI is always a worker.

The requests are HTTP/1.0, as tui/unix_http.py's: the daemon (Go's net/http, Podman's too)
then sends each body as it is, not in chunks, and closes the connection at its end, so no
HTTP library is needed; http.client would bring ssl (and with it libcrypto, about 4 MB
resident) and email onto the list's path.

Errors: an answer >= 400 raises :class:`LocalAPIError` (``status_code``, ``explanation`` as
docker-py's ``APIError`` has them); transport failures raise ``OSError`` subclasses whose
text names the cause as requests' do (``No such file or directory``, ``Permission denied``,
``Connection refused``, ``RemoteDisconnected``, ``timed out``), so ``ServiceBase.translate``
and ``explain_connect_error`` give the same sentences for both clients.
"""

from __future__ import annotations

import codecs
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

#: What the methods answer as docker-py answers them; everything else goes to docker-py.
LOCAL_METHODS = frozenset(
    {
        "version",
        "info",
        "ping",
        "df",
        "images",
        "containers",
        "inspect_image",
        "history",
        "inspect_container",
        "events",
    }
)


class LocalAPIError(Exception):
    """The daemon answered with an error status (docker-py's ``APIError``, for this client).

    ``explanation`` is the daemon's ``message`` (or the body's text when it is not JSON), as
    docker-py's ``APIError.explanation``; ``str()`` starts like docker-py's.
    """

    def __init__(self, status_code: int, reason: str, url: str, explanation: str) -> None:
        self.status_code = status_code
        self.explanation = explanation
        kind = "Client" if status_code < 500 else "Server"
        text = f"{status_code} {kind} Error for {url}: {reason}"
        super().__init__(f'{text} ("{explanation}")' if explanation else text)


class LocalNotFound(LocalAPIError):
    """A 404 answer (docker-py's ``NotFound``)."""


class LocalConnectionError(ConnectionError):
    """The answer broke off or could not be read (requests' ``ConnectionError``)."""


#: The longest answer head read (status line and headers).
MAX_HEAD = 65536


class _Headers(dict[str, str]):
    """Header names lower-cased; ``get`` takes any case (as requests' headers do)."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """The header ``key`` (any case), else ``default``."""
        return super().get(key.lower(), default)


class _Response:
    """An HTTP/1.0 answer on a unix socket: status, reason, headers, then the body.

    The body ends where the daemon closes the connection (or at Content-Length).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                if not buffer:  # http.client's words, which explain_connect_error knows
                    raise LocalConnectionError(
                        "RemoteDisconnected: Remote end closed connection without response"
                    )
                raise LocalConnectionError("IncompleteRead: the answer's head was cut off")
            buffer += chunk
            if len(buffer) > MAX_HEAD:
                raise LocalConnectionError("the daemon's answer has no end of its head")
        head, _, self._buffer = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        try:
            self.status = int(parts[1])
        except (IndexError, ValueError):
            raise LocalConnectionError(f"BadStatusLine: {lines[0]!r}") from None
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = _Headers()
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def read1(self, size: int = 65536) -> bytes:
        """What has arrived of the body (at most ``size`` bytes); b"" at its end."""
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        return self.sock.recv(size)

    def read(self) -> bytes:
        """The whole body (raises LocalConnectionError when it is cut short)."""
        length = self.headers.get("content-length")
        expected = int(length) if length and length.isdigit() else None
        parts = [self._buffer]
        self._buffer = b""
        received = len(parts[0])
        while expected is None or received < expected:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            parts.append(chunk)
            received += len(chunk)
        if expected is not None and received < expected:
            raise LocalConnectionError(f"IncompleteRead: {received} of {expected} bytes")
        return b"".join(parts)

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()


def convert_filters(filters: Mapping[str, Any]) -> str:
    """docker-py's ``utils.convert_filters``: ``{"dangling": True}`` -> JSON of lists."""
    result: dict[str, list[str]] = {}
    for key, value in filters.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, list):
            value = [value]
        result[key] = [item if isinstance(item, str) else str(item) for item in value]
    return json.dumps(result)


def _quote(arg: str) -> str:
    return urllib.parse.quote(arg, safe="/:")


class LocalAPI:
    """A docker-py ``APIClient`` look-alike for a daemon on a unix socket.

    The methods in :data:`LOCAL_METHODS` are answered with the standard library; any other
    attribute is docker-py's client's, made by ``fallback`` on first use (thread-safe).
    """

    def __init__(
        self,
        path: str,
        api_version: str,
        fallback: Callable[[], Any],
        *,
        timeout: float = 30,
    ) -> None:
        self.socket_path = path
        self.api_version = api_version
        self.timeout = timeout
        # requests-style response hooks (ServiceBase reads the daemon's clock from Date).
        self.hooks: dict[str, list[Callable[..., Any]]] = {"response": []}
        self._fallback_factory = fallback
        self._fallback: Any = None
        self._fallback_lock = threading.Lock()

    @classmethod
    def open(cls, path: str, fallback: Callable[[], Any], *, timeout: float = 30) -> LocalAPI:
        """Ask the daemon its API version (as docker-py's ``version="auto"``) and return a client.

        Raises what the request raised (OSError, LocalAPIError): the caller explains it.
        """
        client = cls(path, "", fallback, timeout=timeout)
        answer = client._local_json("GET", "/version", versioned=False)
        client.api_version = str(answer["ApiVersion"])
        return client

    # -- docker-py's client, when a feature needs it ----------------------------------------

    @property
    def fallback_loaded(self) -> bool:
        """True once docker-py's client was made (a call outside LOCAL_METHODS)."""
        return self._fallback is not None

    def docker_client(self) -> Any:
        """docker-py's ``APIClient`` for the same daemon, made (and docker imported) once."""
        if self._fallback is None:
            with self._fallback_lock:
                if self._fallback is None:
                    client = self._fallback_factory()
                    hooks = getattr(client, "hooks", None)
                    if isinstance(hooks, dict):
                        hooks.setdefault("response", []).extend(self.hooks["response"])
                    self._fallback = client
        return self._fallback

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes this class lacks: docker-py's, for every other feature.
        if name.startswith("__") or name.startswith("_fallback"):
            raise AttributeError(name)
        return getattr(self.docker_client(), name)

    def close(self) -> None:
        """Close docker-py's client if one was made (this client keeps no connection)."""
        if self._fallback is not None:
            self._fallback.close()

    # -- requests ---------------------------------------------------------------------------

    def _local_url(self, path: str, *, versioned: bool = True) -> str:
        return f"/v{self.api_version}{path}" if versioned else path

    def _local_open(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        versioned: bool = True,
        timeout: float | None = None,
    ) -> tuple[_Response, str]:
        url = self._local_url(path, versioned=versioned)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            url = f"{url}?{urllib.parse.urlencode(query, doseq=True)}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(self.socket_path)
            sock.sendall(
                f"{method} {url} HTTP/1.0\r\nHost: docker\r\nUser-Agent: imagedeck\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            response = _Response(sock)
        except BaseException:
            sock.close()
            raise
        for hook in self.hooks["response"]:
            hook(response)
        return response, url

    def _local_raw(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        versioned: bool = True,
    ) -> bytes:
        response, url = self._local_open(
            method, path, params, versioned=versioned, timeout=self.timeout
        )
        try:
            body = response.read()
        finally:
            response.close()
        if response.status >= 400:
            raise _error(response.status, response.reason, url, body)
        return body

    def _local_json(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        versioned: bool = True,
    ) -> Any:
        return json.loads(self._local_raw(method, path, params, versioned=versioned))

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET path`` (versioned) with ``params``, the answer decoded."""
        return self._local_json("GET", path, params)

    # -- docker-py's methods ----------------------------------------------------------------

    def version(self, api_version: bool = True) -> dict[str, Any]:
        """``/version``."""
        return dict(self._local_json("GET", "/version", versioned=api_version))

    def info(self) -> dict[str, Any]:
        """``/info``."""
        return dict(self._local_json("GET", "/info"))

    def ping(self) -> bool:
        """``/_ping``: True when the daemon says OK."""
        return self._local_raw("GET", "/_ping").decode("utf-8", "replace") == "OK"

    def df(self) -> dict[str, Any]:
        """``/system/df``."""
        return dict(self._local_json("GET", "/system/df"))

    def images(
        self,
        name: str | None = None,
        quiet: bool = False,
        all: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """``/images/json`` as docker-py's ``images`` (IDs only when ``quiet``)."""
        params: dict[str, Any] = {"only_ids": 1 if quiet else 0, "all": 1 if all else 0}
        chosen = dict(filters or {})
        if name:
            if _version_lt(self.api_version, "1.25"):
                params["filter"] = name
            else:
                chosen["reference"] = name
        if chosen:
            params["filters"] = convert_filters(chosen)
        found = self._local_json("GET", "/images/json", params)
        return [item["Id"] for item in found] if quiet else list(found)

    def containers(
        self,
        quiet: bool = False,
        all: bool = False,
        trunc: bool = False,
        latest: bool = False,
        since: str | None = None,
        before: str | None = None,
        limit: int = -1,
        size: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """``/containers/json`` as docker-py's ``containers``."""
        params: dict[str, Any] = {
            "limit": 1 if latest else limit,
            "all": 1 if all else 0,
            "size": 1 if size else 0,
            "trunc_cmd": 1 if trunc else 0,
            "since": since,
            "before": before,
        }
        if filters:
            params["filters"] = convert_filters(filters)
        found = list(self._local_json("GET", "/containers/json", params))
        if quiet:
            return [{"Id": item["Id"]} for item in found]
        if trunc:
            for item in found:
                item["Id"] = item["Id"][:12]
        return found

    def inspect_image(self, image: str) -> dict[str, Any]:
        """``/images/{image}/json``."""
        return dict(self._local_json("GET", self._local_path("/images/{0}/json", image)))

    def history(self, image: str) -> list[Any]:
        """``/images/{image}/history``."""
        return list(self._local_json("GET", self._local_path("/images/{0}/history", image)))

    def inspect_container(self, container: str) -> dict[str, Any]:
        """``/containers/{container}/json``."""
        return dict(self._local_json("GET", self._local_path("/containers/{0}/json", container)))

    def events(
        self,
        since: Any = None,
        until: Any = None,
        filters: Mapping[str, Any] | None = None,
        decode: bool | None = None,
    ) -> EventsStream:
        """``/events`` as a stream of decoded events (``decode`` is always on here)."""
        params = {
            "filters": convert_filters(filters) if filters else None,
            "since": since,
            "until": until,
        }
        response, url = self._local_open("GET", "/events", params, timeout=self.timeout)
        if response.status >= 400:
            try:
                body = response.read()
            finally:
                response.close()
            raise _error(response.status, response.reason, url, body)
        response.sock.settimeout(None)  # a quiet daemon is not a dead one (docker-py's too)
        return EventsStream(response)

    @staticmethod
    def _local_path(template: str, arg: str) -> str:
        return template.format(_quote(arg))


class EventsStream:
    """The JSON objects of an ``/events`` answer; ``close()`` ends it from any thread.

    A connection that breaks ends the iteration quietly, as docker-py's CancellableStream does.
    """

    def __init__(self, response: _Response) -> None:
        self._response = response
        self._sock = response.sock

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self._objects()
        finally:
            self._response.close()

    def _objects(self) -> Iterator[dict[str, Any]]:
        decoder = json.JSONDecoder()
        text = codecs.getincrementaldecoder("utf-8")("replace")
        buffer = ""
        while True:
            try:
                chunk = self._response.read1(65536)
            except (OSError, ValueError):
                return  # shut down (close()) or broken: the end, as docker-py's stream ends
            if not chunk:
                return
            buffer += text.decode(chunk)
            while True:
                start = len(buffer) - len(buffer.lstrip())
                if start == len(buffer):
                    buffer = ""
                    break
                try:
                    item, end = decoder.raw_decode(buffer, start)
                except ValueError:
                    buffer = buffer[start:]
                    break  # an object cut in two: wait for the rest
                buffer = buffer[end:]
                yield item

    def close(self) -> None:
        """Shut the socket down and close it: a reader blocked in another thread wakes and
        ends (a closed socket object refuses further reads; its descriptor is not reused
        under the reader)."""
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass


def _error(status: int, reason: str, url: str, body: bytes) -> LocalAPIError:
    """docker-py's error for an answer: the daemon's ``message``, else the body's text."""
    try:
        explanation = str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        explanation = body.decode("utf-8", "replace").strip()
    kind = LocalNotFound if status == 404 else LocalAPIError
    return kind(status, reason, url, explanation)


def _version_lt(version: str, other: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split(".") if p.isdigit())

    return parts(version) < parts(other)
