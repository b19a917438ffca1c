"""`imagedeck prune` against the fake service: exit code 1 on a failed removal, text made safe.

The real-daemon runs (each rule, dry runs, exit codes 2 and 3) are in
tests/service/test_retention_daemon.py.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.ui.test_cleanup_fake import CleanupFake
from tui import prune_cli
from tui.service.errors import DaemonError


class _Api:
    """What the recorder and the planner ask of docker-py: the daemon's ID, containers, parents."""

    def info(self) -> dict[str, str]:
        return {"ID": "FAKE:DAEMON"}

    def containers(self, all: bool = True) -> list[dict[str, Any]]:
        return []

    def images(self, all: bool = True) -> list[dict[str, Any]]:
        return []  # no parents: the fake's images stand side by side


class PruneFake(CleanupFake):
    """CleanupFake that refuses to remove one reference (a daemon error, not a conflict)."""

    refuse = "demo/app:1.2"

    def __init__(self) -> None:
        super().__init__()
        self.api = _Api()

    @contextlib.contextmanager
    def translate(self, what: str, reference: str = "") -> Iterator[None]:
        yield

    def _containerd(self) -> bool:
        return False  # the classic image store (what remove_reference asks)

    def remove_image(self, reference: str, **kwargs: Any) -> list[tuple[str, str]]:
        if reference == self.refuse:
            raise DaemonError(f"remove {reference}: driver failed (test)")
        return super().remove_image(reference, **kwargs)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PruneFake:
    """`imagedeck prune` connects to this fake; state and config in tmp."""
    from tui.service import ImageService

    service = PruneFake()
    monkeypatch.setattr(ImageService, "connect", classmethod(lambda cls, *a, **k: service))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return service


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = prune_cli.main(list(args), out=out)
    return code, out.getvalue()


def test_a_failed_removal_is_exit_1_and_the_rest_goes_on(fake: PruneFake) -> None:
    code, text = run("--keep-last", "1", "--keep", "imagedeck/*", "--keep", "demo/alias")
    assert code == 0 and "dry run" in text
    assert "delete demo/app:1.2" in text and fake.removed == []
    code, text = run("--keep-last", "1", "--keep", "imagedeck/*", "--keep", "demo/alias", "--yes")
    assert code == 1
    assert "✗ failed   demo/app:1.2 — remove demo/app:1.2: driver failed (test)" in text
    assert "✓ deleted  demo/app:2.0" in text
    assert "1 deleted, 1 untagged, 1 failed" in text


def test_json_document(fake: PruneFake) -> None:
    code, text = run("--dangling", "--json")
    document = json.loads(text)
    assert code == 0 and document["dry_run"] is True
    assert [i["action"] for i in document["items"]] == ["delete"]
    assert document["items"][0]["reason"] == "dangling"
    assert document["freed_bytes"] == 100_000 and document["freed_exact"] is True
    assert document["record_since"] is not None


def test_outside_text_is_printed_visibly(fake: PruneFake) -> None:
    hostile = "evil/\x1b]52;c;aGk=\x07x:1"
    index = next(n for n, i in enumerate(fake.images) if "demo/wasted:latest" in i.tags)
    fake.images[index] = replace(fake.images[index], repo_tags=(hostile,))
    code, text = run("--keep-last", "0", "--keep", "demo/*", "--keep", "imagedeck/*")
    assert code == 0
    assert "\x1b" not in text and "\x07" not in text
    assert "evil/^[]52;c;aGk=^Gx:1" in text
