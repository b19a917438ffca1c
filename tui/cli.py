"""Command line: `imagedeck [--host URL] [--context NAME] [--config FILE] [--log-level L]`,
`imagedeck layers ...`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from tui import __version__

if TYPE_CHECKING:
    from tui.service import ImageService


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and the README can use it)."""
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
        "--host", "-H", metavar="URL", help="daemon address (else DOCKER_HOST, else the default)"
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
    args = build_parser().parse_args(args_list)
    return run_tui(args.host, args.context, config_file=args.config, log_level=args.log_level)


def run_tui(
    host: str | None,
    context: str | None,
    *,
    config_file: str | None = None,
    log_level: str = "info",
) -> int:
    """Start the requests, then import Textual and run the app."""
    # For a local socket the image list is asked for with the standard library at once, and
    # the first frame shows it before docker-py (a fifth of a second of imports) is loaded:
    # the app's connect worker imports docker-py and connects while the list is on screen.
    from tui.prefetch import Prefetch, import_service, local_socket

    unix_socket = local_socket(host, context)

    def factory() -> ImageService:
        import_service(ssh=unix_socket is None)
        from tui.service import ImageService

        return ImageService.connect(host, context)

    prefetch = Prefetch(factory, unix_socket=unix_socket).start_raw()
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

    from tui.app import ImagedeckApp

    note = None
    if os.environ.get("IMAGEDECK_SANDBOX") == "1":
        # Why the sandbox (scripts/run-imagedeck says): "yours was not reachable", or the
        # engine setting that chose it.
        why = os.environ.get("IMAGEDECK_SANDBOX_WHY", "")
        note = f"sandbox daemon ({why})" if why else "sandbox daemon"
    app = ImagedeckApp(
        factory, host_hint=host_hint, sandbox_note=note, prefetch=prefetch, config=config
    )
    app.run()
    return 0
