"""Pull, push, search and registry catalogs; and the argv of an interactive `docker run`.

Pull and push are generators of ``TransferEvent`` snapshots (every event carries the state of
all layers and the overall figures, so a consumer may drop all but the newest one). They are
cancelled with a ``threading.Event``: a small watcher thread shuts the HTTP response's socket
down, which unblocks the read in the worker thread and makes the daemon abandon the transfer
(it cancels the request's context when the client goes away, so no partial tag is left).

Over ``ssh://`` (paramiko) the response has no socket we can shut down (docker-py's
``CancellableStream`` refuses too): there a cancel only takes effect at the next progress
message, and the daemon may finish the transfer in the background.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from docker import auth
from docker.errors import APIError, DockerException
from docker.types.daemon import CancellableStream

from tui.service.core import ServiceBase, daemon_text
from tui.service.errors import Cancelled, ImagedeckError, NotFound, RegistryError
from tui.service.reference import Reference, parse

# --- progress model ---------------------------------------------------------------------------

#: Layer statuses after which a layer's bytes are all there (pull and push).
DONE_STATUSES = frozenset(
    {
        "Pull complete",
        "Already exists",
        "Download complete",
        "Verifying Checksum",
        "Extracting",
        "Pushed",
        "Layer already exists",
    }
)
#: Statuses that finish a layer for good (the bar is full and stays so).
FINAL_STATUSES = frozenset({"Pull complete", "Already exists", "Pushed", "Layer already exists"})
#: Layer statuses while bytes move (progressDetail has current/total).
ACTIVE_STATUSES = frozenset({"Downloading", "Pushing"})
#: Layer statuses before any byte moved.
WAITING_STATUSES = frozenset({"Waiting", "Pulling fs layer", "Preparing"})


@dataclass(frozen=True)
class LayerProgress:
    """One layer of a transfer, from the stream's ``id``/``status``/``progressDetail``.

    ``current`` and ``total`` are bytes for Downloading/Pushing (and for Extracting, the
    extraction); ``None`` when the daemon did not say.
    """

    id: str
    status: str
    current: int | None = None
    total: int | None = None
    #: Bytes moved over the wire (kept when the status moves on to Extracting/complete).
    transferred: int = 0
    #: The size of the layer's blob when the daemon told us (the Downloading/Pushing total).
    size: int | None = None

    @property
    def done(self) -> bool:
        """True once the layer is complete (or was already there)."""
        return (
            self.status in FINAL_STATUSES
            or self.status.startswith("Mounted from")
            or (self.status in DONE_STATUSES and self.status != "Extracting")
        )

    @property
    def fraction(self) -> float:
        """How far the layer is, 0..1 (extraction counts as the second half of a pull)."""
        if self.status in FINAL_STATUSES or self.status.startswith("Mounted from"):
            return 1.0
        if self.status == "Extracting":
            return 0.5 + 0.5 * _ratio(self.current, self.total)
        if self.status in ("Download complete", "Verifying Checksum"):
            return 0.5
        if self.status in ACTIVE_STATUSES:
            # A pull still has to extract; a push is done when the bytes are sent.
            share = 1.0 if self.status == "Pushing" else 0.5
            return share * _ratio(self.current, self.total)
        return 0.0


@dataclass(frozen=True)
class Overall:
    """The whole transfer: layers done, bytes moved and known, and the latest status line."""

    layers_done: int
    layers: int
    bytes_done: int
    bytes_total: int
    fraction: float
    status: str


@dataclass(frozen=True)
class TransferEvent:
    """One step of a pull or push: the layer it updated (or ``""``) and everything so far."""

    layer_id: str
    status: str
    layers: tuple[LayerProgress, ...]
    overall: Overall
    #: The digest the daemon reported (set near the end of a pull or push).
    digest: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """One hit of `docker search` (or of a private registry's catalog, with its tags)."""

    name: str
    description: str
    stars: int
    official: bool
    automated: bool = False
    tags: tuple[str, ...] = ()

    @property
    def pull_reference(self) -> str:
        """What to pull for this hit (the first tag of a catalog hit, else the name)."""
        if self.tags:
            tag = "latest" if "latest" in self.tags else self.tags[0]
            return f"{self.name}:{tag}"
        return self.name


def _ratio(current: int | None, total: int | None) -> float:
    if not current or not total or total <= 0:
        return 0.0
    return min(current / total, 1.0)


class ProgressTracker:
    """Folds the daemon's JSON messages into LayerProgress states and Overall figures.

    Pure logic (no I/O) so it can be tested with recorded streams.
    """

    def __init__(self) -> None:
        self._layers: dict[str, LayerProgress] = {}
        self.status = ""
        self.digest: str | None = None

    def feed(self, message: Mapping[str, Any]) -> TransferEvent | None:
        """Apply one stream message; the new snapshot, or None for messages with nothing new.

        Raises the readable error when the message is an ``error``.
        """
        if message.get("error") or message.get("errorDetail"):
            detail = message.get("errorDetail") or {}
            text = str(message.get("error") or detail.get("message") or "unknown error")
            raise classify_registry_error(text)
        aux = message.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            self.digest = str(aux["Digest"])
            return self._event("")
        status = str(message.get("status") or "")
        if not status:
            return None
        layer_id = str(message.get("id") or "")
        if status.startswith("Digest: "):
            self.digest = status.removeprefix("Digest: ").strip()
        if not layer_id or _is_overall_status(status):
            # "Pulling from team/app" carries the tag as its id; it is not a layer.
            self.status = (
                f"{layer_id}: {status}" if layer_id and "Pulling from" in status else status
            )
            return self._event("")
        detail = message.get("progressDetail") or {}
        current = _int_or_none(detail.get("current"))
        total = _int_or_none(detail.get("total"))
        old = self._layers.get(layer_id, LayerProgress(layer_id, status))
        transferred, size = old.transferred, old.size
        if status in ACTIVE_STATUSES:
            transferred = current or 0
            size = total if total else size
        elif status in DONE_STATUSES and status != "Already exists" and size is not None:
            transferred = size
        self._layers[layer_id] = LayerProgress(layer_id, status, current, total, transferred, size)
        return self._event(layer_id)

    def _event(self, layer_id: str) -> TransferEvent:
        layers = tuple(self._layers.values())
        status = self.status
        if layer_id:
            status = f"{layer_id}: {self._layers[layer_id].status}"
        return TransferEvent(layer_id, status, layers, self.overall(), self.digest)

    def overall(self) -> Overall:
        """The figures for the overall bar."""
        layers = list(self._layers.values())
        done = sum(1 for layer in layers if layer.done)
        fraction = sum(layer.fraction for layer in layers) / len(layers) if layers else 0.0
        return Overall(
            layers_done=done,
            layers=len(layers),
            bytes_done=sum(layer.transferred for layer in layers),
            bytes_total=sum(layer.size or 0 for layer in layers),
            fraction=fraction,
            status=self.status,
        )


def _is_overall_status(status: str) -> bool:
    return status.startswith(("Pulling from", "Digest:", "Status:", "The push refers"))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def classify_registry_error(text: str, what: str = "") -> ImagedeckError:
    """A readable error for what the daemon or registry said about a pull or push.

    The daemon's own words stay at the end: they name the registry and the reference.
    """
    lowered = text.lower()
    prefix = f"{what}: " if what else ""
    if (
        "manifest unknown" in lowered
        or ("not found" in lowered and "manifest" in lowered)
        or ("repository does not exist" in lowered and "denied" not in lowered)
    ):
        return NotFound(f"{prefix}not found in the registry ({text})")
    if (
        "denied" in lowered
        or "unauthorized" in lowered
        or "authentication required" in lowered
        or "no basic auth credentials" in lowered
    ):
        return RegistryError(
            f"{prefix}no access: the registry wants a login or refused it "
            f"(run `docker login` for that registry). Registry said: {text}"
        )
    if any(
        needle in lowered
        for needle in (
            "connection refused",
            "no such host",
            "dial tcp",
            "i/o timeout",
            "network is unreachable",
            "tls handshake timeout",
            "server gave http response to https client",
        )
    ):
        return RegistryError(f"{prefix}the registry cannot be reached ({text})")
    return RegistryError(f"{prefix}{text}")


# --- cancellation -----------------------------------------------------------------------------


class _Watcher:
    """Shuts a stream's socket down when ``cancel`` is set (polls: an Event has no callbacks)."""

    def __init__(self, stream: CancellableStream, cancel: threading.Event) -> None:
        self._stream = stream
        self._cancel = cancel
        self._finished = threading.Event()
        self.closed = False
        self._thread = threading.Thread(target=self._run, name="transfer-cancel", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._finished.is_set():
            if self._cancel.wait(0.05):
                self.close()
                return

    def close(self) -> None:
        """Shut the socket (unix, tcp, tls); over ssh this raises, and we only stop reading."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(DockerException, OSError, AttributeError):
            self._stream.close()

    def finish(self) -> None:
        """The transfer ended by itself; stop watching."""
        self._finished.set()


# --- the mixin --------------------------------------------------------------------------------


class TransfersMixin(ServiceBase):
    """Pull, push, search and registry catalogs."""

    def pull(
        self,
        reference: str,
        all_tags: bool = False,
        platform: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TransferEvent]:
        """Pull ``reference`` (checked with the grammar first), yielding progress snapshots.

        Raises NotFound (no such image or tag), RegistryError (no access, unreachable, other
        registry errors), Cancelled (``cancel`` was set), DaemonUnreachable.
        """
        ref = parse(reference)
        params: dict[str, Any] = {"fromImage": ref.name}
        if ref.digest:
            params["tag"] = ref.digest
        elif not all_tags:
            params["tag"] = ref.tag_or_latest
        if platform:
            params["platform"] = platform
        what = f"pull {reference}"
        yield from self._transfer(
            what, ref, "/images/create", params, cancel or threading.Event(), post_json=False
        )

    def push(
        self, reference: str, cancel: threading.Event | None = None
    ) -> Iterator[TransferEvent]:
        """Push ``reference`` with the credentials of the user's Docker config.

        The credentials travel in the X-Registry-Auth header only; they are never logged or put
        in an error message. Errors and cancel as ``pull``.
        """
        ref = parse(reference)
        if ref.digest:
            raise RegistryError(f"Cannot push a digest reference: {reference}; push a tag.")
        params = {"tag": ref.tag_or_latest}
        path = f"/images/{ref.name}/push"
        yield from self._transfer(
            f"push {reference}", ref, path, params, cancel or threading.Event(), post_json=True
        )

    def _transfer(
        self,
        what: str,
        ref: Reference,
        path: str,
        params: dict[str, Any],
        cancel: threading.Event,
        *,
        post_json: bool,
    ) -> Iterator[TransferEvent]:
        if cancel.is_set():
            raise Cancelled(what.capitalize())
        api: Any = self.api
        headers: dict[str, str] = {}
        try:
            # docker-py's own lookup: config.json, credential stores and helpers.
            header = auth.get_config_header(api, auth.resolve_repository_name(ref.name)[0])
        except DockerException:
            header = None
        if header:
            headers["X-Registry-Auth"] = header
        url = api._url(path) if "{" not in path else path
        with self.translate(what, str(ref)):
            try:
                if post_json:
                    response = api._post_json(
                        url, None, headers=headers, stream=True, params=params
                    )
                else:
                    response = api._post(
                        url, params=params, headers=headers, stream=True, timeout=None
                    )
                api._raise_for_status(response)
            except APIError as exc:
                raise classify_registry_error(daemon_text(exc), what) from exc
            # The same wrapping docker-py gives the events stream: keeps the response so its
            # socket can be shut down from the watcher thread.
            stream = CancellableStream(api._stream_helper(response, decode=True), response)
        watcher = _Watcher(stream, cancel)
        tracker = ProgressTracker()
        try:
            for message in _read(stream, self.endpoint, what):
                if cancel.is_set():
                    break
                event = tracker.feed(message)
                if event is not None:
                    yield event
        finally:
            watcher.finish()
            watcher.close()
        if cancel.is_set():
            raise Cancelled(what.capitalize())
