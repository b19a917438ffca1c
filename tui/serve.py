"""`imagedeck serve`: the same app as a web page, through textual-serve.

    imagedeck serve                              # http://127.0.0.1:8000, this machine only
    imagedeck serve --port 8080 --daemon ssh://build-1
    imagedeck serve --host 0.0.0.0 --public-url http://build-1.lan:8000   # warns: see below

Every browser tab that opens the page starts its own imagedeck process (textual-serve runs it
with Textual's web driver and relays its screen and keys over a WebSocket).

Whoever can open the page controls the Docker daemon imagedeck talks to, which is as good as
root on the daemon's host: there is no login. So the server binds to 127.0.0.1 unless told
otherwise (reach it from elsewhere with ``ssh -L 8000:127.0.0.1:8000 HOST``), any other address
prints a warning, and the WebSocket refuses a browser whose page came from another origin (a
web site the user visits must not drive the daemon through ``ws://127.0.0.1:8000``).

textual-serve takes the app as a shell command. That command is ``shlex.join`` of an argv built
here from a fixed prefix and options checked below; nothing a user typed becomes shell text.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.safe_text import visible

if TYPE_CHECKING:
    from aiohttp import web

EXIT_OK, EXIT_USAGE, EXIT_ERROR = 0, 2, 1
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Addresses meaning "every interface": they are no address a browser can be given.
UNSPECIFIED = ("0.0.0.0", "::")  # noqa: S104
# At Ctrl+C, how long the open pages' apps get to quit before the server stops anyway.
SHUTDOWN_WAIT = 10.0
# Where the page's template lives (textual-serve's, without the request to Google Fonts).
TEMPLATES = Path(__file__).resolve().parent / "web"

# A DNS name: labels of letters, digits and inner hyphens (no spaces, no shell or URL syntax).
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
# Docker's own rule for context names (cli/context/store: restrictedNamePattern).
_CONTEXT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$")
# The daemon address schemes docker-py (and so the app's --host) understands.
_DAEMON_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")
# What follows the scheme: host, port, user, path; no shell, quoting or space characters.
_DAEMON_REST = re.compile(r"^[A-Za-z0-9._~:/@%+=,\[\]-]+$")
_LOG_LEVELS = ("debug", "info", "warning", "error")


def bind_address(text: str) -> str:
    """An IP address or a host name to listen on (argparse type); anything else is refused."""
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]  # [::1] as in a URL
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if _HOSTNAME.match(value):
        return value
    raise argparse.ArgumentTypeError(f"not an IP address or host name: {visible(text)!r}")


def port_number(text: str) -> int:
    """A TCP port, 1-65535 (argparse type)."""
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {visible(text)!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {port}")
    return port


def daemon_url(text: str) -> str:
    """A daemon address for the served app's ``--host`` (argparse type).

    A scheme docker-py knows, then only the characters of a host, port, user or socket path:
    the value reaches the app as one argv item whatever it holds, but a readable refusal here
    beats a confusing one in every page.
    """
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in _DAEMON_SCHEMES or not _DAEMON_REST.match(rest):
        schemes = ", ".join(f"{s}://" for s in _DAEMON_SCHEMES)
        raise argparse.ArgumentTypeError(
            f"not a daemon address (expected {schemes}... without spaces or quotes): "
            f"{visible(text)!r}"
        )
    return text


def context_name(text: str) -> str:
    """A Docker context name, by Docker's own pattern (argparse type)."""
    if not _CONTEXT.match(text):
        raise argparse.ArgumentTypeError(f"not a Docker context name: {visible(text)!r}")
    return text


