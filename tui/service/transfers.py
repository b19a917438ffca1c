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
import ipaddress
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from docker import auth
from docker.errors import APIError, DockerException
from docker.errors import NotFound as DockerNotFound
from docker.types.daemon import CancellableStream

from tui.format import natural_key
from tui.service.cancel import CancelWatcher
from tui.service.connection import Endpoint
from tui.service.core import ServiceBase, daemon_text
from tui.service.errors import (
    Cancelled,
    DaemonUnreachable,
    ImagedeckError,
    NotFound,
    RegistryError,
)
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
#: What a layer shows when the stream ended well although the engine's last word for it was
#: not final (the containerd image store ends pulls at "Download complete": it unpacks after
#: the stream's layer messages and says nothing more about the layer).
COMPLETE = "Complete"
#: Statuses that finish a layer for good (the bar is full and stays so).
FINAL_STATUSES = frozenset(
    {"Pull complete", "Already exists", "Pushed", "Layer already exists", COMPLETE}
)
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
        """How far the layer's current step is, 0..1: the ``current``/``total`` a layer row
        writes beside its bar while bytes move or it extracts, so the bar and the figures
        agree (1.0 once its bytes are all here or it is complete)."""
        if self.status in FINAL_STATUSES or self.status.startswith("Mounted from"):
            return 1.0
        if self.status == "Extracting" or self.status in ACTIVE_STATUSES:
            return _ratio(self.current, self.total)
        if self.status in DONE_STATUSES:  # Download complete, Verifying Checksum
            return 1.0
        return 0.0

    @property
    def size_unknown(self) -> bool:
        """True while the layer will move bytes the daemon has not yet said the size of (it is
        waiting, or its progress came without a total)."""
        if self.size is not None or self.done:
            return False
        return self.status not in ("Already exists", "Layer already exists", "Extracting")


