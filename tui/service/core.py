"""The connection every service method shares, and the translation of docker-py errors."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from tui.service.connection import Endpoint, explain_connect_error, open_api, resolve_endpoint
from tui.service.engine import EngineInfo, engine_from
from tui.service.errors import (
    Conflict,
    DaemonError,
    DaemonUnreachable,
    ImagedeckError,
    NotFound,
)
from tui.service.local_api import LocalAPI, LocalAPIError, LocalNotFound

if TYPE_CHECKING:
    import docker

    from tui.service.build import BuildEvent, BuildRequest
    from tui.service.cleanup import ImageLayers
    from tui.service.models import Container, DiskUsage, Image
    from tui.service.sizes import ImageStore

#: How often a df the daemon says is "already running" is asked again (see read_df).
DF_RETRIES = 8
_S = TypeVar("_S", bound="ServiceBase")
# Docker: "... container cc45dd0ce6f1 is using its referenced image ..."; Podman: "... image
# used by <64-hex id>: image is in use by a container ...".
_CONTAINER_IN_MESSAGE = re.compile(r"(?:container|image used by) ([0-9a-f]{12,64})")


class ServiceBase:
    """Holds the docker-py client; the mixins of ``ImageService`` build on it.

    The methods one mixin calls on another are declared here for the type checker (each is
    implemented by the mixin named beside it), so no mixin needs ``type: ignore`` to call them
    and mypy checks each implementation against its declaration.
    """

    if TYPE_CHECKING:

        def list_images(self) -> list[Image]: ...  # ImagesMixin

        def disk_usage(self) -> DiskUsage: ...  # ImagesMixin

        def remove_image(  # ImagesMixin
            self, reference: str, *, force: bool = False, noprune: bool = False
        ) -> list[tuple[str, str]]: ...

        def save_stream(self, reference: str) -> BinaryIO: ...  # ImagesMixin

        def list_containers(  # ContainersMixin
            self, *, sizes: bool = True, image_id: str | None = None
        ) -> list[Container]: ...

        def remove_container(  # ContainersMixin
            self, container_id: str, *, name: str = ""
        ) -> None: ...

        def build_request(  # BuildMixin
            self, request: BuildRequest, cancel: threading.Event
        ) -> Iterator[BuildEvent]: ...

        def image_store(self) -> ImageStore: ...  # CleanupMixin

        def image_layers(
            self, image_id: str, *, sizes: bool = True
        ) -> ImageLayers: ...  # CleanupMixin

        def layers_for(  # CleanupMixin
            self, images: Sequence[Image], sized: Iterable[str]
        ) -> dict[str, ImageLayers]: ...

    def __init__(self, endpoint: Endpoint, api: docker.APIClient) -> None:
        self.endpoint = endpoint
        self.api = api
        # The daemon's clock, as far as its answers tell (Date headers): event streams start
        # at daemon times, and the daemon and this host need not agree on the time.
        self._clock_offset: float | None = None
        self._first_list: float | None = None  # daemon time at or before the first list
        self._first_list_local: float | None = None  # local time just before it
        self._events_opened = False
        # One /system/df at a time (see read_df).
        self._df_lock = threading.Lock()
        hooks = getattr(api, "hooks", None)
        if isinstance(hooks, dict):
            hooks.setdefault("response", []).append(self._note_daemon_date)

    def read_df(self) -> dict[str, Any]:
        """The daemon's ``/system/df``, asked one at a time (call inside ``translate``).

        The daemon refuses a second df while one runs ("a disk usage operation is already
        running"): a burst of reloads (a prune's events) used to trigger it although the list
        itself loaded. This service's own requests wait for each other; another client's df
        in progress is waited out with a few short retries.
        """
        with self._df_lock:
            for attempt in range(DF_RETRIES):
                try:
                    return dict(self.api.df())
                except Exception as exc:
                    if api_status(exc) is None:
                        raise
                    if "already running" not in daemon_text(exc) or attempt == DF_RETRIES - 1:
                        raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")  # the loop returns or raises

    def _note_daemon_date(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """A requests response hook: the daemon clock's offset from this host's, from ``Date``.

        ``Date`` is truncated to the second and read after it was written, so each estimate is
        at most the true offset; the largest seen is kept (the tightest lower bound).
        """
        received = time.time()
        header = getattr(response, "headers", {}).get("Date")
        if header:
            # Here, not at the top: only docker-py's calls (which load email anyway) get here,
            # and the list's path then loads no email package (resident memory, issue 15).
            import email.utils

            try:
                offset = email.utils.parsedate_to_datetime(header).timestamp() - received
            except (TypeError, ValueError):
                return response
            if self._clock_offset is None or offset > self._clock_offset:
                self._clock_offset = offset
        return response

    def docker_api(self) -> docker.APIClient:
        """docker-py's client for this daemon (imported and made on first use).

        For the features the stdlib client does not answer (pull, push, build, save, load,
        search ...): their calls, and the errors they catch, are then all docker-py's.
        """
        api = self.api
        if isinstance(api, LocalAPI):
            return cast("docker.APIClient", api.docker_client())
        return api

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """``GET path`` of the daemon's versioned API with ``params``, decoded (either client;
        call inside ``translate``)."""
        api: Any = self.api
        if isinstance(api, LocalAPI):
            return api.get_json(path, params)
        return api._result(api._get(api._url(path), params=params), True)

    def daemon_now(self) -> float | None:
        """The daemon's time now, never later than it really is (None before any answer)."""
        if self._clock_offset is None:
            return None
        return time.time() + self._clock_offset

    def mark_list_start(self) -> None:
        """Called just before a list request: the first one is where events must start."""
        if self._first_list is None and self._first_list_local is None:
            self._first_list_local = time.time()

    def note_first_list(self, daemon_time: float) -> None:
        """The first list was made elsewhere (the start-up prefetch) at ``daemon_time``."""
        if self._first_list is None:
            self._first_list = daemon_time

    def events_since(self) -> float | None:
        """Where an event stream opened now must start (a daemon time), so nothing is lost.

        The first stream starts at the moment of the first list: a tag made between that list
        and the stream's opening is replayed by the daemon instead of lost. Later streams (a
        reconnect, which reloads the list anyway) start now. None: the daemon's clock is not
        known yet; the stream then starts when the daemon receives it.
        """
        first, self._events_opened = not self._events_opened, True
        if first and self._first_list is not None:
            return self._first_list
        if first and self._first_list_local is not None and self._clock_offset is not None:
            return self._first_list_local + self._clock_offset
        return self.daemon_now()

    @classmethod
    def connect(
        cls: type[_S], host: str | None = None, context: str | None = None, timeout: int = 30
    ) -> _S:
        """Resolve the daemon like the Docker CLI and connect (raises DaemonUnreachable).

        A daemon on a unix socket is asked with the standard library (``LocalAPI``) for
        what the image list needs, and through docker-py, imported on first use, for the
        rest; ``IMAGEDECK_DOCKER_PY=1`` uses docker-py for everything.
        """
        endpoint = resolve_endpoint(host, context)
        if endpoint.host.startswith("unix://") and not os.environ.get("IMAGEDECK_DOCKER_PY"):
            return cls(endpoint, open_local(endpoint, timeout=timeout))
        if not endpoint.host.startswith("ssh://"):
            import_docker()  # without paramiko: only ssh:// needs it (about 20 MB resident)
        return cls(endpoint, open_api(endpoint, timeout=timeout))

    @property
    def host(self) -> str:
        """The daemon address, as the header shows it."""
        return self.endpoint.description

    def engine(self) -> EngineInfo:
        """Which engine and image store the daemon is (asked once per connection)."""
        found: EngineInfo | None = getattr(self, "_engine", None)
        if found is None:
            with self.translate("ask the daemon which engine it is"):
                found = engine_from(self.api.version(), self.api.info())
            self._engine = found
        return found

    def close(self) -> None:
        """Close the client's connections."""
        with contextlib.suppress(Exception):
            self.api.close()

    @contextlib.contextmanager
    def translate(self, what: str, reference: str = "") -> Iterator[None]:
        """Turn docker-py and transport errors raised inside into ImagedeckError subclasses.

        ``what`` names the action for the message ("remove demo/app:1.0").
        """
        try:
            yield
        except ImagedeckError:
            raise
        except Exception as exc:
            translated = self._translated(exc, what, reference)
            if translated is None:
                raise
            raise translated from exc

    def _translated(self, exc: Exception, what: str, reference: str) -> ImagedeckError | None:
        """The ImagedeckError for a docker-py, LocalAPI or transport error (None: not one).

        docker-py's classes are looked at only when docker-py is loaded: a session that never
        needed it cannot have raised them. Both clients' errors give the same sentences.
        """
        errors = sys.modules.get("docker.errors")
        if isinstance(exc, LocalNotFound) or (
            errors is not None and isinstance(exc, (errors.ImageNotFound, errors.NotFound))
        ):
            return NotFound(f"{what}: {daemon_text(exc)}")
        status = api_status(exc)
        if status is not None:
            text = daemon_text(exc)
            if status == 409 or text.startswith("conflict"):
                return Conflict(
                    f"{what}: {text}",
                    reference=reference,
                    children="dependent child images" in text,
                    daemon_message=text,
                    holders=(),
                )
            if status == 404:
                return NotFound(f"{what}: {text}")
            return DaemonError(f"{what}: {text}")
        if isinstance(exc, OSError):
            # requests' ConnectionError and Timeout are OSErrors too. connected: this service
            # talked to the daemon before (its connect succeeded), so a closed connection is
            # a daemon that went away, not one that wants TLS.
            reason = explain_connect_error(exc, host=self.endpoint.host, connected=True)
            return DaemonUnreachable(self.endpoint.description, reason)
        if errors is not None and isinstance(exc, errors.DockerException):
            return DaemonError(f"{what}: {exc}")
        return None


