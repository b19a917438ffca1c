"""Tagging as a person meets it: a tag that already exists moves (and the dialog says what
becomes of the image it leaves), and the check follows the connected engine's grammar."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import DockerCli
from tests.e2e.conftest import StartApp
from tests.e2e.harness import Terminal

pytestmark = pytest.mark.daemon


def open_tag_dialog(term: Terminal, repository: str, row: str = "") -> None:
    """Filter to ``repository``, put the cursor on the row showing ``row``, press `t`."""
    term.press("/")
    term.type(repository)
    term.wait_for_text("shown)")
    term.press("enter")
    term.wait_until(lambda s: bool(term.selected_row()), "the cursor on a row of the filtered list")
    for _ in range(5):
        if row in term.selected_row():
            break
        term.press("j")
        term.settle(0.2)
    assert row in term.selected_row(), term.dump()
    term.press("t")
    term.wait_for_text("as…")
    term.press("end", *["backspace"] * 60)


def test_tagging_onto_an_existing_tag_says_it_moves(
    start_app: StartApp, docker_cli: DockerCli
) -> None:
    name = f"e2e/move-{uuid.uuid4().hex[:6]}"
    # Two images: `old` holds name:target alone; `new` is tagged onto it.
    docker_cli("tag", "demo/app:1.2", f"{name}:target", check=True)
    docker_cli("tag", "demo/app:2.0", f"{name}:src", check=True)
    old_id = docker_cli("image", "inspect", "-f", "{{.Id}}", "demo/app:1.2", check=True)
    short = old_id.stdout.strip().removeprefix("sha256:")[:12]
    term = start_app(cols=120, rows=40)
    try:
        open_tag_dialog(term, name, " src ")
        term.type(f"{name}:target")
        term.wait_until(lambda s: "the tag moves" in term.flat(), "the move warning")
        flat = term.flat()
        assert f"the tag moves from {short} to this image" in flat, term.dump()
        # demo/app:1.2 keeps its own tags, so it is not left dangling.
        assert f"{short} keeps demo/app:1.2" in flat, term.dump()
        term.press("escape")
    finally:
        docker_cli("rmi", f"{name}:target", f"{name}:src")


def test_a_tag_that_would_leave_an_image_dangling_says_so(
    start_app: StartApp, docker_cli: DockerCli
) -> None:
    name = f"e2e/orphan-{uuid.uuid4().hex[:6]}"
    # An image of its own (a label makes a new ID) holding name:only and nothing else.
    build = docker_cli(
        "build", "-q", "-t", f"{name}:only", "--label", f"e2e={name}", "tests/fixtures/app"
    )
    assert build.returncode == 0, build.stderr
    docker_cli("tag", "imagedeck/busybox:latest", f"{name}:src", check=True)
    term = start_app(cols=120, rows=40)
    try:
        open_tag_dialog(term, name, " src ")
        term.type(f"{name}:only")
        term.wait_until(lambda s: "becomes dangling" in term.flat(), "the dangling warning")
        term.press("escape")
    finally:
        docker_cli("rmi", f"{name}:only", f"{name}:src")


def test_the_check_follows_the_engine_grammar(start_app: StartApp, docker_cli: DockerCli) -> None:
    version = docker_cli("version", "-f", "{{.Server.Version}}", check=True).stdout.strip()
    term = start_app(cols=120, rows=40)
    open_tag_dialog(term, "imagedeck/busybox")
    term.type("XP/c:new")
    if int(version.split(".")[0]) < 23:
        # Engine 20.10 refuses it ("repository name must be lowercase"): so does the check.
        term.wait_for_text("uppercase")
        assert "Valid" not in term.text()
    else:
        term.wait_for_text("Valid: XP/c:new")
    term.press("ctrl+u")
    term.type("/tmp/app")
    term.wait_until(lambda s: "starts with '/'" in term.flat(), "the leading-slash reason")
    term.press("escape")
