"""Command line: `imagedeck [--host URL] [--context NAME] [--config FILE] [--log-level L]`,
`imagedeck layers ...`."""

from __future__ import annotations

import argparse
import os
import sys

from tui import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and the README can use it)."""
    parser = argparse.ArgumentParser(
        prog="imagedeck",
        description="A keyboard-driven terminal UI for Docker images.",
        epilog="Subcommand: imagedeck layers IMAGE|ARCHIVE [--json] [--ci] (layer analysis).",
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
    # The daemon requests start first, so they overlap with the imports: for a local socket
    # the image list is asked for with the stdlib before docker-py is imported; the service's
    # own requests start once it is (docker-py must not be imported by two threads at once),
    # and overlap with Textual's imports.
    from tui.prefetch import Prefetch, import_service, local_socket

    def factory() -> ImageService:
        return ImageService.connect(host, context)

    unix_socket = local_socket(host, context)
    prefetch = Prefetch(factory, unix_socket=unix_socket).start_raw()

    import_service(ssh=unix_socket is None)
    from tui.service import ImageService
    from tui.service.connection import resolve_endpoint
    from tui.service.errors import ImagedeckError

    prefetch.start()

    try:
        host_hint = resolve_endpoint(host, context).description
    except ImagedeckError:
        host_hint = host or context or os.environ.get("DOCKER_HOST", "")

    from pathlib import Path

    from tui.config import load_config
    from tui.logs import setup_logging

    setup_logging(log_level)
    config = load_config(Path(config_file).expanduser() if config_file else None)

    from tui.app import ImagedeckApp

    note = None
    if os.environ.get("IMAGEDECK_SANDBOX") == "1":
        note = "sandbox daemon (yours was not reachable)"
    app = ImagedeckApp(
        factory, host_hint=host_hint, sandbox_note=note, prefetch=prefetch, config=config
    )
    app.run()
    return 0