def api_status(exc: BaseException) -> int | None:
    """The HTTP status of a daemon's error answer (docker-py's APIError or LocalAPIError).

    None for anything else. docker-py is not imported to ask: if it is not loaded, it raised
    nothing.
    """
    if isinstance(exc, LocalAPIError):
        return exc.status_code
    errors = sys.modules.get("docker.errors")
    if errors is not None and isinstance(exc, errors.APIError):
        status = exc.status_code
        return int(status) if status is not None else 0
    return None


def api_errors() -> tuple[type[Exception], ...]:
    """The classes of a daemon's error answer, for ``except api_errors():``.

    LocalAPIError, and docker-py's APIError when docker-py is loaded (if it is not, it raised
    nothing).
    """
    errors = sys.modules.get("docker.errors")
    return (LocalAPIError,) if errors is None else (LocalAPIError, errors.APIError)


def not_found_errors() -> tuple[type[Exception], ...]:
    """The classes of a 404 answer from either client, for ``except not_found_errors():``."""
    errors = sys.modules.get("docker.errors")
    return (LocalNotFound,) if errors is None else (LocalNotFound, errors.NotFound)


def docker_errors() -> tuple[type[Exception], ...]:
    """docker-py's DockerException (when loaded) and LocalAPIError: either client's errors."""
    errors = sys.modules.get("docker.errors")
    return (LocalAPIError,) if errors is None else (LocalAPIError, errors.DockerException)


