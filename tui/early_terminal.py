"""The terminal in Textual's input mode from the very start, and given back as it was.

The first page (tui/firstpaint.py) is drawn before Textual has loaded. The terminal is put in
the mode Textual uses (no echo, no line editing) before anything is drawn: keys typed
meanwhile wait in the terminal's input queue, unseen, and Textual reads them when it starts, so
they act on the list. :meth:`EarlyTerminal.restore` gives the terminal back its settings when
the program ends; :func:`leave` leaves the alternate screen when Textual never took over.
Standard library only: this runs before anything else is imported.
"""

from __future__ import annotations

import os
import sys
from typing import Any


class EarlyTerminal:
    """The terminal put in Textual's input mode early, and given back as it was."""

    def __init__(self, fd: int) -> None:
        import termios

        self.fd = fd
        self.saved: list[Any] | None = termios.tcgetattr(fd)

    def raw(self) -> None:
        """No echo, no line editing, no signals from keys: Textual's LinuxDriver settings."""
        import termios
        import tty

        assert self.saved is not None
        attrs = termios.tcgetattr(self.fd)
        isig = 0 if os.environ.get("TEXTUAL_ALLOW_SIGNALS") else termios.ISIG
        attrs[tty.LFLAG] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | isig)
        attrs[tty.IFLAG] &= ~(
            termios.IXON | termios.IXOFF | termios.ICRNL | termios.INLCR | termios.IGNCR
        )
        attrs[tty.CC][termios.VMIN] = 1
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def exit_on_signals(self) -> None:
        """SIGTERM or SIGHUP before Textual runs: give the terminal back, then end.

        Until the app has mounted and put its own handlers in place (tui/terminal.py), the
        default action would end the process with the first page on the alternate screen and
        the terminal without echo.
        """
        import signal

        def leave_and_end(signum: int, _frame: object) -> None:
            out = sys.__stdout__
            if out is not None:
                try:  # what Textual writes when it stops: wrap, cursor, mouse, alternate screen
                    os.write(out.fileno(), LEAVE.encode())
                except (OSError, ValueError):
                    pass
            self.restore()
            os._exit(128 + signum)

        try:
            for signum in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, leave_and_end)
        except ValueError:  # not the main thread
            pass

    def restore(self) -> None:
        """The settings the terminal had before (Textual restores the ones it found: ours)."""
        import termios

        if self.saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
            except termios.error:
                pass
            self.saved = None


def early_terminal() -> EarlyTerminal | None:
    """The terminal in Textual's input mode from the very start (None when not a terminal).

    Keys typed from now on are neither echoed over the screen nor held for a whole line.
    """
    import termios

    try:
        stdin = sys.__stdin__
        if stdin is None or not os.isatty(stdin.fileno()):
            return None
        terminal = EarlyTerminal(stdin.fileno())
        terminal.raw()
    except (termios.error, OSError, ValueError):
        return None
    terminal.exit_on_signals()
    return terminal


# What leaving gives back: line wrap, the cursor, no mouse reports, the normal screen.
LEAVE = "\x1b[?7h\x1b[?25h\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?1049l"


def leave(out: Any = None) -> None:
    """Leave the alternate screen when Textual never took over (it failed to start)."""
    stream = sys.__stdout__ if out is None else out
    if stream is not None:
        try:
            os.write(stream.fileno(), LEAVE.encode())
        except (OSError, ValueError):
            pass
