"""Words, numbers and symbols as a person reads them in the terminal: plurals, a container
whose image is a bare ID, a dangling image a container still uses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import DockerCli
from tests.e2e.conftest import StartApp
from tests.e2e.harness import Terminal

pytestmark = pytest.mark.daemon


def filter_to(term: Terminal, text: str) -> None:
    term.press("/")
    term.type(text)
    term.wait_for_text("shown)")
    term.press("enter")


@pytest.fixture
def untagged_in_use(docker_cli: DockerCli) -> Iterator[tuple[str, str]]:
    """(image ID, container name): a dangling image that a stopped container uses."""
    name = f"e2e/dangle-{uuid.uuid4().hex[:6]}"
    container = f"e2e-ctr-{uuid.uuid4().hex[:6]}"
    context = "tests/fixtures/app"
    first = docker_cli("build", "-q", "-t", f"{name}:t", "--label", f"e2e={name}-1", context)
    assert first.returncode == 0, first.stderr
    image_id = first.stdout.strip()
    docker_cli("create", "--name", container, f"{name}:t", "true", check=True)
    # The same tag on a new image: the first is left dangling, still used by the container.
    second = docker_cli("build", "-q", "-t", f"{name}:t", "--label", f"e2e={name}-2", context)
    assert second.returncode == 0, second.stderr
    yield image_id, container
    docker_cli("rm", "-f", container)
    docker_cli("rmi", image_id, f"{name}:t")


def test_a_dangling_image_in_use_shows_both_symbols(
    start_app: StartApp, untagged_in_use: tuple[str, str]
) -> None:
    image_id, _ = untagged_in_use
    short = image_id.removeprefix("sha256:")[:12]
    term = start_app()
    filter_to(term, short)
    row = term.line_with("<none>")
    assert "○" in row and "▸" in row, term.dump()


def test_containers_words_and_a_bare_image_id(
    start_app: StartApp, untagged_in_use: tuple[str, str]
) -> None:
    image_id, container = untagged_in_use
    short = image_id.removeprefix("sha256:")[:12]
    term = start_app()  # 80x24
    filter_to(term, short)
    term.press("c")
    term.wait_for_text(container)
    row = term.line_with(container)
    # The image is a bare ID: shown short, so STATUS fits beside it.
    assert short in row and "sha256:" not in row and "Created" in row, term.dump()
    assert "1 container ·" in term.text() and "1 containers" not in term.text(), term.dump()
    term.press("escape")


def test_a_pure_untag_says_no_space_comes_back(start_app: StartApp, docker_cli: DockerCli) -> None:
    """Deleting a second tag of an image only untags it: nothing comes back, said plainly."""
    reference = f"e2e/untag-{uuid.uuid4().hex[:6]}:v1"
    docker_cli("tag", "imagedeck/busybox:latest", reference, check=True)
    term = start_app(cols=120, rows=40)
    try:
        filter_to(term, reference.split(":")[0])
        term.press("d")
        term.wait_for_text("untag", "Space that comes back")
        flat = term.flat()
        assert "none (only tags are removed" in flat, term.dump()
        assert "about 0 B" not in flat
        term.press("escape")
    finally:
        docker_cli("rmi", reference)