def open_local(endpoint: Endpoint, timeout: int = 30) -> docker.APIClient:
    """The stdlib client for a unix-socket ``endpoint``, docker-py's behind it for the rest.

    Typed as docker-py's client: LocalAPI answers what the list needs the same way and hands
    every other attribute to docker-py's (made by ``open_api`` on first use, without paramiko:
    a unix socket never needs it).
    """

    opened: list[LocalAPI] = []

    def fallback() -> docker.APIClient:
        import_docker()
        # The version the stdlib client negotiated: docker-py asks nothing more to start.
        return open_api(endpoint, timeout=timeout, version=opened[0].api_version)

    path = endpoint.host.removeprefix("unix://")
    try:
        local = LocalAPI.open(path, fallback, timeout=timeout)
        opened.append(local)
    except Exception as exc:  # what docker-py's version="auto" would have raised, explained
        reason = explain_connect_error(
            exc if isinstance(exc, OSError) else _VersionError(exc), tls=False
        )
        raise DaemonUnreachable(endpoint.description, reason) from exc
    return cast("docker.APIClient", local)


class _VersionError(Exception):
    """The /version answer could not be used (docker-py's words for it)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"Error while fetching server API version: {cause}")


_DOCKER_IMPORT = threading.Lock()


def import_docker() -> None:
    """Import docker-py once, with paramiko hidden unless loaded (see tui.prefetch).

    docker-py's package has import cycles that break when two threads import it at once, hence
    the lock.
    """
    with _DOCKER_IMPORT:
        if "docker" in sys.modules or "paramiko" in sys.modules:
            import docker

            return
        sys.modules["paramiko"] = None  # type: ignore[assignment]  # import raises ImportError
        try:
            import docker  # noqa: F401
        finally:
            del sys.modules["paramiko"]


def daemon_text(exc: Exception) -> str:
    """The daemon's own message, whole (docker-py prefixes it with the HTTP status line)."""
    explanation = getattr(exc, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    text = str(explanation or exc).strip()
    # Some daemons repeat themselves ("no such image: x: No such image: x"): keep one copy.
    start = text.find(": ")
    while start != -1:
        if text[:start].lower() == text[start + 2 :].lower():
            return text[start + 2 :]
        start = text.find(": ", start + 2)
    return text


def container_ids_in(text: str) -> list[str]:
    """Container IDs a daemon conflict message names ("container cc45dd0ce6f1 is using ...")."""
    return _CONTAINER_IN_MESSAGE.findall(text)
