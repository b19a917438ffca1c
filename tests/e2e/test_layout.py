"""How the list fits the terminal, read off the real program's screen (issue 14 item 9)."""

from __future__ import annotations

import pytest

from tests.conftest import DockerCli
from tests.e2e.conftest import Scratch, StartApp

pytestmark = pytest.mark.daemon


def test_long_repositories_keep_their_distinguishing_end(start_app: StartApp) -> None:
    """At 80x24 a registry repository is cut in the middle: host start and last component stay."""
    term = start_app(cols=80, rows=24)
    term.press("/")
    term.type("127.0.0.1")
    term.press("enter")
    term.wait_for_text("shown)")
    term.wait_for_text("pushed")
    rows = [line for line in term.lines() if "MB" in line]
    pushed = next((line for line in rows if "pushed" in line), "")
    app = next((line for line in rows if "/app" in line), "")
    assert "127.0.0." in pushed and "…/pushed" in pushed, term.dump()
    assert "127.0.0." in app and "/app" in app, term.dump()


def test_tag_is_not_cut_at_ten_characters_at_120_columns(
    start_app: StartApp, scratch: Scratch, docker_cli: DockerCli
) -> None:
    reference = scratch("e2e/longtag", "release-2026-12")  # a 15-character tag
    name, tag = reference.split(":")
    term = start_app(cols=120, rows=40)
    term.press("/")
    term.type(name)
    term.press("enter")
    term.wait_for_text("shown)", name)
    rows = [line for line in term.lines() if name in line and "MB" in line]
    assert rows and tag in rows[0], term.dump()
