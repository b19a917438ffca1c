"""Command line: `imagedeck [--host URL] [--context NAME] [--config FILE] [--log-level L]`,
`imagedeck layers ...`."""

from __future__ import annotations

import os
import sys

from tui import __version__

# typing, json and pathlib load after the first questions are sent (tui/early.py): mypy
# reads any name TYPE_CHECKING as true, Python sees False.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

    from tui.config import Config
    from tui.early import EarlyRequest
    from tui.prefetch import Prefetch
    from tui.service import ImageService
    from tui.service.fleet import MemberSpec


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and the README can use it)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="imagedeck",
        description="A keyboard-driven terminal UI for Docker images.",
        epilog="Subcommands: imagedeck layers IMAGE|ARCHIVE [--json] [--ci] (layer analysis); "
        "imagedeck prune [--keep-last N] [--unused-for AGE] [--below SIZE] [--keep PATTERN] "
        "[--dangling] [--yes] [--json] (retention rules, a dry run unless --yes); "
        "imagedeck serve [--host ADDRESS] [--port N] [--daemon URL] (the app as a web page).",
    )
    parser.add_argument("--version", action="version", version=f"imagedeck {__version__}")
    parser.add_argument(
        "--host",
        "-H",
        metavar="URL",
        action="append",
        help="daemon address (else DOCKER_HOST, else the default); give it twice or more, "
        "as URL or NAME=URL, for the fleet view: every daemon's images in one list",
    )
    parser.add_argument("--context", "-c", metavar="NAME", help="Docker context to use")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default $XDG_CONFIG_HOME/imagedeck/config.toml)",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="detail of $XDG_STATE_HOME/imagedeck/imagedeck.log (default info)",
    )
    return parser


class _Arguments:
    """The parsed command line's fields, as build_parser() names them."""

    def __init__(self) -> None:
        self.host: list[str] | None = None
        self.context: str | None = None
        self.config: str | None = None
        self.log_level = "info"


# What build_parser().parse_args([]) gives (tests/unit/test_cli_arguments.py compares them).
NO_ARGUMENTS = _Arguments()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `imagedeck` console script and `python -m tui`."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "layers":
        from tui.layers_cli import main as layers_main

        return layers_main(args_list[1:])
    if args_list and args_list[0] == "prune":
        from tui.prune_cli import main as prune_main

        return prune_main(args_list[1:])
    if args_list and args_list[0] == "serve":
        from tui.serve import main as serve_main

        return serve_main(args_list[1:])
    # The first page's lists are asked for before anything else loads (tui/early.py), when
    # no argument can change the daemon.
    from tui.early import send_early

    early = send_early(args_list)
    # Without arguments there is nothing to parse: argparse's import and the parser (about
    # 15 ms before the first row) are left out; NO_ARGUMENTS is what it would give.
    args = build_parser().parse_args(args_list) if args_list else NO_ARGUMENTS
    hosts: list[str] = args.host or []
    if len(hosts) > 1:
        # The fleet view (tui/screens/fleet.py) opens over the first daemon's own list.
        from tui.service.fleet import parse_members

        fleet = parse_members(hosts)  # NAME=URL or URL
        return run_tui(
            fleet[0].host,
            None,
            config_file=args.config,
            log_level=args.log_level,
            fleet=fleet,
        )
    host = hosts[0] if hosts else None
    return run_tui(
        host, args.context, config_file=args.config, log_level=args.log_level, early=early
    )


def config_fleet(config: Config, host: str | None, context: str | None) -> list[MemberSpec]:
    """The config file's fleet, opened over the daemon used without flags; none when the
    command line names a daemon (--host or --context means that daemon only)."""
    if host is not None or context is not None or not config.fleet:
        return []
    from tui.service.fleet import parse_entries

    return parse_entries(config.fleet)