@dataclass(frozen=True)
class Overall:
    """The whole transfer: layers done, bytes moved and known, and the latest status line.

    ``fraction`` is ``bytes_done / bytes_total`` (the figures the transfers screen writes
    beside its percentage), or ``layers_done / layers`` while no size is known (every layer
    already there). ``sizes_unknown`` counts layers still to move whose size the daemon has
    not said yet: while it is not 0, ``bytes_total`` is a lower bound.
    """

    layers_done: int
    layers: int
    bytes_done: int
    bytes_total: int
    fraction: float
    status: str
    sizes_unknown: int = 0


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
    #: Where to pull from when the index that found this hit is not itself a registry: the
    #: references to choose from (empty: pull ``pull_reference``). One entry is a registry known
    #: to have the repository; several, or a guess, mean the pull dialog asks.
    sources: tuple[str, ...] = ()
    #: True when ``sources`` holds exactly the registry that has the repository (no guess).
    resolved: bool = False

    @property
    def pull_reference(self) -> str:
        """What to pull for this hit (the first tag of a catalog hit, else the name)."""
        if self.sources:
            return self.sources[0]
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

    def finish(self, digest: str | None = None) -> TransferEvent:
        """The stream ended without an error: every layer is complete, whatever its last word.

        ``digest`` is the one read from the registry when the engine sent none (a push on the
        containerd image store has no ``aux`` message).
        """
        for layer_id, layer in self._layers.items():
            if layer.status not in FINAL_STATUSES and not layer.status.startswith("Mounted from"):
                size = layer.size if layer.size is not None else layer.transferred
                self._layers[layer_id] = LayerProgress(
                    layer_id, COMPLETE, layer.current, layer.total, size, layer.size
                )
        if digest and not self.digest:
            self.digest = digest
        return self._event("")

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
        bytes_done = sum(layer.transferred for layer in layers)
        # A layer whose size is not known yet counts what it moved so far (never more done
        # than in all); ``sizes_unknown`` says the total is then a lower bound.
        bytes_total = sum(
            layer.transferred if layer.size is None else layer.size for layer in layers
        )
        # The percentage a person reads beside "x MB/y MB" is x/y: one figure, not an average
        # of layer steps (that gave "60%" beside "857.2 MB/900.3 MB").
        if bytes_total > 0:
            fraction = _ratio(bytes_done, bytes_total)
        else:
            fraction = done / len(layers) if layers else 0.0
        return Overall(
            layers_done=done,
            layers=len(layers),
            bytes_done=bytes_done,
            bytes_total=bytes_total,
            fraction=fraction,
            status=self.status,
            sizes_unknown=sum(1 for layer in layers if layer.size_unknown),
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
        # The containerd image store: 'failed to resolve reference "r:t": r:t: not found'.
        or ("failed to resolve reference" in lowered and lowered.rstrip().endswith("not found"))
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
            f"{prefix}no access: the repository does not exist or needs a login "
            f"(`docker login` for that registry). Registry said: {text}"
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


class _Closer:
    """Shuts a stream's socket down once (from the cancel watcher, or when the read ends)."""

    def __init__(self, stream: CancellableStream) -> None:
        self._stream = stream
        self.closed = False

    def close(self) -> None:
        """Shut the socket (unix, tcp, tls); over ssh this raises, and we only stop reading."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(DockerException, OSError, AttributeError):
            self._stream.close()


def registry_auth_header(api: Any, name: str) -> str | None:
    """The X-Registry-Auth header for repository ``name``, from the Docker config as it is NOW.

    docker-py reads ``config.json`` once, when the client is made, and keeps it while it holds
    any entry: a ``docker login`` (or logout) made while imagedeck runs would be ignored until
    a restart. So the config (DOCKER_CONFIG or ~/.docker, credential stores and helpers) is
    read again for every pull and push. The credentials go into the header only: never logged,
    never part of a message.
    """
    try:
        configs = auth.load_config(credstore_env=getattr(api, "credstore_env", None))
        registry = auth.resolve_repository_name(name)[0]
        found = auth.resolve_authconfig(
            configs, registry, credstore_env=getattr(api, "credstore_env", None)
        )
    except (DockerException, OSError, ValueError):
        return None
    return auth.encode_header(found) if found else None


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
        header = registry_auth_header(api, ref.name)
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
            raw = api._stream_helper(response, decode=True)
            # The same wrapping docker-py gives the events stream, used only for its close()
            # (the watcher shuts the socket down). Reading goes through the raw generator:
            # CancellableStream turns a connection that breaks into a quiet end of stream,
            # and a killed daemon then looked like a finished transfer.
            stream = CancellableStream(raw, response)
        closer = _Closer(stream)
        watcher = CancelWatcher(cancel, closer.close, name="transfer-cancel")
        tracker = ProgressTracker()
        try:
            for message in _read(raw, self.endpoint, what, tracker, cancel):
                if cancel.is_set():
                    break
                event = tracker.feed(message)
                if event is not None:
                    yield event
        finally:
            watcher.finish()
            closer.close()
        if cancel.is_set():
            raise Cancelled(what.capitalize())
        # The end of the stream is not success: the result must be there too.
        digest = self._confirm(what, ref, params, headers, push=post_json, said=tracker.digest)
        yield tracker.finish(digest if tracker.digest is None else None)

    def _confirm(
        self,
        what: str,
        ref: Reference,
        params: dict[str, Any],
        headers: dict[str, str],
        *,
        push: bool,
        said: str | None,
    ) -> str | None:
        """Check that a transfer the daemon ended well left its result; raise when not.

        After a pull the image must exist locally; after a push the registry must have the
        tag (asked through the daemon's ``/distribution`` endpoint with the push's credentials,
        so any registry and login works), with the digest the push reported when it reported
        one. Returns the registry's digest of a pushed tag.
        """
        api: Any = self.api
        if push:
            target = f"{ref.name}:{ref.tag_or_latest}"
            with self.translate(f"{what}: ask the registry for {target}", str(ref)):
                try:
                    url = api._url("/distribution/{0}/json", target)
                    answer = api._result(api._get(url, headers=headers), True)
                except APIError as exc:
                    raise RegistryError(
                        f"{what}: the daemon ended the push, but the registry does not have "
                        f"{target} ({daemon_text(exc)})"
                    ) from exc
            digest = str((answer.get("Descriptor") or {}).get("digest") or "") or None
            if said and digest and said != digest:
                raise RegistryError(
                    f"{what}: the registry has {target} as {digest}, not the {said} just pushed"
                )
            return digest
        with self.translate(f"{what}: look for the pulled image", str(ref)):
            if "tag" not in params:  # all tags: at least one of the repository's
                found = bool(api.images(name=ref.name, quiet=True))
            else:
                target = f"{ref.name}@{ref.digest}" if ref.digest else f"{ref.name}:{params['tag']}"
                try:
                    api.inspect_image(target)
                    found = True
                except DockerNotFound:
                    found = False
        if not found:
            raise RegistryError(f"{what}: the daemon ended the pull, but the image is not there")
        return None

    def _registry_digest(self, ref: Reference) -> str | None:
        """The pushed manifest's digest as the registry has it (asked through the daemon)."""
        try:
            with self.translate(f"ask the registry for {ref}", str(ref)):
                answer = self.api.inspect_distribution(f"{ref.name}:{ref.tag_or_latest}")
        except ImagedeckError:
            return None  # the push itself went well; the digest stays unknown
        digest = str((answer.get("Descriptor") or {}).get("digest") or "")
        return digest or None

    def search(
        self,
        term: str,
        limit: int = 25,
        min_stars: int = 0,
        official_only: bool = False,
        timeout: float = 20.0,
    ) -> list[SearchResult]:
        """Search an index through the daemon (`docker search`): Docker Hub, or ``host:port/term``.

        Filters (minimum stars, official only) are applied by the daemon, and again here since
        old daemons ignore filters they do not know. Raises RegistryError with a readable reason
        (no network, an index without search, a timeout).
        """
        term = term.strip()
        if not term:
            raise RegistryError("Type something to search for.")
        filters: dict[str, list[str]] = {}
        if min_stars > 0:
            filters["stars"] = [str(min_stars)]
        if official_only:
            filters["is-official"] = ["true"]
        params: dict[str, Any] = {"term": term, "limit": max(1, min(limit, 100))}
        if filters:
            params["filters"] = json.dumps(filters)
        api: Any = self.api
        what = f"search {term}"
        with self.translate(what):
            try:
                response = api._get(api._url("/images/search"), params=params, timeout=timeout)
                raw = api._result(response, True)
            except APIError as exc:
                raise _search_error(daemon_text(exc), term) from exc
            except requests.exceptions.Timeout as exc:
                raise RegistryError(f"{what}: the index did not answer in {timeout:g}s") from exc
        results = [
            SearchResult(
                name=str(item.get("name", "")),
                description=str(item.get("description") or ""),
                stars=int(item.get("star_count") or 0),
                official=bool(item.get("is_official")),
                automated=bool(item.get("is_automated")),
            )
            for item in raw or []
        ]
        kept = [r for r in results if r.stars >= min_stars and (r.official or not official_only)]
        return kept[:limit]

    def catalog(
        self, registry: str, term: str = "", timeout: float = 10.0, max_repos: int = 100
    ) -> list[SearchResult]:
        """Repositories of a v2 registry (``/v2/_catalog``) whose name contains ``term``, each
        with its tags (``/v2/<name>/tags/list``). Talks to the registry directly (urllib).

        Only anonymous access: a registry that wants a login gives a RegistryError saying so.
        """
        return registry_catalog(registry, term, timeout=timeout, max_repos=max_repos)


def _search_error(text: str, term: str) -> RegistryError:
    """A search failure in plain words (the daemon's text is long and technical)."""
    lowered = text.lower()
    first = text.split(". ")[0]
    if "/v1/_ping" in lowered or "/v1/search" in lowered or "status code 404" in lowered:
        if any(n in lowered for n in ("no such host", "network is unreachable", "dial tcp")):
            return RegistryError(f"The index for {term!r} cannot be reached ({first}).")
        return RegistryError(
            f"The index for {term!r} does not offer search ({first}). A v2-only registry has "
            "no search: type host:port/ to list its catalog instead."
        )
    if "timeout" in lowered or "deadline exceeded" in lowered:
        return RegistryError(f"search {term}: the index did not answer in time ({first}).")
    error = classify_registry_error(text, f"search {term}")
    return error if isinstance(error, RegistryError) else RegistryError(str(error))


def _read(
    raw: Iterator[Any],
    endpoint: Endpoint,
    what: str,
    tracker: ProgressTracker,
    cancel: threading.Event,
) -> Iterator[dict[str, Any]]:
    """The stream's messages; a connection that breaks mid-way says how far the transfer got.

    A daemon that dies (or is stopped and its socket reset) ends the HTTP body early, which
    urllib3 reports as an error: that is a failed transfer, never a finished one. After a
    cancel the socket was shut down on purpose, and the caller raises Cancelled.
    """
    try:
        for message in raw:
            if isinstance(message, dict):
                yield message
    except Exception as exc:  # urllib3's ProtocolError, requests' errors, OSError, bad JSON
        if cancel.is_set():
            return
        raise DaemonUnreachable(endpoint.description, broke_at(what, tracker)) from exc


def broke_at(what: str, tracker: ProgressTracker) -> str:
    """ "pull x: the connection to the daemon broke at layer 3/4 (2 complete)" and the like."""
    overall = tracker.overall()
    if not overall.layers:
        where = "before any layer moved"
    elif overall.layers_done >= overall.layers:
        where = f"after all {overall.layers} layers, before the daemon said it was done"
    else:
        where = (
            f"at layer {overall.layers_done + 1}/{overall.layers} ({overall.layers_done} complete)"
        )
    return f"{what}: the connection to the daemon broke {where}; it did not finish"


# --- v2 registry catalog (stdlib only) --------------------------------------------------------


def split_registry_term(text: str) -> tuple[str, str] | None:
    """``("host:port", "term")`` when ``text`` names a registry (``host:port/`` or
    ``registry.example.com/term``); None for a plain search term."""
    text = text.strip()
    first, slash, rest = text.partition("/")
    if not slash:
        return None
    if ":" in first or "." in first or first == "localhost":
        return first, rest.strip("/")
    return None


def _is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0].strip("[]") if registry.count(":") <= 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _get_json(url: str, timeout: float) -> Any:
    # Only http(s) URLs we built ourselves reach here (never file: or custom schemes).
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.load(response)


