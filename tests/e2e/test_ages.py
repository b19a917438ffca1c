"""Issue 14, item 15: CREATED is written one way and kept current, in a real terminal.

An image whose config says it was created 35 seconds ago is loaded into the sandbox while
imagedeck shows the list. Its row reads "just now"; with no key pressed it turns into
"1 min ago" as the minute passes (the list looks at its rows every few seconds without asking
the daemon); its history says the same words.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import DockerCli, Sandbox
from tests.e2e.conftest import StartApp
from tests.e2e.test_flows import filter_to
from tests.retention_sandbox import Private, load_image

pytestmark = pytest.mark.daemon


def test_created_reads_the_same_and_moves_on_by_itself(
    start_app: StartApp, sandbox: Sandbox, docker_cli: DockerCli, tmp_path: Path
) -> None:
    name = f"e2e/age-{uuid.uuid4().hex[:6]}"
    reference = f"{name}:v1"
    term = start_app(cols=80, rows=24)
    filter_to(term, name)
    term.wait_for_text("(0 shown)")
    private = Private(
        sandbox.docker_host,
        tmp_path,
        lambda *args, check=True: docker_cli(*args, check=check),
    )
    try:
        load_image(
            private, tmp_path, reference, datetime.now(timezone.utc) - timedelta(seconds=35), 1000
        )

        def row() -> str:
            # The list's row (the filter line above the table holds the name too).
            return next((line for line in term.lines() if name in line and " v1 " in line), "")

        term.wait_until(lambda s: "just now" in row(), "the new row, just now")
        # No key pressed from here on: the minute passes and the row follows.
        term.wait_until(lambda s: "1 min ago" in row(), "1 min ago", timeout=60)
        term.press("h")
        # The loaded history's header ("History of …" is only its title while it loads).
        term.wait_for_text(f"{reference} · ", "CREATED BY")
        term.wait_until(
            # The step's own row, by its CREATED BY (its size is the engine's: 1.0 kB on
            # overlay2, the snapshot's 4 kB blocks on the containerd store).
            lambda s: any(
                "1 min ago" in line and "imagedeck retention test" in line for line in term.lines()
            ),
            "the history entry in the same words",
        )
        term.press("escape")
    finally:
        docker_cli("rmi", reference)
