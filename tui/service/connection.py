"""Which daemon to talk to, and how: --host, --context, DOCKER_HOST, DOCKER_CONTEXT, config.

Transports: ``unix://``, ``tcp://`` (TLS decided exactly as the docker CLI decides it, see
:func:`env_tls`, or from a context's TLS material), ``ssh://user@host[:port]`` through
docker-py's paramiko transport (the ``ssh`` extra). Over ssh an unknown host key is refused:
only keys in the user's ``~/.ssh/known_hosts`` are accepted, and the check is made before any
request is sent.

A little over 500 lines because the three questions (which endpoint, with which TLS or ssh
rules, and why a connection failed, in the docker CLI's words) share their data and must agree
on every case; each is a section below, and the contexts are read here rather than by
docker-py's ContextAPI for the reason that follows.

Docker contexts are read from the user's Docker config directory (``DOCKER_CONFIG`` or
``~/.docker``) the way the Docker CLI stores them (``contexts/meta/<sha256>/meta.json`` and
``contexts/tls/<sha256>/docker/``). docker-py's own ContextAPI is not used for reading: it
looks for the contexts next to ``config.json`` and finds none when that file does not exist,
which is common on machines where only ``docker context create`` was ever run.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.service.errors import DaemonUnreachable

if TYPE_CHECKING:
    import docker
    from docker.tls import TLSConfig

# docker-py is imported where a client or TLS settings are made, not here: a daemon on a unix
# socket is asked with the standard library (tui/service/local_api.py) until a feature needs
# docker-py.

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"
# Seconds paramiko waits for the TCP connect, banner and authentication of an ssh endpoint.
SSH_CONNECT_TIMEOUT = 15


@dataclass(frozen=True)
class Endpoint:
    """A resolved daemon address and where it came from (for the header and error messages)."""

    host: str
    source: str
    context: str | None = None
    tls: Any = None

    @property
    def verified(self) -> bool:
        """False for TLS that does not check the daemon's certificate (DOCKER_TLS without
        DOCKER_TLS_VERIFY, a context made with ``skip-tls-verify``); True otherwise."""
        return self.tls is None or bool(getattr(self.tls, "verify", False))

    @property
    def description(self) -> str:
        """A short human text: the host (never a password), the context when one was used, and
        a warning when the daemon's TLS certificate is not checked (the header shows this)."""
        text = scrub_url(self.host)
        if self.context and self.context != DEFAULT_CONTEXT:
            text = f"{text} (context {self.context})"
        if not self.verified:
            text = f"{text} ⚠ TLS NOT VERIFIED"
        return text


@dataclass(frozen=True)
class ContextInfo:
    """One Docker context, as the context switcher lists it."""

    name: str
    host: str
    description: str = ""
    current: bool = False
    """True for the context the Docker CLI would use (DOCKER_CONTEXT or the config's)."""
    tls: bool = False
    tls_verified: bool = True
    """False when TLS does not check the daemon's certificate (skip-tls-verify, DOCKER_TLS)."""


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^:/@\s]*):([^@\s/]*)@")


def scrub_url(text: str) -> str:
    """``text`` with URL passwords hidden (``tcp://me:secret@h`` -> ``tcp://me:***@h``).

    Works on a URL or on free text holding URLs (error messages, log lines).
    """
    return _USERINFO.sub(r"\1\2:***@", text)


# -- the Docker config directory and its contexts ---------------------------------------------


def docker_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``DOCKER_CONFIG`` or ``~/.docker``, as the Docker CLI uses it."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]).expanduser()
    return Path(env.get("HOME") or Path.home()) / ".docker"


