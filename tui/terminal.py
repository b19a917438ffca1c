"""The terminal is given back whenever imagedeck ends, not only on `q`.

Textual restores the terminal (leaves the alternate screen, turns mouse reporting off, shows
the cursor) when the app exits normally. A SIGTERM (``kill``, a service manager, a sandbox that
stops) or a SIGHUP (the ssh session or terminal went away) would otherwise end the process on
the spot and leave the terminal in the alternate screen with the mouse on. Both signals are
turned into the same exit as `q`.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from textual.app import App

#: Signals that end imagedeck through the app's own exit (terminal restored).
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def exit_on_signals(app: App[Any]) -> None:
    """Make SIGTERM and SIGHUP exit ``app`` cleanly (call from inside the running app)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for sig in EXIT_SIGNALS:
        try:
            loop.add_signal_handler(sig, app.exit)
        except (ValueError, RuntimeError, NotImplementedError):
            # Not the main thread (an app run by a test harness), or no such signals here.
            return
