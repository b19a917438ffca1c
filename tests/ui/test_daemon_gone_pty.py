"""imagedeck outlives its daemon and always gives the terminal back (issue 11, point 12).

In a real pty, started the way `make run` starts it against the sandbox (scripts/run-imagedeck
with the sandbox forced, so `scripts/sandbox exec` runs it inside the namespace): stopping that
sandbox (a throwaway one of this test's own, never the shared one) must leave imagedeck
running with the lost-daemon banner, and quitting must leave the alternate screen and turn the
mouse off. SIGTERM and SIGHUP end it the same clean way.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.daemon

ROOT = Path(__file__).resolve().parents[2]
LEAVE_ALT_SCREEN = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


class Terminal:
    """A process on an 80x24 pty, with everything it wrote kept in ``out``."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

        def controlling_terminal() -> None:
            # A session of its own with the pty as its controlling terminal, as a shell (or
            # sshd) starts it: closing the pty then sends SIGHUP, as a dropped session does.
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=controlling_terminal,  # setsid and TIOCSCTTY only
        )
        os.close(slave)
        self.out = b""

    def read_until(self, needle: bytes, seconds: float, start: int = 0) -> bool:
        """Read until ``needle`` shows after offset ``start`` (or the time is up).

        Escape sequences are left out of the comparison: a repaint may move the cursor or
        change colours in the middle of a line.
        """
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if needle in plain(self.out[start:]):
                return True
            self.pump(0.1)
        return needle in plain(self.out[start:])

    def pump(self, seconds: float) -> None:
        """Read what is there for up to ``seconds``."""
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            try:
                self.out += os.read(self.master, 65536)
            except OSError:
                time.sleep(seconds)

    def wait_exit(self, seconds: float) -> int | None:
        """The exit status, reading output meanwhile (None if still running)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.pump(0.2)
                return self.process.returncode
            self.pump(0.1)
        return self.process.poll()

    def close(self) -> None:
        """Kill what is left; close the pty."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.master != -1:
            os.close(self.master)
            self.master = -1


def plain(data: bytes) -> bytes:
    """``data`` without CSI escape sequences (colours, cursor moves)."""
    return re.sub(rb"\x1b\[[0-9;?]*[ -/]*[@-~]", b"", data)


def imagedeck_argv() -> list[str]:
    """The console script (or python -m tui)."""
    script = Path(sys.executable).with_name("imagedeck")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the test run's sandbox variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IMAGEDECK_SANDBOX") and k not in ("DOCKER_HOST", "NO_COLOR")
    }
    env.update(TERM="xterm-256color", **extra)
    return env


@pytest.fixture
def own_sandbox() -> Iterator[str]:
    """A throwaway sandbox (its own netns and dockerd, no seeded images), stopped afterwards."""
    name = f"gone{os.getpid() % 100000}"
    env = clean_env(IMAGEDECK_SANDBOX_NAME=name, IMAGEDECK_SANDBOX_SEED="0")
    started = subprocess.run(
        [str(ROOT / "scripts/sandbox"), "start"], env=env, capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        yield name
    finally:
        subprocess.run(
            [str(ROOT / "scripts/sandbox"), "stop", "--purge"], env=env, capture_output=True
        )


def test_stopping_the_sandbox_leaves_make_run_running_and_q_restores_the_terminal(
    own_sandbox: str,
) -> None:
    # SEED=0: run-imagedeck starts the (running) sandbox again; it must not seed it now.
    env = clean_env(
        IMAGEDECK_SANDBOX_NAME=own_sandbox,
        IMAGEDECK_FORCE_SANDBOX="1",
        IMAGEDECK_SANDBOX_SEED="0",
    )
    term = Terminal([str(ROOT / "scripts/run-imagedeck")], env)
    try:
        assert term.read_until(b"sort created", 60), term.out[-2000:]
        stopped = subprocess.run(
            [str(ROOT / "scripts/sandbox"), "stop"], env=env, capture_output=True, text=True
        )
        assert stopped.returncode == 0, stopped.stderr
        mark = len(term.out)
        assert term.read_until(b"Lost the daemon", 60, mark), plain(term.out[mark:])[-2000:]
        assert term.process.poll() is None, "imagedeck died with its sandbox"
        mark = len(term.out)
        os.write(term.master, b"q")
        assert term.wait_exit(20) == 0
        tail = term.out[mark:]
        assert LEAVE_ALT_SCREEN in tail and MOUSE_OFF in tail, tail[-500:]
    finally:
        term.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminating_signal_restores_the_terminal(sandbox: Sandbox, signum: int) -> None:
    term = Terminal(imagedeck_argv(), clean_env(DOCKER_HOST=sandbox.docker_host))
    try:
        assert term.read_until(b"sort created", 30), term.out[-2000:]
        mark = len(term.out)
        term.process.send_signal(signum)
        assert term.wait_exit(20) is not None, "imagedeck ignored the signal"
        tail = term.out[mark:]
        assert LEAVE_ALT_SCREEN in tail, tail[-500:]
        assert MOUSE_OFF in tail, tail[-500:]
    finally:
        term.close()


def test_a_terminal_that_goes_away_ends_imagedeck(sandbox: Sandbox) -> None:
    """The ssh session drops: the pty closes, SIGHUP arrives, writes fail; imagedeck ends."""
    term = Terminal(imagedeck_argv(), clean_env(DOCKER_HOST=sandbox.docker_host))
    try:
        assert term.read_until(b"sort created", 30), term.out[-2000:]
        os.close(term.master)
        term.master = -1
        deadline = time.monotonic() + 20
        while term.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert term.process.poll() is not None, "imagedeck outlived its terminal"
    finally:
        term.close()
