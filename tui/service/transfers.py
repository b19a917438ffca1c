"""Pull, push and search through the daemon; a registry's catalog read directly.

Pull and push are generators of ``TransferEvent`` snapshots (every event carries the state of
all layers and the overall figures, so a consumer may drop all but the newest one). They are
cancelled with a ``threading.Event``: a small watcher thread shuts the HTTP response's socket
down, which unblocks the read in the worker thread and makes the daemon abandon the transfer
(it cancels the request's context when the client goes away, so no partial tag is left).

Over ``ssh://`` (paramiko) the response has no socket we can shut down (docker-py's
``CancellableStream`` refuses too): there a cancel only takes effect at the next progress
message, and the daemon may finish the transfer in the background.

The progress model the pulls and pushes feed is ``tui.service.transfer_progress``; search hits
and the stdlib catalog client are ``tui.service.registry_catalog``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tui.service.cancel import CancelWatcher
from tui.service.connection import Endpoint
from tui.service.core import (
    ServiceBase,
    api_errors,
    daemon_text,
    docker_errors,
    import_docker,
    not_found_errors,
)
from tui.service.errors import (
    Cancelled,
    DaemonUnreachable,
    ImagedeckError,
    RegistryError,
)
from tui.service.reference import Reference, parse
from tui.service.registry_catalog import CatalogHits, SearchResult, registry_catalog
from tui.service.transfer_progress import (
    ProgressTracker,
    TransferEvent,
    broke_at,
    classify_registry_error,
)

if TYPE_CHECKING:
    from docker.types.daemon import CancellableStream

# docker-py is imported where a transfer starts (self.docker_api()), not with this module: the
# image list never needs it (tui/service/local_api.py).

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
        with contextlib.suppress(*docker_errors(), OSError, AttributeError):
            self._stream.close()


def registry_auth_header(api: Any, name: str) -> str | None:
    """The X-Registry-Auth header for repository ``name``, from the Docker config as it is NOW.

    docker-py reads ``config.json`` once, when the client is made, and keeps it while it holds
    any entry: a ``docker login`` (or logout) made while imagedeck runs would be ignored until
    a restart. So the config (DOCKER_CONFIG or ~/.docker, credential stores and helpers) is
    read again for every pull and push. The credentials go into the header only: never logged,
    never part of a message.
    """
    import_docker()
    from docker import auth
    from docker.errors import DockerException

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
        api: Any = self.docker_api()
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
            except api_errors() as exc:
                raise classify_registry_error(daemon_text(exc), what) from exc
            raw = api._stream_helper(response, decode=True)
            # The same wrapping docker-py gives the events stream, used only for its close()
            # (the watcher shuts the socket down). Reading goes through the raw generator:
            # CancellableStream turns a connection that breaks into a quiet end of stream,
            # and a killed daemon then looked like a finished transfer.
            from docker.types.daemon import CancellableStream

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
        api: Any = self.docker_api()
        if push:
            target = f"{ref.name}:{ref.tag_or_latest}"
            with self.translate(f"{what}: ask the registry for {target}", str(ref)):
                try:
                    url = api._url("/distribution/{0}/json", target)
                    answer = api._result(api._get(url, headers=headers), True)
                except api_errors() as exc:
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
                except not_found_errors():
                    found = False
        if not found:
            raise RegistryError(f"{what}: the daemon ended the pull, but the image is not there")
        return None

    def _registry_digest(self, ref: Reference) -> str | None:
        """The pushed manifest's digest as the registry has it (asked through the daemon)."""
        try:
            with self.translate(f"ask the registry for {ref}", str(ref)):
                answer = self.docker_api().inspect_distribution(f"{ref.name}:{ref.tag_or_latest}")
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
        api: Any = self.docker_api()
        what = f"search {term}"
        with self.translate(what):
            try:
                response = api._get(api._url("/images/search"), params=params, timeout=timeout)
                raw = api._result(response, True)
            except api_errors() as exc:
                raise _search_error(daemon_text(exc), term) from exc
            except _timeout_errors() as exc:
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
    ) -> CatalogHits:
        """Repositories of a v2 registry (``/v2/_catalog``, every page) whose name contains
        ``term``, the first ``max_repos`` of them each with its tags (``/v2/<name>/tags/list``),
        and how many matched in all. Talks to the registry directly (urllib).

        Only anonymous access: a registry that wants a login gives a RegistryError saying so.
        """
        return registry_catalog(registry, term, timeout=timeout, max_repos=max_repos)


def _timeout_errors() -> tuple[type[Exception], ...]:
    """requests' Timeout (docker-py's transport, loaded by then)."""
    import requests

    return (requests.exceptions.Timeout,)


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