def registry_catalog(
    registry: str, term: str = "", timeout: float = 10.0, max_repos: int = 100
) -> list[SearchResult]:
    """See ``TransfersMixin.catalog``; a plain function so it needs no daemon."""
    registry = registry.strip().rstrip("/")
    if not registry or "/" in registry:
        raise RegistryError(f"{registry!r} is not a registry host[:port].")
    # Loopback registries are insecure (plain HTTP) by the Engine's own default; other hosts
    # get HTTPS first and plain HTTP as the fallback, as the Engine does for insecure ones.
    schemes = ("http", "https") if _is_loopback(registry) else ("https", "http")
    last: Exception | None = None
    for scheme in schemes:
        base = f"{scheme}://{registry}"
        try:
            data = _get_json(f"{base}/v2/_catalog?n=1000", timeout)
        except urllib.error.HTTPError as exc:
            raise _catalog_http_error(registry, exc) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = exc
            continue
        repos = [str(r) for r in (data or {}).get("repositories") or []]
        needle = term.strip().lower()
        matching = sorted(r for r in repos if needle in r.lower())[:max_repos]
        results = []
        for repo in matching:
            tags: list[str] = []
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                quoted = urllib.parse.quote(repo, safe="/")
                tags = list(
                    (_get_json(f"{base}/v2/{quoted}/tags/list", timeout) or {}).get("tags") or []
                )
            results.append(
                SearchResult(
                    name=f"{registry}/{repo}",
                    description=f"{len(tags)} tag{'s' if len(tags) != 1 else ''}: "
                    + ", ".join(sorted(tags, key=natural_key)),
                    stars=0,
                    official=False,
                    tags=tuple(sorted(tags, key=natural_key)),
                )
            )
        return results
    reason = getattr(last, "reason", last)
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        raise RegistryError(f"The registry {registry} did not answer in {timeout:g}s.")
    raise RegistryError(f"The registry {registry} cannot be reached ({reason}).")


