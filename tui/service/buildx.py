"""The docker CLI's buildx as a child process: finding it, its builder in words, stopping it.

One job, beside ``tui.service.buildkit`` (which runs the builds): ``docker_cli`` finds the CLI
(``IMAGEDECK_DOCKER_CLI`` overrides PATH), ``BuilderInfo`` says which builder a build will use,
``stop`` interrupts a buildx (SIGINT, as Ctrl-C would, so it cancels the solve; SIGKILL if it
does not exit in time), ``collect_lines`` reads its output, and the buildx processes still in
``LIVE_BUILDS`` are interrupted when imagedeck exits. No docker-py here.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

# How long buildx gets to wind down after SIGINT before it is killed (and how long the cache
# records of a cancelled build are looked for).
CANCEL_WAIT = 15.0


@dataclass(frozen=True)
class BuilderInfo:
    """Which builder a build will use, in words the form shows."""

    buildkit: bool
    version: str = ""
    name: str = ""
    driver: str = ""
    reason: str = ""  # why BuildKit is not available (legacy only)

    @property
    def needs_load(self) -> bool:
        """Drivers other than ``docker`` keep results in their own store unless told --load."""
        return self.buildkit and self.driver not in ("", "docker")

    @property
    def description(self) -> str:
        """``BuildKit (buildx 0.13.1, builder default, docker driver)`` or the legacy line."""
        if self.buildkit:
            parts = [f"buildx {self.version}" if self.version else "buildx"]
            if self.name:
                parts.append(f"builder {self.name}")
            if self.driver:
                parts.append(f"{self.driver} driver")
            return f"BuildKit ({', '.join(parts)})"
        return f"legacy builder ({self.reason})" if self.reason else "legacy builder"


def docker_cli() -> str | None:
    """The docker CLI to run (``IMAGEDECK_DOCKER_CLI`` overrides PATH)."""
    explicit = os.environ.get("IMAGEDECK_DOCKER_CLI")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("docker")


# buildx runs in a session of its own (a Ctrl-C in the terminal is imagedeck's to handle), so
# it would outlive an imagedeck that exits mid-build: interrupt whatever is still running.
LIVE_BUILDS: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _stop_live_builds() -> None:
    for process in list(LIVE_BUILDS):
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                process.send_signal(signal.SIGINT)
    for process in list(LIVE_BUILDS):
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            process.wait(timeout=5)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                process.kill()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (buildx cancels the solve), then SIGKILL if it does not exit in time."""
    with contextlib.suppress(ProcessLookupError, OSError):
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + CANCEL_WAIT
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def collect_lines(stream: Any, into: list[str]) -> None:
    """Append each non-empty line of ``stream`` (bytes) to ``into``, decoded."""
    if stream is None:
        return
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line:
            into.append(line)
