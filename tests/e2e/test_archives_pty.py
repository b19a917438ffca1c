"""Save and load as a person does it, in a pty at 80x24 against the sandbox daemon: `S` on a
row writes the archive (0600) into the current folder, the image is removed with the CLI, `I`
loads the file back and the daemon has the same image ID again (checked with the CLI)."""

from __future__ import annotations

import json
import stat
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli
from tests.e2e.conftest import StartApp

pytestmark = pytest.mark.daemon


def test_save_then_load_back_in_the_terminal(
    start_app: StartApp, docker_cli: DockerCli, home: Path
) -> None:
    repository = f"e2e/archive-{uuid.uuid4().hex[:6]}"
    reference = f"{repository}:v1"
    docker_cli("tag", BASE_IMAGE, reference, check=True)
    image_id = docker_cli("image", "inspect", "-f", "{{.Id}}", reference, check=True).stdout
    term = start_app(cols=80, rows=24, cwd=home)
    try:
        term.press("/")
        term.type(repository)
        term.wait_for_text("1 shown")
        term.settle()
        term.press("enter")
        term.settle()  # the list has the keys again (S typed too early would go to the filter)
        term.press("S")
        term.wait_for_text("Save 1 image to an archive", "images.tar")
        term.press("enter")
        term.wait_for_text("Saved 1 image(s)", "Close")
        archive = home / "images.tar"
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
        with tarfile.open(archive) as tar:
            manifest = tar.extractfile("manifest.json")
            assert manifest is not None
            assert [entry["RepoTags"] for entry in json.load(manifest)] == [[reference]]
        term.press("enter")
        term.wait_gone("Saved 1 image(s)")

        docker_cli("rmi", reference, check=True)
        term.wait_for_text("0 shown")
        term.press("I")
        term.wait_for_text("Load an archive or import")
        term.type("images.tar")
        term.press("enter")
        term.wait_for_text("Loaded from images.tar", f"✓ {reference}")
        again = docker_cli("image", "inspect", "-f", "{{.Id}}", reference, check=True).stdout
        assert again == image_id
        assert image_id.strip()[7:19] in term.flat(), term.dump()
        term.press("enter")
        term.wait_for_text("1 shown")
    finally:
        docker_cli("rmi", reference)
