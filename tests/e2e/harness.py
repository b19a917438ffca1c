"""Drive the real `imagedeck` in a pseudo-terminal and read its screen through `pyte`.

The program starts as a person starts it (the console script, else ``python -m tui``) in a pty
of a fixed size, against the sandbox daemon. Keys are written with a human pause between them;
the bytes the program writes are fed to a terminal emulator, so a test reads the screen a
person would see (what is on top, what is cut, what is covered), not the widget tree.
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
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyte

# What a terminal sends for the keys the tests press (xterm, normal cursor mode).
KEYS = {
    "enter": "\r",
    "escape": "\x1b",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "space": " ",
    "backspace": "\x7f",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "pageup": "\x1b[5~",
    "pagedown": "\x1b[6~",
    "delete": "\x1b[3~",
}
# A person's pause between keys; Esc needs a longer one (Textual waits to tell a lone Esc from
# the start of an escape sequence).
PAUSE = 0.15
ESC_PAUSE = 0.35
# Generous: 2 cores are shared by several test runs and a daemon.
DEADLINE = 45.0


def key_bytes(key: str) -> bytes:
    """The bytes a terminal sends for ``key`` (``enter``, ``ctrl+p``, ``G`` or plain text)."""
    if key in KEYS:
        return KEYS[key].encode()
    if key.startswith("ctrl+") and len(key) == 6:
        return bytes([ord(key[5].lower()) - ord("a") + 1])
    return key.encode()


def program_argv(*args: str) -> list[str]:
    """The console script beside this interpreter, or ``python -m tui``."""
    script = Path(sys.executable).with_name("imagedeck")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "tui"]
    return [*base, *args]


class Terminal:
    """imagedeck running in a pty of ``cols`` x ``rows``, its output kept in a pyte screen."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cols: int = 80,
        rows: int = 24,
        cwd: Path | None = None,
    ) -> None:
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self._raw = bytearray()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not ready:
                if self.process.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._raw += data
                self.stream.feed(data)

    # -- reading the screen ----------------------------------------------------------------

    def lines(self) -> list[str]:
        """The screen as text, one string per row (trailing spaces kept)."""
        with self._lock:
            return list(self.screen.display)

    def text(self) -> str:
        """The whole screen, rows joined by newlines."""
        return "\n".join(self.lines())

    def flat(self) -> str:
        """The screen as one line of words: borders and toast edges dropped, spaces collapsed,
        so a sentence wrapped over several rows (a notification) can be searched whole."""
        text = self.text()
        for edge in "▌▐│┃╭╮╰╯─├└":
            text = text.replace(edge, " ")
        return " ".join(text.split())

    def dump(self) -> str:
        """The screen framed, for failure messages."""
        border = "+" + "-" * self.cols + "+"
        body = "\n".join(f"|{line}|" for line in self.lines())
        return f"{border}\n{body}\n{border}"

    def wait_until(
        self, check: Callable[[str], object], what: str, timeout: float = DEADLINE
    ) -> str:
        """Poll the screen until ``check(screen_text)`` is true; fail with the screen.

        A check that raises AssertionError (``selected_row()`` while the list is still empty or
        being redrawn) counts as "not yet", never as the end of the wait: the list a pull or a
        reload refreshes has no cursor row for a moment.
        """
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            try:
                if check(screen):
                    return screen
            except AssertionError:
                pass
            if self.process.poll() is not None:
                raise AssertionError(
                    f"imagedeck exited ({self.process.returncode}) waiting for {what}\n"
                    f"{self.dump()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.dump()}")
            time.sleep(0.05)

    def wait_for_text(self, *texts: str, timeout: float = DEADLINE) -> str:
        """Wait until every one of ``texts`` is on screen; returns the screen."""
        return self.wait_until(
            lambda s: all(t in s for t in texts), f"{texts!r} on screen", timeout
        )

    def wait_gone(self, *texts: str, timeout: float = DEADLINE) -> str:
        """Wait until none of ``texts`` is on screen."""
        return self.wait_until(lambda s: not any(t in s for t in texts), f"{texts!r} gone", timeout)

    def settle(self, quiet: float = 0.4, timeout: float = DEADLINE) -> str:
        """Wait until the program has written nothing for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            size = len(self._raw)
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            with self._lock:
                now = len(self._raw)
            if now != size:
                size, last_change = now, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                break
        return self.text()

    def line_with(self, text: str) -> str:
        """The first screen row containing ``text`` (fails with the screen when none does)."""
        for line in self.lines():
            if text in line:
                return line
        raise AssertionError(f"no row with {text!r}\n{self.dump()}")

    def selected_row(self) -> str:
        """The row the focused list's cursor is on, found by its style as a person sees it.

        List rows carry an image or container ID; the cursor row is the one drawn on a
        background no other such row has (pyte keeps each cell's attributes). With a single
        row, that row counts when it is drawn bold (the cursor style) or highlighted.
        """
        with self._lock:
            buffer = self.screen.buffer
            rows = ["".join(buffer[y][x].data for x in range(self.cols)) for y in range(self.rows)]
            probe = [(buffer[y][3].bg, buffer[y][3].bold) for y in range(self.rows)]
        listed = [y for y in range(self.rows) if re.search(r"\b[0-9a-f]{12}\b", rows[y])]
        counts: dict[str, int] = {}
        for y in listed:
            counts[probe[y][0]] = counts.get(probe[y][0], 0) + 1
        unique = [y for y in listed if counts[probe[y][0]] == 1]
        if len(unique) > 1:  # two rows: both backgrounds are "unique"; the cursor is bold
            unique = [y for y in unique if probe[y][1]]
        if len(listed) > 1 and len(unique) == 1:
            return rows[unique[0]]
        if len(listed) == 1 and probe[listed[0]][1]:
            return rows[listed[0]]
        raise AssertionError(f"no selected row on screen\n{self.dump()}")

    # -- typing ------------------------------------------------------------------------------

    def press(self, *keys: str, pause: float = PAUSE) -> None:
        """Press keys one at a time, as a person would."""
        for key in keys:
            os.write(self.master, key_bytes(key))
            time.sleep(ESC_PAUSE if key == "escape" else pause)

    def type(self, text: str, pause: float = 0.04) -> None:
        """Type text character by character."""
        for char in text:
            os.write(self.master, char.encode())
            time.sleep(pause)

    # -- ending --------------------------------------------------------------------------------

    def close(self) -> None:
        """End the program (SIGTERM to its session, then SIGKILL) and close the pty."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        try:
            os.close(self.master)
        except OSError:
            pass
        self._reader.join(2)
