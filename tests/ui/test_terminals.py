"""imagedeck in a real pseudo-terminal: 16-colour terminals and NO_COLOR stay readable.

The app runs as a person starts it (the console script, a pty 80 columns wide) against the sandbox
daemon; the test reads the bytes it writes to the terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.daemon

DANGLING_SYMBOL = "○".encode()
IN_USE_SYMBOL = "▸".encode()


def run_in_pty(env: dict[str, str], *until: bytes, seconds: float = 60.0) -> bytes:
    """Start imagedeck in an 80-column pty, read until each of ``until`` is written (plus a
    moment for the rest of that frame).

    100 rows: dangling images other tests leave behind sort first and must not push the rows
    used by containers (▸) off the first page. ``seconds`` only bounds a hang.
    """
    script = Path(sys.executable).with_name("imagedeck")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "tui"]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 100, 80, 0, 0))
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    out = b""
    seen_at: float | None = None
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
            if seen_at is None and all(marker in out for marker in until):
                seen_at = time.monotonic()
            if seen_at is not None and time.monotonic() - seen_at > 1.0:
                break  # usage columns and the last frames land within a moment
    finally:
        process.terminate()
        process.wait(10)
        os.close(master)
    missing = [marker for marker in until if marker not in out]
    assert not missing, f"{missing!r} never reached the terminal"
    return out


def app_env(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR")}
    env.update(DOCKER_HOST=sandbox.docker_host, **extra)
    return env


# The list is drawn in two steps: the rows, then (from /system/df, slower: on the containerd
# store it also reads every image's layers) the usage columns, which say which images a
# container uses (▸). The summary says "reclaimable" from that second step on, so the pty is
# read until both are out; waiting a fixed moment after the first step missed the ▸ rows
# wherever df is slow (the containerd store, a loaded machine).
LOADED = (b"(dangling)", b"reclaimable")


@pytest.mark.parametrize("term", ["linux", "screen"])
def test_sixteen_colour_terminals_get_no_extended_colours(sandbox: Sandbox, term: str) -> None:
    out = run_in_pty(app_env(sandbox, TERM=term), *LOADED)
    # Only the 16 basic colours: no 256-colour (38;5) or truecolour (38;2) sequences.
    assert b"38;5;" not in out and b"48;5;" not in out
    assert b"38;2;" not in out and b"48;2;" not in out
    # State is written, not only coloured.
    assert DANGLING_SYMBOL in out and IN_USE_SYMBOL in out


def test_no_color_draws_in_greys_only(sandbox: Sandbox) -> None:
    """Textual honours NO_COLOR by turning every colour into a grey; state stays in words."""
    out = run_in_pty(app_env(sandbox, TERM="xterm-256color", NO_COLOR="1"), *LOADED)
    greys = {0, 7, 8, 15} | {16 + 43 * i for i in range(6)} | set(range(232, 256))
    used = {int(n) for n in re.findall(rb"[34]8;5;(\d+)", out)}
    assert used, "expected some 256-colour greys"
    assert used <= greys, f"colours that are not grey: {sorted(used - greys)}"
    for r, g, b in re.findall(rb"[34]8;2;(\d+);(\d+);(\d+)", out):
        assert r == g == b
    assert DANGLING_SYMBOL in out and IN_USE_SYMBOL in out
