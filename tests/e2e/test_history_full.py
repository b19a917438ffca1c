"""History `f`: every command whole, as `docker history --no-trunc` gives it, wrapped at the
pane's width (at 80 and at 120 columns); an opened step wraps at the pane's width too."""

from __future__ import annotations

import pytest

from tests.conftest import DockerCli
from tests.e2e.conftest import StartApp
from tests.e2e.harness import Terminal

pytestmark = pytest.mark.daemon


def open_history(term: Terminal, repository: str) -> None:
    term.press("/")
    term.type(repository)
    term.wait_for_text("shown)")
    term.press("enter", "h")
    term.wait_for_text("layers", "truncated", "○ empty")


def longest_command(docker_cli: DockerCli, reference: str) -> str:
    """The longest CREATED BY of `docker history --no-trunc`, without its `/bin/sh -c`
    (imagedeck shows a RUN step as `RUN …`)."""
    out = docker_cli(
        "history", "--no-trunc", "--format", "{{.CreatedBy}}", reference, check=True
    ).stdout
    return max(out.splitlines(), key=len).removeprefix("/bin/sh -c ")


@pytest.mark.parametrize(("cols", "rows"), [(80, 24), (120, 40)])
def test_full_shows_every_command_whole(
    start_app: StartApp, docker_cli: DockerCli, cols: int, rows: int
) -> None:
    command = longest_command(docker_cli, "demo/wasted:latest")
    assert len(command) > 200  # the seeded image's long RUN: longer than any row
    term = start_app(cols=cols, rows=rows)
    open_history(term, "demo/wasted")
    term.press("f")
    term.wait_for_text("· full")
    # Scroll the long step into view (it is the fifth entry), then read it whole.
    words = " ".join(command.split())
    for _ in range(12):
        if words in term.flat():
            break
        term.press("down", "down", "down")
        term.settle(0.2)
    assert words in term.flat(), term.dump()
    # Every line fits in the pane: nothing is cut with an ellipsis.
    assert "…" not in "".join(line for line in term.lines() if "/data" in line), term.dump()
    term.press("f")
    term.wait_for_text("· truncated")


def test_an_opened_step_wraps_at_the_pane_width(start_app: StartApp, docker_cli: DockerCli) -> None:
    command = longest_command(docker_cli, "demo/wasted:latest")
    term = start_app(cols=120, rows=40)
    open_history(term, "demo/wasted")
    for _ in range(8):  # down to the long RUN step
        term.press("down")
        term.settle(0.2)
        if "mkdir" in term.selected_row():
            break
    term.press("enter")
    term.wait_for_text("Created  ")
    assert " ".join(command.split()) in term.flat(), term.dump()
    green = [line for line in term.lines() if "/dev/urandom" in line and "head -c" in line]
    # Wrapped at the pane's width (about 114 cells), not at a narrow command column.
    assert max(len(line.rstrip()) for line in green) > 100, term.dump()
