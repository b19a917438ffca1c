#!/usr/bin/env python3
"""A tiny Docker registry search index (the v1 ``/v1/search`` API) for the sandbox.

The Engine answers ``docker search HOST:PORT/TERM`` by asking the index behind HOST:PORT.
For an insecure registry (every 127.0.0.0/8 address is one) it first tries HTTPS, then falls
back to plain HTTP: ``GET /v1/_ping``, then ``GET /v1/search?q=TERM&n=LIMIT``. This server
answers both from a fixed catalogue so search works with no internet. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs, urlsplit

# name, description, star_count, is_official, is_automated
CATALOGUE: tuple[tuple[str, str, int, bool, bool], ...] = (
    ("library/busybox", "Busybox base image.", 3412, True, False),
    ("library/alpine", "A minimal Docker image based on Alpine Linux.", 11020, True, False),
    ("demo/app", "Demo application with several numbered releases.", 42, False, False),
    ("demo/pushed", "An image pushed to the sandbox registry.", 7, False, True),
    ("demo/multi", "One image published under several names.", 3, False, False),
    ("demo/wasted", "Layers that overwrite and delete each other's files.", 0, False, True),
    ("tools/alpine-curl", "Alpine with curl, for quick HTTP checks.", 128, False, True),
    ("tools/alpine-git", "Alpine with git installed.", 96, False, False),
    ("tools/busybox-httpd", "A static web server built on busybox httpd.", 15, False, False),
    ("fisher/centos-sshd", "CentOS 6.7 with sshd, from the image tutorial.", 1, False, False),
    ("mysql/mysql-server", "Optimized MySQL Server images (sample entry).", 1024, False, False),
)

DEFAULT_PAGE_SIZE = 25


def search(query: str, page_size: int, page: int) -> dict[str, object]:
    """Return the v1 search response for ``query`` (case-insensitive substring of the name)."""
    term = query.strip().lower()
    hits = [entry for entry in CATALOGUE if term in entry[0]]
    hits.sort(key=lambda entry: (-entry[2], entry[0]))
    start = (page - 1) * page_size
    results = [
        {
            "name": name,
            "description": description,
            "star_count": stars,
            "is_official": official,
            "is_automated": automated,
        }
        for name, description, stars, official, automated in hits[start : start + page_size]
    ]
    return {
        "num_results": len(hits),
        "query": query,
        "page": page,
        "page_size": page_size,
        "results": results,
    }


def _int_param(params: dict[str, list[str]], key: str, default: int) -> int:
    """Read a positive integer query parameter, falling back to ``default``."""
    try:
        value = int(params.get(key, [str(default)])[0])
    except ValueError:
        return default
    return value if value > 0 else default


class IndexHandler(BaseHTTPRequestHandler):
    """Answers the v1 index endpoints the Engine uses for ``docker search``."""

    server_version = "imagedeck-search-index/1"

    def _send_json(self, status: int, body: object, head_only: bool = False) -> None:
        """Send ``body`` as JSON with the headers the Engine's v1 client looks at."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Docker-Registry-Version", "0.6.0")
        self.send_header("X-Docker-Registry-Standalone", "true")
        self.end_headers()
        if not head_only:
            self.wfile.write(data)

    def _route(self, head_only: bool) -> None:
        """Dispatch GET and HEAD requests."""
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        if path in ("/v1/_ping", "/_ping", "/v1", "/v2", ""):
            self._send_json(200, True, head_only)
        elif path == "/v1/search":
            params = parse_qs(url.query)
            query = params.get("q", [""])[0]
            page_size = min(_int_param(params, "n", DEFAULT_PAGE_SIZE), 100)
            page = _int_param(params, "page", 1)
            self._send_json(200, search(query, page_size, page), head_only)
        else:
            self._send_json(404, {"error": f"not found: {url.path}"}, head_only)

    def do_GET(self) -> None:
        """Handle GET."""
        self._route(head_only=False)

    def do_HEAD(self) -> None:
        """Handle HEAD."""
        self._route(head_only=True)

    def log_message(self, format: str, *args: object) -> None:
        """Log to stderr (the sandbox redirects it to a log file)."""
        sys.stderr.write(f"{self.address_string()} {format % args}\n")
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    """Serve the index until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--pidfile", help="write the process id here")
    args = parser.parse_args(argv)

    server = ThreadingHTTPServer((args.host, args.port), IndexHandler)
    server.daemon_threads = True

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    if args.pidfile:
        with open(args.pidfile, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
    sys.stderr.write(f"search index listening on {args.host}:{args.port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