def _context_id(name: str) -> str:
    # hashlib here, not at import: it loads libcrypto (about 4 MB resident), which a session
    # on the local socket without contexts never needs.
    import hashlib

    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def current_context_name(environ: Mapping[str, str] | None = None) -> str:
    """``DOCKER_CONTEXT``, else the config's ``currentContext``, else ``default``."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"]
    try:
        config = json.loads((docker_config_dir(env) / "config.json").read_text())
    except (OSError, ValueError):
        return DEFAULT_CONTEXT
    name = config.get("currentContext") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else DEFAULT_CONTEXT


def _read_context(name: str, environ: Mapping[str, str]) -> ContextInfo | None:
    meta = docker_config_dir(environ) / "contexts" / "meta" / _context_id(name) / "meta.json"
    try:
        data = json.loads(meta.read_text())
    except OSError:
        return None
    except ValueError as exc:
        raise DaemonUnreachable(f"context {name}", f"its file {meta} is not valid JSON") from exc
    endpoint = (data.get("Endpoints") or {}).get("docker") or {}
    description = str((data.get("Metadata") or {}).get("Description") or "")
    tls_dir = docker_config_dir(environ) / "contexts" / "tls" / _context_id(name) / "docker"
    return ContextInfo(
        name=str(data.get("Name") or name),
        host=str(endpoint.get("Host") or DEFAULT_HOST),
        description=description,
        tls=tls_dir.is_dir() or bool(endpoint.get("SkipTLSVerify")),
        tls_verified=not endpoint.get("SkipTLSVerify"),
    )


def _context_tls(name: str, environ: Mapping[str, str]) -> TLSConfig | None:
    """The TLS settings of context ``name`` (files the CLI stored with ``--docker ca=...``)."""
    meta = docker_config_dir(environ) / "contexts" / "meta" / _context_id(name) / "meta.json"
    try:
        endpoint = (json.loads(meta.read_text()).get("Endpoints") or {}).get("docker") or {}
    except (OSError, ValueError):
        endpoint = {}
    skip_verify = bool(endpoint.get("SkipTLSVerify"))
    tls_dir = docker_config_dir(environ) / "contexts" / "tls" / _context_id(name) / "docker"
    ca, cert, key = (tls_dir / f for f in ("ca.pem", "cert.pem", "key.pem"))
    if not tls_dir.is_dir() and not skip_verify:
        return None
    client_cert = (str(cert), str(key)) if cert.is_file() and key.is_file() else None
    from docker.errors import DockerException
    from docker.tls import TLSConfig

    try:
        return TLSConfig(
            client_cert=client_cert,
            ca_cert=str(ca) if ca.is_file() else None,
            verify=not skip_verify,
        )
    except DockerException as exc:
        raise DaemonUnreachable(f"context {name}", f"its TLS files are unusable: {exc}") from exc


def list_contexts(environ: Mapping[str, str] | None = None) -> list[ContextInfo]:
    """Every Docker context of the user's config, ``default`` first, the current one marked.

    ``default`` is what the CLI means by it: ``DOCKER_HOST`` when set, else the local socket.
    """
    env = dict(os.environ if environ is None else environ)
    current = current_context_name(env)
    default_host = env.get("DOCKER_HOST") or DEFAULT_HOST
    found = [
        ContextInfo(
            DEFAULT_CONTEXT,
            scrub_url(default_host),
            "DOCKER_HOST" if env.get("DOCKER_HOST") else "the local daemon",
            current == DEFAULT_CONTEXT,
            tls=bool(env.get("DOCKER_TLS_VERIFY") or env.get("DOCKER_TLS")),
            tls_verified=bool(env.get("DOCKER_TLS_VERIFY") or not env.get("DOCKER_TLS")),
        )
    ]
    meta_dir = docker_config_dir(env) / "contexts" / "meta"
    names: list[str] = []
    try:
        entries = sorted(meta_dir.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        try:
            name = json.loads((entry / "meta.json").read_text()).get("Name")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str) and name and name != DEFAULT_CONTEXT:
            names.append(name)
    for name in sorted(names):
        try:
            info = _read_context(name, env)
        except DaemonUnreachable:
            continue
        if info is not None:
            found.append(
                ContextInfo(
                    info.name,
                    scrub_url(info.host),
                    info.description,
                    name == current,
                    info.tls,
                    info.tls_verified,
                )
            )
    return found


# -- resolution --------------------------------------------------------------------------------


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
        return _from_host(host, "--host", env)
    if context:
        return _from_context(context, "--context", env)
    if env.get("DOCKER_HOST"):
        return _from_host(env["DOCKER_HOST"], "DOCKER_HOST", env)
    if env.get("DOCKER_CONTEXT"):
        return _from_context(env["DOCKER_CONTEXT"], "DOCKER_CONTEXT", env)
    current = current_context_name(env)
    if current != DEFAULT_CONTEXT:
        return _from_context(current, "docker config", env)
    return Endpoint(host=DEFAULT_HOST, source="default")


def env_tls(host: str, env: Mapping[str, str]) -> TLSConfig | None:
    """TLS for ``host`` from the environment, by the docker CLI's rules (cli/flags/options.go).

    Checked against docker 28.2 and Debian's 20.10 in tests/service/test_remote.py:

    - TLS is on when ``DOCKER_TLS_VERIFY`` or ``DOCKER_TLS`` is non-empty (any value: ``0`` and
      ``false`` count as set); ``DOCKER_CERT_PATH`` alone does NOT turn it on (plain HTTP);
    - the daemon's certificate is verified only when ``DOCKER_TLS_VERIFY`` is non-empty;
    - the files are ``ca.pem``, ``cert.pem``, ``key.pem`` in ``DOCKER_CERT_PATH``, else in the
      Docker config directory (``DOCKER_CONFIG`` or ``~/.docker``);
    - with TLS on, a missing ``ca.pem`` is an error even without verification (whatever the
      host); a missing ``cert.pem`` or ``key.pem`` means no client certificate;
    - only a ``tcp://`` daemon is spoken to over TLS (docker 28 ignores TLS on unix and ssh).

    docker-py's ``kwargs_from_env`` differs (a cert path alone gives unverified TLS, and
    ``DOCKER_TLS`` is ignored), which is why it is not used.
    """
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not (verify or env.get("DOCKER_TLS")):
        return None
    cert_path = env.get("DOCKER_CERT_PATH")
    directory = Path(cert_path) if cert_path else docker_config_dir(env)
    ca, cert, key = (directory / name for name in ("ca.pem", "cert.pem", "key.pem"))
    try:
        with ca.open("rb"):
            pass
    except OSError as exc:
        variable = "DOCKER_TLS_VERIFY" if verify else "DOCKER_TLS"
        raise DaemonUnreachable(
            scrub_url(host),
            f"{variable} turns TLS on, but the CA certificate {ca} cannot be read "
            f"({exc.strerror or exc}); set DOCKER_CERT_PATH to the directory holding ca.pem, "
            "cert.pem and key.pem (the docker CLI refuses this too)",
        ) from exc
    if not host.startswith("tcp://"):
        return None
    client_cert = (str(cert), str(key)) if cert.exists() and key.exists() else None
    from docker.errors import DockerException
    from docker.tls import TLSConfig

    try:
        return TLSConfig(client_cert=client_cert, ca_cert=str(ca), verify=verify)
    except DockerException as exc:
        raise DaemonUnreachable(scrub_url(host), f"TLS settings: {exc}") from exc


def _from_host(host: str, source: str, env: Mapping[str, str]) -> Endpoint:
    """``host`` with TLS from the environment (DOCKER_TLS_VERIFY, DOCKER_TLS, DOCKER_CERT_PATH)."""
    return Endpoint(host=host, source=source, tls=env_tls(host, env))


def _from_context(name: str, source: str, env: Mapping[str, str]) -> Endpoint:
    if name == DEFAULT_CONTEXT:
        # The CLI's "default" context: DOCKER_HOST (and its TLS variables) or the local socket.
        if env.get("DOCKER_HOST"):
            found = _from_host(env["DOCKER_HOST"], source, env)
            return Endpoint(found.host, source, DEFAULT_CONTEXT, found.tls)
        return Endpoint(host=DEFAULT_HOST, source=source, context=DEFAULT_CONTEXT)
    info = _read_context(name, env)
    if info is None:
        raise DaemonUnreachable(
            f"context {name}",
            f"no Docker context named {name!r} in {docker_config_dir(env)} (see docker context ls)",
        )
    return Endpoint(host=info.host, source=source, context=name, tls=_context_tls(name, env))


# -- connecting --------------------------------------------------------------------------------


def _daemon_client_class() -> type[docker.APIClient]:
    """``_DaemonClient``: docker-py's client, trusting only the daemon's CA over TLS.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify``
    (a known requests quirk), so on machines with those set a TLS daemon signed by its own CA
    would fail to verify. The CA docker's TLS settings name is the one that counts. Made on
    first use, so importing this module does not import docker-py.
    """
    global _DAEMON_CLIENT
    if _DAEMON_CLIENT is None:
        import docker

        class _DaemonClient(docker.APIClient):
            def merge_environment_settings(
                self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
            ) -> dict[str, Any]:
                """As requests does, but ``verify`` stays the session's for https."""
                settings: dict[str, Any] = super().merge_environment_settings(
                    url, proxies, stream, verify, cert
                )
                if str(url).startswith("https://") and verify is None:
                    settings["verify"] = self.verify
                return settings

        _DAEMON_CLIENT = _DaemonClient
    return _DAEMON_CLIENT