def config_path(text: str) -> str:
    """A configuration file, made absolute (the served app runs from the server's directory)."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {visible(text)!r}")
    return str(path.resolve())


def public_url_value(text: str) -> str:
    """The http(s) URL browsers use to reach the server, without a trailing slash."""
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() or not c.isprintable() for c in text)
    ):
        raise argparse.ArgumentTypeError(
            f"not an http:// or https:// URL of the server: {visible(text)!r}"
        )
    return text.rstrip("/")


class _Parser(argparse.ArgumentParser):
    """argparse, but bad usage says which command it was about."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        print(f"imagedeck serve: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The options of `imagedeck serve`."""
    parser = _Parser(
        prog="imagedeck serve",
        description="Serve imagedeck as a web page (each browser tab runs its own imagedeck). "
        "Whoever opens the page controls the Docker daemon: keep the default loopback address "
        "and reach it through an SSH tunnel.",
    )
    parser.add_argument(
        "--host",
        type=bind_address,
        default=DEFAULT_HOST,
        metavar="ADDRESS",
        help=f"address to listen on (default {DEFAULT_HOST}; anything else warns)",
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--public-url",
        type=public_url_value,
        metavar="URL",
        help="the URL browsers use when it is not http://HOST:PORT (a proxy, a DNS name)",
    )
    parser.add_argument(
        "--daemon",
        type=daemon_url,
        metavar="URL",
        help="daemon address for the app (its --host; else DOCKER_HOST, else the default)",
    )
    parser.add_argument(
        "--context", "-c", type=context_name, metavar="NAME", help="Docker context for the app"
    )
    parser.add_argument(
        "--config", type=config_path, metavar="FILE", help="configuration file for the app"
    )
    parser.add_argument(
        "--log-level",
        choices=_LOG_LEVELS,
        default="info",
        help="the app's log detail (default info)",
    )
    return parser


def app_argv(args: argparse.Namespace, python: str | None = None) -> list[str]:
    """The argv of the app each page runs: this Python, ``-m tui``, then the checked options.

    Each option is one ``--name=value`` item, so a value can never be read as another option.
    """
    argv = [python or sys.executable, "-m", "tui"]
    if args.daemon:
        argv.append(f"--host={args.daemon}")
    if args.context:
        argv.append(f"--context={args.context}")
    if args.config:
        argv.append(f"--config={args.config}")
    argv.append(f"--log-level={args.log_level}")
    return argv


def served_command(argv: Sequence[str]) -> str:
    """The shell command textual-serve runs: the argv, each item quoted."""
    return shlex.join(argv)


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


def bind_warning(host: str, port: int) -> str | None:
    """The warning for a server reachable from other machines; None on loopback."""
    if is_loopback(host):
        return None
    where = "every interface" if host in UNSPECIFIED else host
    return (
        f"WARNING: imagedeck serve listens on {where} (port {port}), not only on this "
        "machine's loopback. There is no login: anyone who can reach this port controls the "
        "Docker daemon imagedeck uses, which is as good as root on the daemon's host. Prefer "
        f"the default (--host {DEFAULT_HOST}) and an SSH tunnel: "
        f"ssh -L {port}:{DEFAULT_HOST}:{port} THIS-HOST."
    )


def url_host(host: str) -> str:
    """``host`` as it stands in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def default_public_url(host: str, port: int) -> str:
    """The URL of a server on ``host``:``port`` (an unspecified address reads as loopback)."""
    if host == "0.0.0.0":  # noqa: S104
        host = DEFAULT_HOST  # a page on this machine; others need --public-url
    elif host == "::":
        host = "::1"
    return f"http://{url_host(host)}:{port}"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lowercased, default ports left out (RFC 6454)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    origin = f"{scheme}://{url_host(host)}"
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        origin += f":{port}"
    return origin


