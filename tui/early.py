"""The image list asked for before anything else is imported (issue 15: first row on screen).

The daemon takes 40-150 ms to answer ``/images/json`` at 10,000 tags, about as long as Python
takes to import what draws the first page. So the list is asked for first thing, on a
unix-socket connection made with ``_socket`` (tui/unix_http.py: the ``socket`` module's
imports, enum and selectors, come after), before the command line is parsed and before
threads, futures or logging are imported: the daemon works on its answer while the rest loads.
:class:`tui.prefetch.Prefetch` reads it later (and asks for the dangling images when it must).

Only when nothing on the command line can change which daemon is used (no arguments, or only
``--config`` and ``--log-level``); otherwise, and when the socket cannot be reached, nothing is
sent here and the prefetch asks as before.
"""

from __future__ import annotations

import time

from tui.unix_http import local_socket, send_get

# typing, json and pathlib load after the first questions are sent (tui/early.py): mypy
# reads any name TYPE_CHECKING as true, Python sees False.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import _socket

# /images/json?filters={"dangling": ["true"]}, quoted (no urllib import for one constant).
DANGLING = "/images/json?filters=%7B%22dangling%22%3A%20%5B%22true%22%5D%7D"
ALL = "/images/json"
# Options that leave the daemon to the environment (the others: --host, --context, their short
# forms and argparse's abbreviations of them, --help, --version, subcommands).
_NEUTRAL = ("--config", "--log-level")
# How long a question sent here may wait for its answer once it is read.
TIMEOUT = 30.0


class EarlyRequest:
    """Questions already sent to the daemon at ``path``: url -> (socket, time sent)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sent: dict[str, tuple[_socket.socket, float]] = {}

    def send(self, url: str) -> None:
        """Send ``GET url`` now (an error leaves it to whoever asks later)."""
        sent = time.time()
        try:
            self._sent[url] = (send_get(self.path, url, TIMEOUT), sent)
        except OSError:
            pass

    def take(self, url: str) -> tuple[_socket.socket, float] | None:
        """The socket that asked for ``url`` and when, once; None when it was not sent."""
        return self._sent.pop(url, None)

    def close(self) -> None:
        """Close what was not taken (the answers are not needed)."""
        for sock, _ in self._sent.values():
            sock.close()
        self._sent.clear()


def neutral(args: list[str]) -> bool:
    """True when ``args`` cannot change the daemon: only --config and --log-level (or none)."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in _NEUTRAL:
            index += 2
        elif arg.startswith(tuple(f"{name}=" for name in _NEUTRAL)):
            index += 1
        else:
            return False
    return True


def send_early(args: list[str]) -> EarlyRequest | None:
    """Ask for the image list now, when ``args`` leave the daemon to the environment and that
    daemon is on a local socket; None otherwise.

    Only the list: the dangling images are asked for once it is in, and only when it has an
    untagged image (tui/prefetch.py): both at once made the list itself 10-20 ms later.
    """
    if not neutral(args):
        return None
    path = local_socket(None, None)
    if path is None:
        return None
    request = EarlyRequest(path)
    request.send(ALL)
    return request