_DAEMON_CLIENT: type[docker.APIClient] | None = None


def open_api(endpoint: Endpoint, timeout: int = 30, version: str = "auto") -> docker.APIClient:
    """A low-level docker-py client for ``endpoint``.

    The API version is negotiated ("auto") so both old (20.10) and new daemons work; that costs
    one ``/version`` request and tells us right away whether the daemon answers. A ``version``
    known already (the stdlib client asked, tui/service/local_api.py) asks nothing: a daemon
    gone meanwhile then fails the call that needed docker-py, explained as such.
    """
    kwargs: dict[str, Any] = {"base_url": endpoint.host, "version": version, "timeout": timeout}
    if endpoint.tls is not None:
        kwargs["tls"] = endpoint.tls
    if not endpoint.verified:
        # The user chose unchecked TLS (the header says so); urllib3 would otherwise print a
        # warning on stderr, under the UI, for every request.
        import urllib3

        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    if endpoint.host.startswith("ssh://"):
        # Paramiko, not the ssh binary: no shell or ssh_config surprises, and host keys are
        # checked here against known_hosts (see _harden_ssh).
        kwargs["use_ssh_client"] = False
    try:
        if endpoint.host.startswith("ssh://"):
            _ensure_ssh_adapter()
        api = _daemon_client_class()(**kwargs)
    except Exception as exc:  # docker-py, requests, paramiko and ssl raise their own classes
        reason = explain_connect_error(exc, tls=endpoint.tls is not None)
        raise DaemonUnreachable(endpoint.description, reason) from exc
    if endpoint.host.startswith("ssh://"):
        _harden_ssh(api, endpoint)
    return api


