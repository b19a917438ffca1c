"""Issue 14 item 14: the delete dialog says beforehand that an image with a child image will
only be untagged (the daemon keeps an image others are built on), and the result matches."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli
from tests.e2e.conftest import StartApp
from tests.e2e.harness import Terminal

pytestmark = pytest.mark.daemon


def build(docker_cli: DockerCli, where: Path, reference: str, dockerfile: str) -> str:
    """Build ``dockerfile`` with the classic builder (it records the parent); the image ID."""
    where.mkdir()
    (where / "Dockerfile").write_text(dockerfile)
    docker_cli("build", "-q", "-t", reference, str(where), check=True)
    return docker_cli("image", "inspect", "-f", "{{.Id}}", reference, check=True).stdout.strip()


def test_deleting_a_parent_says_it_is_only_untagged(
    start_app: StartApp, docker_cli: DockerCli, tmp_path: Path
) -> None:
    mark = uuid.uuid4().hex[:6]
    parent = f"e2e/parent-{mark}:v1"
    child = f"e2e/child-{mark}:v1"
    parent_id = build(
        docker_cli, tmp_path / "p", parent, f"FROM {BASE_IMAGE}\nLABEL e2e.parent={mark}\n"
    )
    term: Terminal | None = None
    try:
        build(docker_cli, tmp_path / "c", child, f"FROM {parent}\nLABEL e2e.child={mark}\n")
        term = start_app(cols=120, rows=40)
        term.press("/")
        term.type(f"e2e/parent-{mark}")
        term.wait_for_text("shown)")
        term.press("enter")
        term.press("d")
        term.wait_for_text("only untagged", "Cancel")
        flat = term.flat()
        assert "1 child image built on it" in flat and child in flat, term.dump()
        assert "Untag 1 reference?" in flat, term.dump()
        assert "delete " not in term.text().split("Untag 1 reference?", 1)[1].split("Cancel")[0]
        term.press("y")
        term.wait_for_text("(0 shown)")
        result = term.wait_for_text("1 untagged")
        assert "removed" not in result and "deleted" not in result.lower().replace("delete:", "")
        # As said: the tag went, the image stayed (its child is built on it).
        assert docker_cli("image", "inspect", parent).returncode != 0
        assert docker_cli("image", "inspect", parent_id).returncode == 0
        assert docker_cli("image", "inspect", child).returncode == 0
    finally:
        if term is not None:
            term.close()
        docker_cli("rmi", child)
        docker_cli("rmi", parent)
        docker_cli("rmi", parent_id)