def _catalog_http_error(registry: str, exc: urllib.error.HTTPError) -> RegistryError:
    if exc.code == 401:
        return RegistryError(
            f"The registry {registry} wants a login to list its catalog (HTTP 401)."
        )
    if exc.code == 404:
        return RegistryError(f"The registry {registry} has no v2 catalog (HTTP 404).")
    return RegistryError(f"The registry {registry} answered HTTP {exc.code} {exc.reason}.")


# --- the list's name for a pulled reference, the transfers' clock ---------------------------


def familiar(reference: str) -> str:
    """The name the image list shows for a pulled reference (``docker.io/library/`` dropped,
    ``:latest`` added when the reference has no tag and no digest)."""
    ref = parse(reference)
    name = ref.name
    for prefix in (
        "docker.io/library/",
        "index.docker.io/library/",
        "docker.io/",
        "index.docker.io/",
    ):
        if name.startswith(prefix):
            name = name.removeprefix(prefix)
            break
    # "library/busybox" is how Docker Hub spells an official image; the list says "busybox".
    if name.startswith("library/") and name.count("/") == 1:
        name = name.removeprefix("library/")
    if ref.digest:
        return f"{name}@{ref.digest}"
    return f"{name}:{ref.tag_or_latest}"


def now() -> float:
    """The clock transfers use (monotonic; tests replace it)."""
    return time.monotonic()
