"""Which daemon to talk to, and how: --host, --context, DOCKER_HOST, DOCKER_CONTEXT, config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
from docker.context import ContextAPI
from docker.errors import ContextNotFound, DockerException
from docker.utils import kwargs_from_env

from tui.service.errors import DaemonUnreachable

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    """A resolved daemon address and where it came from (for the header and error messages)."""

    host: str
    source: str
    context: str | None = None
    tls: Any = None

    @property
    def description(self) -> str:
        """A short human text: the host, and the context when one was used."""
        if self.context and self.context != "default":
            return f"{self.host} (context {self.context})"
        return self.host


def resolve_endpoint(
    host: str | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """Find the daemon the way the Docker CLI does.

    Order: ``--host``; ``--context``; ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` and
    ``DOCKER_CERT_PATH``); ``DOCKER_CONTEXT``; the config's current context; the default socket.
    """
    env = dict(os.environ if environ is None else environ)
    if host:
        tls = None
        if env.get("DOCKER_TLS_VERIFY") or env.get("DOCKER_CERT_PATH"):
            tls = kwargs_from_env(environment={**env, "DOCKER_HOST": host}).get("tls")
        return Endpoint(host=host, source="--host", tls=tls)
    if context:
        return _from_context(context, "--context")
    if env.get("DOCKER_HOST"):
        try:
            kwargs = kwargs_from_env(environment=env)
        except DockerException as exc:
            raise DaemonUnreachable(env["DOCKER_HOST"], str(exc)) from exc
        return Endpoint(host=str(kwargs["base_url"]), source="DOCKER_HOST", tls=kwargs.get("tls"))
    if env.get("DOCKER_CONTEXT"):
        return _from_context(env["DOCKER_CONTEXT"], "DOCKER_CONTEXT")
    try:
        current = ContextAPI.get_current_context()
    except DockerException:
        current = None
    if current is not None and current.name != "default" and current.Host:
        return Endpoint(
            host=current.Host, source="docker config", context=current.name, tls=current.TLSConfig
        )
    return Endpoint(host=DEFAULT_HOST, source="default")


def _from_context(name: str, source: str) -> Endpoint:
    try:
        ctx = ContextAPI.get_context(name)
    except ContextNotFound as exc:
        raise DaemonUnreachable(f"context {name}", f"no Docker context named {name!r}") from exc
    except DockerException as exc:
        raise DaemonUnreachable(f"context {name}", str(exc)) from exc
    if ctx is None or not ctx.Host:
        raise DaemonUnreachable(f"context {name}", f"no Docker context named {name!r}")
    return Endpoint(host=ctx.Host, source=source, context=name, tls=ctx.TLSConfig)


def list_contexts() -> list[tuple[str, str]]:
    """(name, host) of every Docker context the user's config knows, ``default`` first."""
    try:
        return [(c.name, c.Host or DEFAULT_HOST) for c in ContextAPI.contexts()]
    except DockerException:
        return [("default", DEFAULT_HOST)]


def open_api(endpoint: Endpoint, timeout: int = 30) -> docker.APIClient:
    """A low-level docker-py client for ``endpoint``.

    The API version is negotiated ("auto") so both old (20.10) and new daemons work; that costs
    one ``/version`` request and tells us right away whether the daemon answers.
    """
    kwargs: dict[str, Any] = {"base_url": endpoint.host, "version": "auto", "timeout": timeout}
    if endpoint.tls is not None:
        kwargs["tls"] = endpoint.tls
    if endpoint.host.startswith("ssh://"):
        # Paramiko, not the ssh binary: no shell is involved, and host keys are checked
        # against known_hosts (unknown hosts are refused, see errors).
        kwargs["use_ssh_client"] = False
    try:
        return docker.APIClient(**kwargs)
    except DockerException as exc:
        raise DaemonUnreachable(endpoint.description, explain_connect_error(exc)) from exc
    except Exception as exc:  # paramiko and ssl raise their own classes
        raise DaemonUnreachable(endpoint.description, explain_connect_error(exc)) from exc


def explain_connect_error(exc: BaseException) -> str:
    """Turn a connection failure into a short reason a person can act on."""
    text = str(exc)
    lowered = text.lower()
    if "no such file or directory" in lowered or "filenotfound" in lowered:
        return "the socket does not exist (is the daemon running?)"
    if "permission denied" in lowered:
        return "permission denied on the socket (are you in the docker group?)"
    if "connection refused" in lowered:
        return "connection refused (is the daemon running and listening there?)"
    if "certificate" in lowered or "ssl" in lowered:
        return f"TLS failed: {_last_line(text)}"
    if "not found in known_hosts" in lowered or "unknown host" in lowered:
        return (
            f"ssh refused: the host key is not known ({_last_line(text)}); "
            "add it to known_hosts with ssh-keyscan"
        )
    if "timed out" in lowered or "timeout" in lowered:
        return "the connection timed out"
    return _last_line(text) or exc.__class__.__name__


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
