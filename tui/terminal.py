"""The terminal is given back whenever imagedeck ends, not only on `q`.

Textual restores the terminal (leaves the alternate screen, turns mouse reporting off, shows
the cursor) when the app exits normally. A SIGTERM (``kill``, a service manager, a sandbox that
stops) or a SIGHUP (the ssh session or terminal went away) would otherwise end the process on
the spot and leave the terminal in the alternate screen with the mouse on. Both signals are
turned into the same exit as `q`.

When the terminal itself is gone (the ssh session dropped), Textual's output thread dies on
the first write and its shutdown then waits for it forever; and a shutdown can also wait for a
worker stuck on a daemon that does not answer. A signal asked imagedeck to go, so after
``GRACE`` seconds it goes regardless.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

from textual.app import App

#: Signals that end imagedeck through the app's own exit (terminal restored).
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
#: Seconds a signalled exit may take before the process ends without Textual's shutdown.
GRACE = 5.0


def exit_on_signals(app: App[Any]) -> None:
    """Make SIGTERM and SIGHUP exit ``app`` cleanly (call from inside the running app)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for sig in EXIT_SIGNALS:
        try:
            loop.add_signal_handler(sig, _signalled, app, sig)
        except (ValueError, RuntimeError, NotImplementedError):
            # Not the main thread (an app run by a test harness), or no such signals here.
            return


def _signalled(app: App[Any], signum: int) -> None:
    """Exit like `q`; end the process anyway if that has not happened after GRACE seconds."""
    threading.Thread(
        target=_end_after_grace, args=(signum,), name="exit-grace", daemon=True
    ).start()
    app.exit()


def _end_after_grace(signum: int) -> None:
    time.sleep(GRACE)
    os._exit(128 + signum)  # the clean exit is stuck (a dead terminal, a hung worker)
