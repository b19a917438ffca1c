"""The new image is selected wherever it was made: build, commit, tag and pull, also when a
filter is active. A filter that matches the new row stays; one that hides it is cleared and a
notice says so."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.e2e.conftest import Scratch, StartApp
from tests.e2e.harness import Terminal

pytestmark = pytest.mark.daemon


def filter_to(term: Terminal, text: str) -> None:
    """`/`, type ``text``, Enter: back in the list with only matching rows."""
    term.press("/")
    term.type(text)
    term.wait_for_text("shown)")
    term.press("enter")


def test_commit_with_a_filter_that_hides_the_new_image(
    start_app: StartApp, docker_cli: DockerCli
) -> None:
    reference = f"e2e/commit-{uuid.uuid4().hex[:6]}:v1"
    term = start_app(cols=120, rows=40)
    try:
        filter_to(term, "demo/stopped")
        term.press("c")
        term.wait_for_text("ideck-stopped")
        term.press("c")
        term.wait_for_text("Commit (ctrl+s)")
        term.type(reference)
        term.press("ctrl+s")
        term.wait_for_text("Committed")
        term.press("escape")
        term.wait_until(lambda s: "e2e/commit" in term.selected_row(), "the commit selected")
        term.wait_until(lambda s: "Filter 'demo/stopped' cleared to show" in term.flat(), "notice")
        assert "shown)" not in term.text()
    finally:
        docker_cli("rmi", reference)


def test_tag_with_a_filter_that_hides_the_new_tag(
    start_app: StartApp, scratch: Scratch, docker_cli: DockerCli
) -> None:
    source = scratch("e2e/tagsrc")
    target = f"e2e/tagdst-{uuid.uuid4().hex[:6]}"  # no tag: listed as :latest
    term = start_app(cols=120, rows=40)
    try:
        filter_to(term, source.split(":")[0])
        term.press("t")
        term.wait_for_text("as…")
        term.press("end", *["backspace"] * 40)
        term.type(target)
        term.wait_for_text("No tag given")
        term.press("enter")
        term.wait_until(lambda s: "e2e/tagdst" in term.selected_row(), "the new tag selected")
        assert "latest" in term.selected_row()
        term.wait_until(lambda s: "cleared to show" in term.flat(), "the notice")
    finally:
        docker_cli("rmi", f"{target}:latest")


def test_pull_keeps_a_filter_that_shows_the_new_image(
    start_app: StartApp, sandbox: Sandbox, docker_cli: DockerCli
) -> None:
    name = f"e2e/pull-{uuid.uuid4().hex[:6]}"
    local = f"{sandbox.registry}/{name}:v1"
    docker_cli("tag", BASE_IMAGE, local, check=True)
    docker_cli("push", local, check=True)
    docker_cli("rmi", local, check=True)
    term = start_app(cols=120, rows=40)
    try:
        filter_to(term, "e2e/pull")
        term.press("p")
        term.wait_for_text("Pull an image")
        term.type(local)
        term.press("enter")
        term.wait_for_text("Pulled")
        term.press("escape")
        # A long registry repository is cut in the middle; its last component stays whole.
        last = name.rsplit("/", 1)[-1]
        term.wait_until(lambda s: last in term.selected_row(), "the pulled image selected")
        assert "shown)" in term.text(), "the filter that shows the new image stays"
        assert "cleared" not in term.flat()
    finally:
        docker_cli("rmi", local)


def test_build_with_a_filter_that_hides_the_new_image(
    start_app: StartApp, tmp_path: Path, docker_cli: DockerCli
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nLABEL e2e=build-filter\n")
    reference = f"e2e/build-{uuid.uuid4().hex[:6]}:v1"
    term = start_app(cols=120, rows=40, cwd=tmp_path)
    try:
        filter_to(term, "demo/app")
        term.press("b")
        term.wait_for_text("Build an image", "LABEL")
        term.type(reference)
        term.press("ctrl+s")
        term.wait_for_text("Successfully")
        term.press("escape")
        term.wait_until(lambda s: "e2e/build" in term.selected_row(), "the built image selected")
        term.wait_until(lambda s: "cleared to show" in term.flat(), "the notice")
    finally:
        docker_cli("rmi", reference)
