"""The connection every service method shares, and the translation of docker-py errors."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TypeVar

import docker
import requests
from docker.errors import APIError, DockerException
from docker.errors import ImageNotFound as DockerImageNotFound
from docker.errors import NotFound as DockerNotFound

from tui.service.connection import Endpoint, explain_connect_error, open_api, resolve_endpoint
from tui.service.engine import EngineInfo, engine_from
from tui.service.errors import (
    Conflict,
    DaemonError,
    DaemonUnreachable,
    ImagedeckError,
    NotFound,
)

_S = TypeVar("_S", bound="ServiceBase")
# Docker: "... container cc45dd0ce6f1 is using its referenced image ..."; Podman: "... image
# used by <64-hex id>: image is in use by a container ...".
_CONTAINER_IN_MESSAGE = re.compile(r"(?:container|image used by) ([0-9a-f]{12,64})")


class ServiceBase:
    """Holds the docker-py client; the mixins of ``ImageService`` build on it."""

    def __init__(self, endpoint: Endpoint, api: docker.APIClient) -> None:
        self.endpoint = endpoint
        self.api = api

    @classmethod
    def connect(
        cls: type[_S], host: str | None = None, context: str | None = None, timeout: int = 30
    ) -> _S:
        """Resolve the daemon like the Docker CLI and connect (raises DaemonUnreachable)."""
        endpoint = resolve_endpoint(host, context)
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
        except (DockerImageNotFound, DockerNotFound) as exc:
            raise NotFound(f"{what}: {daemon_text(exc)}") from exc
        except APIError as exc:
            text = daemon_text(exc)
            if exc.status_code == 409 or text.startswith("conflict"):
                raise Conflict(
                    f"{what}: {text}",
                    reference=reference,
                    children="dependent child images" in text,
                    daemon_message=text,
                    holders=(),
                ) from exc
            if exc.status_code == 404:
                raise NotFound(f"{what}: {text}") from exc
            raise DaemonError(f"{what}: {text}") from exc
        except (requests.exceptions.ConnectionError, ConnectionError, OSError) as exc:
            raise DaemonUnreachable(self.endpoint.description, explain_connect_error(exc)) from exc
        except requests.exceptions.Timeout as exc:
            raise DaemonUnreachable(
                self.endpoint.description, "the daemon did not answer in time"
            ) from exc
        except DockerException as exc:
            raise DaemonError(f"{what}: {exc}") from exc


def daemon_text(exc: APIError) -> str:
    """The daemon's own message, whole (docker-py prefixes it with the HTTP status line)."""
    explanation = exc.explanation
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
