"""Fixtures for the pty tests: start imagedeck against the sandbox in a terminal of a fixed size."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.e2e.harness import Terminal, program_argv

pytestmark = pytest.mark.daemon

StartApp = Callable[..., Terminal]
Scratch = Callable[..., str]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private HOME/XDG tree: no user config, a log of our own, no docker contexts."""
    for sub in ("config", "state", "docker"):
        (tmp_path / sub).mkdir()
    return tmp_path


@pytest.fixture
def start_app(sandbox: Sandbox, home: Path) -> Iterator[StartApp]:
    """``start_app(cols=80, rows=24, config=None, args=())`` -> a Terminal showing the list."""
    started: list[Terminal] = []

    def start(
        cols: int = 80,
        rows: int = 24,
        config: str | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        wait: bool = True,
        cwd: Path | None = None,
    ) -> Terminal:
        environment = {
            k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "DOCKER_CONTEXT")
        }
        environment.update(
            DOCKER_HOST=sandbox.docker_host,
            TERM="xterm-256color",
            COLORTERM="truecolor",
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_STATE_HOME=str(home / "state"),
            DOCKER_CONFIG=str(home / "docker"),
            # No blinking cursor: it only adds bytes; nothing here measures time.
            TEXTUAL_ANIMATIONS="none",
        )
        environment.update(env or {})
        if config is not None:
            (home / "config" / "imagedeck").mkdir(exist_ok=True)
            (home / "config" / "imagedeck" / "config.toml").write_text(config)
        terminal = Terminal(program_argv(*args), environment, cols=cols, rows=rows, cwd=cwd or home)
        started.append(terminal)
        if wait:
            # The list is there and the usage columns have been filled in.
            terminal.wait_for_text("REPOSITORY", "on disk")
        return terminal

    yield start
    for terminal in started:
        terminal.close()


@pytest.fixture
def scratch(docker_cli: DockerCli) -> Iterator[Scratch]:
    """``scratch("name", "tag")`` -> a fresh reference tagged from the base image; all removed."""
    made: list[str] = []

    def make(name: str = "e2e", tag: str = "v1") -> str:
        reference = f"{name}-{uuid.uuid4().hex[:6]}:{tag}"
        docker_cli("tag", BASE_IMAGE, reference, check=True)
        made.append(reference)
        return reference

    yield make
    for reference in made:
        docker_cli("rmi", reference)
