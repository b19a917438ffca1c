"""The image list loads without docker-py (issue 15, resident memory), in a real terminal.

On a local socket the list, its disk usage, the daemon's info and its events are asked with the
standard library (tui/service/local_api.py); docker-py, requests, urllib3 and
charset_normalizer (about 13 MB resident) load only when a feature needs them. The program
says in its debug log, once start-up is over (tui/memory.py), which of them it loaded; a
feature that needs docker-py (a tag removal) still works afterwards and loads it then.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Scratch, StartApp
from tests.e2e.harness import DEADLINE

pytestmark = pytest.mark.daemon

START_UP_OVER = "start-up over:"


def _wait_for_log(log: Path, text: str) -> str:
    """The log's line holding ``text``, once it is written (the program writes it itself)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            lines = log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        found = [line for line in lines if text in line]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in {log}:\n" + "\n".join(lines[-20:]))
        time.sleep(0.1)


def test_the_list_loads_without_docker_py(
    start_app: StartApp, home: Path, scratch: Scratch
) -> None:
    reference = scratch("lean", "v1")
    term = start_app(cols=120, rows=40, args=("--log-level", "debug"))
    repository = reference.split(":")[0]
    term.wait_for_text(repository)
    line = _wait_for_log(home / "state" / "imagedeck" / "imagedeck.log", START_UP_OVER)
    assert line.endswith("heavy packages loaded: none"), line
    # The cycle collector, paused for start-up (tui/memory.py), is back on once it is over.
    assert "collector on," in line, line
    # A feature that needs docker-py still works: untag the scratch reference.
    term.press("/")
    term.type(repository)
    term.wait_until(lambda s: "(1 shown)" in s, "the filter to narrow to the scratch tag")
    term.press("enter", "d")
    term.wait_for_text("Untag 1 reference?")
    term.press("y")
    term.wait_until(lambda s: "(0 shown)" in s, "the untagged row to go")