def allowed_origins(public_url: str, host: str, port: int) -> frozenset[str]:
    """The page origins whose WebSocket is accepted: the public URL's, and on a loopback or
    unspecified bind address this machine's own names for the same port."""
    origins = {origin_of(public_url)}
    if is_loopback(host) or host in UNSPECIFIED:
        origins |= {origin_of(f"http://{h}:{port}") for h in ("127.0.0.1", "localhost", "[::1]")}
    return frozenset(origins)


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """May a WebSocket opened with this ``Origin`` header drive the app?

    Browsers always send Origin on a WebSocket; a page from another site must not reach the
    daemon through this server (cross-site WebSocket hijacking, DNS rebinding). A client that
    sends none is not a browser page: it could send any Origin it liked, so refusing it would
    protect nothing.
    """
    if origin is None:
        return True
    if origin == "null":
        return False  # a sandboxed frame or a file:// page
    return origin_of(origin) in set(allowed)


class _VisibleFormatter(logging.Formatter):
    """Log lines with control characters shown (request lines and headers come from anyone)."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


def listen_problem(host: str, port: int) -> str | None:
    """Why ``host``:``port`` cannot be listened on (taken, not this machine's), or None.

    Asked before the server starts, so a taken port is the only thing printed, not a URL
    first; the server binds again right after (with SO_REUSEADDR, as aiohttp does).
    """
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        return str(error)
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                return error.strerror or str(error)
    return None


def make_server(args: argparse.Namespace, command: str) -> Any:
    """The textual-serve Server for ``command``, with the origin check and plain logging."""
    from aiohttp import web
    from textual_serve.server import Server

    public_url = args.public_url or default_public_url(args.host, args.port)
    origins = allowed_origins(public_url, args.host, args.port)
    log = logging.getLogger("imagedeck.serve")
    pages: set[asyncio.Task[Any]] = set()  # the handler of each open page's WebSocket

    class ImagedeckServer(Server):
        """textual-serve's Server: our page, an Origin check, plain-text output."""

        def initialize_logging(self) -> None:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_VisibleFormatter("%(asctime)s %(levelname)s %(message)s"))
            logging.basicConfig(level=logging.INFO, handlers=[handler])

        async def on_startup(self, app: web.Application) -> None:
            # textual-serve prints a banner through Rich markup; a plain line says the same.
            print(f"imagedeck serve: {self.public_url}/ (Ctrl+C stops)", file=sys.stderr)

        async def on_shutdown(self, app: web.Application) -> None:
            # textual-serve leaves open pages open at Ctrl+C, and aiohttp then waits for them
            # (20 s and more, seen with one page). Cancelling each page's handler takes
            # textual-serve's own way out: it closes the page, tells that app to quit and
            # waits for it to end, so no imagedeck is left behind.
            for task in list(pages):
                task.cancel()
            if pages:
                await asyncio.wait(list(pages), timeout=SHUTDOWN_WAIT)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            origin = request.headers.get("Origin")
            if not origin_allowed(origin, origins):
                log.warning("refused a WebSocket from origin %s", origin)
                raise web.HTTPForbidden(text="imagedeck serve: this page's origin is not allowed")
            task = asyncio.current_task()
            if task is not None:
                pages.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                pages.discard(task)

    return ImagedeckServer(
        command,
        host=args.host,
        port=args.port,
        title="imagedeck",
        public_url=public_url,
        templates_path=TEMPLATES,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `imagedeck serve`."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.host in UNSPECIFIED and not args.public_url:
        # The page names its WebSocket by this URL, and only its origin may open one: with
        # "every interface" there is no address to give a browser on another machine.
        parser.error(
            f"--host {args.host} needs --public-url, the address browsers on other machines "
            f"use (e.g. --public-url http://build-1.example:{args.port})"
        )
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        print(
            "imagedeck serve: textual-serve is not installed (pip install textual-serve)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    problem = listen_problem(args.host, args.port)
    if problem is not None:
        print(
            f"imagedeck serve: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr
        )
        return EXIT_ERROR
    warning = bind_warning(args.host, args.port)
    if warning:
        print(warning, file=sys.stderr)
    server = make_server(args, served_command(app_argv(args)))
    try:
        server.serve()
    except OSError as error:  # the port is taken, the address is not this machine's
        print(
            f"imagedeck serve: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr
        )
        return EXIT_ERROR
    return EXIT_OK