def _ensure_ssh_adapter() -> None:
    """Give docker-py its ssh adapter if it was imported without paramiko.

    A session started on a local socket imports docker-py with paramiko hidden (start-up
    speed, see tui.prefetch.import_service); docker-py then leaves ``SSHHTTPAdapter`` out of
    its client module. Switching to an ssh:// context later must still work, so the adapter is
    imported now and handed to the client module. Without paramiko installed the ImportError
    surfaces as the usual "ssh:// needs paramiko" message.
    """
    import docker.api.client as client_module

    if hasattr(client_module, "SSHHTTPAdapter"):
        return
    from docker.transport.sshconn import SSHHTTPAdapter

    client_module.SSHHTTPAdapter = SSHHTTPAdapter


def _harden_ssh(api: docker.APIClient, endpoint: Endpoint) -> None:
    """Keep refusing unknown host keys on reconnects, and bound how long a reconnect waits.

    docker-py (>= 6) connects with ``RejectPolicy`` and the user's known_hosts already; the
    adapter reconnects by itself when the transport drops, so the policy is set again here
    (a future docker-py changing its default must not weaken us) and a timeout added, so a dead
    link fails in seconds instead of hanging a worker.
    """
    import paramiko

    adapter = getattr(api, "_custom_adapter", None)
    client = getattr(adapter, "ssh_client", None)
    if not isinstance(client, paramiko.SSHClient):
        return
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    params = getattr(adapter, "ssh_params", None)
    if isinstance(params, dict):
        params.setdefault("timeout", SSH_CONNECT_TIMEOUT)
        params.setdefault("banner_timeout", SSH_CONNECT_TIMEOUT)
        params.setdefault("auth_timeout", SSH_CONNECT_TIMEOUT)