def run_tui(
    host: str | None,
    context: str | None,
    *,
    config_file: str | None = None,
    log_level: str = "info",
    fleet: Sequence[MemberSpec] = (),
    early: EarlyRequest | None = None,
) -> int:
    """Start the requests, then import Textual and run the app (with ``fleet``, several
    daemons: the fleet view opens at once over ``host``'s list; ``early``: the first lists,
    asked for already)."""
    # For a local socket the image list is asked for with the standard library at once, and
    # the first frame shows it before docker-py (a fifth of a second of imports) is loaded:
    # the app's connect worker imports docker-py and connects while the list is on screen.
    from tui.prefetch import Prefetch, import_service
    from tui.unix_http import local_socket

    unix_socket = local_socket(host, context)

    def factory() -> ImageService:
        import_service(ssh=unix_socket is None)
        from tui.service import ImageService

        return ImageService.connect(host, context)

    from tui.memory import limit_arenas, pause_collector

    pause_collector()  # start-up garbage is collected once, when the list is in (memory.py)
    limit_arenas()  # before the first thread: every thread shares glibc's one arena
    prefetch = Prefetch(factory, unix_socket=unix_socket, early=early)
    prefetch.hold_parse()  # until the first page is drawn from the answers
    prefetch.start_raw()
    from tui.early_terminal import early_terminal

    # Keys typed while the program starts wait for it, unseen (see tui/early_terminal.py).
    terminal = early_terminal()
    if unix_socket is not None:
        host_hint = f"unix://{unix_socket}"
    else:
        host_hint = host or (f"context {context}" if context else "")
        host_hint = host_hint or os.environ.get("DOCKER_HOST", "") or "the current context"

    from pathlib import Path

    from tui.config import load_config
    from tui.logs import setup_logging

    if setup_logging(log_level) is None:
        from tui.logs import problem

        # Also in the UI (a notification); here it stays in the terminal after the UI is gone.
        print(f"imagedeck: {problem()}", file=sys.stderr)
    config = load_config(Path(config_file).expanduser() if config_file else None)
    fleet = fleet or config_fleet(config, host, context)

    note = None
    if os.environ.get("IMAGEDECK_SANDBOX") == "1":
        # Why the sandbox (scripts/run-imagedeck says): "yours was not reachable", or the
        # engine setting that chose it.
        why = os.environ.get("IMAGEDECK_SANDBOX_WHY", "")
        note = f"sandbox daemon ({why})" if why else "sandbox daemon"
    # A fleet opens its own view over the list at once: a first page of one daemon's list
    # would be a frame that then changes, so none is painted.
    try:
        painted = False if fleet else _paint_first_page(prefetch, config, host_hint, note)
    finally:
        prefetch.release_parse()

    try:
        with _ssl_hidden():
            from tui.app import ImagedeckApp

        app = ImagedeckApp(
            factory, host_hint=host_hint, sandbox_note=note, prefetch=prefetch, config=config
        )
        if fleet:
            app.fleet_members = tuple(fleet)  # the fleet view opens over the list at start
        if terminal is not None:
            app.user_terminal = terminal.saved  # what a suspend (`r`) gives the terminal
    except BaseException:
        if painted:
            from tui.early_terminal import leave

            leave()
        if terminal is not None:
            terminal.restore()
        raise
    try:
        app.run()
    finally:
        if terminal is not None:
            terminal.restore()  # Textual gives back the settings it found: ours, not the user's
    return 0


# How long the first page waits for the daemon's list before leaving the start to Textual.
FIRST_PAGE_WAIT = 2.0


class _ssl_hidden:
    """While Textual loads, ``import ssl`` fails: asyncio then does without TLS.

    asyncio imports ssl for TLS connections the UI never makes, and ssl loads libcrypto:
    about 4 MB resident (issue 15). Afterwards ssl imports as usual, for docker-py over TLS
    and registries over https; only asyncio keeps going without it.
    """

    def __enter__(self) -> None:
        self._hid = "ssl" not in sys.modules
        if self._hid:
            sys.modules["ssl"] = None  # type: ignore[assignment]  # import raises ImportError

    def __exit__(self, *_: object) -> None:
        if self._hid and sys.modules.get("ssl", 0) is None:
            del sys.modules["ssl"]


def _paint_first_page(prefetch: Prefetch, config: Config, host_hint: str, note: str | None) -> bool:
    """Draw the list's first page before Textual loads, when it can be drawn exactly.

    Not with a theme, key map or config problem (Textual's first frame would differ), nor
    without an early answer from a local socket. True when it was drawn.
    """
    if not prefetch.has_early or config.theme or config.keys or config.problems:
        return False
    from tui.logs import problem

    if problem() is not None:  # Textual's first frame carries a notification
        return False
    # What drawing needs is loaded while the daemon is still answering.
    import time

    import rich.color  # noqa: F401

    import tui.service.engine  # noqa: F401
    from tui.firstpaint import Unknown, paint

    deadline = time.monotonic() + FIRST_PAGE_WAIT
    try:
        everything, dangling = prefetch.raw.result(timeout=FIRST_PAGE_WAIT)
    except Exception:  # no answer in time, or none at all: Textual starts as before
        return False

    def dangling_answer() -> list[dict[str, Any]]:
        # Asked for only when an untagged row is on the page (tui/firstpaint.py), within the
        # same wait.
        try:
            return dangling.result(timeout=max(deadline - time.monotonic(), 0.0))
        except Exception as exc:
            raise Unknown("no dangling answer in time") from exc

    sort = config.default_sort or "created"
    header = "  ·  ".join(p for p in ("imagedeck", host_hint, note) if p)
    prefetch.painted = paint(
        (everything, dangling_answer),
        header=header,
        sort=sort,
        reverse=False,
        hidden=config.hidden_columns,
    )
    del everything
    prefetch.drop_raw()
    return prefetch.painted
