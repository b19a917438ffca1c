"""`imagedeck layers TARGET` checks its argument before the daemon is asked."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import pytest

from tui.layers_cli import main


def never_opened(reference: str) -> IO[bytes]:
    raise AssertionError(f"the daemon was asked for {reference!r}")


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("Bad:Ref", "repository names must be lowercase"),
        ("app@md5:" + "b" * 32, "not a digest algorithm"),
        ("./missing.tar", "no such file"),
        ("/no/such/dir/", "no such file"),
    ],
)
def test_bad_targets_are_refused_before_the_daemon(target: str, why: str) -> None:
    err = io.StringIO()
    assert main([target], open_image_stream=never_opened, stderr=err) == 2
    assert why in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_a_directory_is_refused_before_the_daemon(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main([str(tmp_path)], open_image_stream=never_opened, stderr=err) == 2
    assert "is a directory" in err.getvalue()


@pytest.mark.parametrize(
    "target", ["demo/app:1.0", "localhost:5000/team/app", "3f2a1b2c3d4e", "sha256:" + "a" * 64]
)
def test_references_and_ids_go_to_the_daemon(target: str) -> None:
    asked: list[str] = []

    def opener(reference: str) -> IO[bytes]:
        asked.append(reference)
        raise FileNotFoundError("stop here")

    main([target], open_image_stream=opener, stderr=io.StringIO())
    assert asked == [target]