def explain_connect_error(
    exc: BaseException, *, tls: bool = False, host: str = "", connected: bool = False
) -> str:
    """Turn a connection failure into a short reason a person can act on (no credentials).

    ``tls``: the connection used TLS. With TLS 1.3 the daemon checks the client certificate
    after the client thinks the handshake is done, so a refused certificate often shows up only
    as the connection closing on the first request.
    ``host``: the daemon's address; ``connected``: the service had talked to it before. A
    connection closed on a unix socket, or by a daemon that answered before, is a daemon that
    stopped or restarted, never one that wants TLS.
    """
    text = scrub_url(_flatten(exc))
    lowered = text.lower()
    if "not found in known_hosts" in lowered:
        server = re.search(r"server '([^']+)'", text, re.IGNORECASE)
        name = server.group(1) if server else "the server"
        return (
            f"ssh refused: the host key of {name} is not in your known_hosts. Check the key "
            "out of band, then add it (ssh-keyscan, or connect once with ssh) and retry"
        )
    if "does not match" in lowered and "host key" in lowered:
        return (
            "ssh refused: the server's host key does not match the one in your known_hosts "
            "(a reinstalled server, or someone in between); check it before updating known_hosts"
        )
    if "authentication failed" in lowered or "no authentication methods" in lowered:
        return (
            "ssh refused: authentication failed (is your key loaded in ssh-agent, or named by "
            "IdentityFile in ~/.ssh/config?)"
        )
    if "not a valid rsa private key" in lowered or "private key file is encrypted" in lowered:
        return "ssh: the private key could not be used (encrypted? load it into ssh-agent)"
    if "no module named 'paramiko'" in lowered or "install paramiko" in lowered:
        return "ssh:// needs paramiko: pip install 'imagedeck[ssh]'"
    if "certificate verify failed" in lowered:
        return (
            "TLS refused: the daemon's certificate is not signed by the CA in use "
            f"(DOCKER_CERT_PATH/ca.pem or the context's ca.pem) or does not name this host "
            f"({_ssl_reason(text)})"
        )
    if "unknown ca" in lowered or "bad certificate" in lowered or "certificate required" in lowered:
        return (
            "TLS refused: the daemon did not accept the client certificate (cert.pem/key.pem "
            f"in DOCKER_CERT_PATH or the context) ({_ssl_reason(text)})"
        )
    closed = (
        "eof occurred in violation" in lowered
        or "remotedisconnected" in lowered
        or "connection reset" in lowered
    )
    if tls and closed:
        return (
            "TLS refused: the daemon closed the connection after the handshake; it did not "
            "accept the client certificate (cert.pem/key.pem in DOCKER_CERT_PATH or the context)"
        )
    if "wrong version number" in lowered or "record layer failure" in lowered:
        return "TLS failed: the daemon does not speak TLS on this port (try without TLS)"
    if "http request to an https server" in lowered:
        return "the daemon requires TLS (set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)"
    if closed and (connected or host.startswith(("unix://", "npipe://"))):
        return "the daemon closed the connection (did it stop or restart?)"
    if closed:
        return (
            "the daemon closed the connection; it may require TLS (set DOCKER_TLS_VERIFY=1 "
            "and DOCKER_CERT_PATH)"
        )
    if "no such file or directory" in lowered or "filenotfound" in lowered:
        return "the socket does not exist (is the daemon running?)"
    if "permission denied" in lowered:
        return "permission denied on the socket (are you in the docker group?)"
    if "connection refused" in lowered:
        return "connection refused (is the daemon running and listening there?)"
    if "certificate" in lowered or "ssl" in lowered:
        return f"TLS failed: {_ssl_reason(text)}"
    if "timed out" in lowered or "timeout" in lowered:
        return "the connection timed out"
    return _last_line(text) or exc.__class__.__name__


def _flatten(exc: BaseException) -> str:
    """The texts of ``exc`` and its causes: requests wraps the ssl error two levels deep."""
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def _ssl_reason(text: str) -> str:
    match = re.search(r"\[SSL[^\]]*\] ?([^()'\"]+)", text)
    return match.group(1).strip() if match else _last_line(text)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
