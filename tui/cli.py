"""Command line: `imagedeck [--host URL] [--context NAME]`, `imagedeck layers ...`."""

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `imagedeck` console script and `python -m tui`."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "layers":
        from tui.layers_cli import main as layers_main

        return layers_main(args_list[1:])
    args = build_parser().parse_args(args_list)
    return run_tui(args.host, args.context)


def run_tui(host: str | None, context: str | None) -> int:
    """Start the requests, then import Textual and run the app."""
    # Imported here, before Textual: the daemon requests overlap with Textual's imports.
    from tui.prefetch import Prefetch
    from tui.service import ImageService
    from tui.service.connection import resolve_endpoint
    from tui.service.errors import ImagedeckError

    def factory() -> ImageService:
        return ImageService.connect(host, context)

    prefetch = Prefetch(factory).start()
    try:
        host_hint = resolve_endpoint(host, context).description
    except ImagedeckError:
        host_hint = host or context or os.environ.get("DOCKER_HOST", "")

    from tui.app import ImagedeckApp

    note = None
    if os.environ.get("IMAGEDECK_SANDBOX") == "1":
        note = "sandbox daemon (yours was not reachable)"
    app = ImagedeckApp(factory, host_hint=host_hint, sandbox_note=note, prefetch=prefetch)
    app.run()
    return 0
