"""Files under the XDG state directory are never written through symbolic links.

Real links in a temporary XDG_STATE_HOME: a linked state directory or log file must turn
logging off with a reason and leave the link's target exactly as it was (mode and content).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui import logs
from tui.safefs import UnsafePath, write_text

NAMES = ("imagedeck", "docker", "paramiko", "urllib3")


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh XDG_STATE_HOME; imagedeck's log handlers are removed afterwards."""
    home = tmp_path / "state"
    home.mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    saved = {n: list(logging.getLogger(n).handlers) for n in NAMES}
    before = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in NAMES}
    yield home
    for name in NAMES:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if handler not in saved[name]:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(before[name][0])
        logger.propagate = before[name][1]


def victim(tmp_path: Path, name: str = "victim", mode: int = 0o644) -> Path:
    """A file of the user's that a planted link points at."""
    path = tmp_path / name
    path.write_text("precious\n")
    path.chmod(mode)
    return path


def test_log_is_created_private(state: Path) -> None:
    path = logs.setup_logging("info")
    assert path == state / "imagedeck" / "imagedeck.log"
    assert logs.problem() is None
    logs.get_logger("t").warning("hello")
    for handler in logging.getLogger("imagedeck").handlers:
        handler.flush()
    assert "hello" in path.read_text()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_symlinked_state_dir_is_refused_and_left_alone(state: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir(mode=0o755)
    elsewhere.chmod(0o755)
    (state / "imagedeck").symlink_to(elsewhere)
    assert logs.setup_logging("info") is None
    reason = logs.problem()
    assert reason is not None
    assert f"{state / 'imagedeck'} is a symbolic link (to {elsewhere})" in reason
    # Neither chmod-ed nor written into.
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
    assert list(elsewhere.iterdir()) == []


def test_symlinked_log_file_is_refused_and_left_alone(state: Path, tmp_path: Path) -> None:
    target = victim(tmp_path)
    (state / "imagedeck").mkdir(mode=0o700)
    (state / "imagedeck" / "imagedeck.log").symlink_to(target)
    assert logs.setup_logging("info") is None
    reason = logs.problem()
    assert reason is not None and "is a symbolic link" in reason
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text() == "precious\n"


def test_hard_linked_log_file_is_refused(state: Path, tmp_path: Path) -> None:
    target = victim(tmp_path)
    (state / "imagedeck").mkdir(mode=0o700)
    os.link(target, state / "imagedeck" / "imagedeck.log")
    assert logs.setup_logging("info") is None
    assert "hard links" in (logs.problem() or "")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text() == "precious\n"


def test_rotation_does_not_follow_a_planted_old_log(state: Path, tmp_path: Path) -> None:
    target = victim(tmp_path)
    folder = state / "imagedeck"
    folder.mkdir(mode=0o700)
    (folder / "imagedeck.log").write_bytes(b"x" * (logs.MAX_BYTES + 1))
    (folder / "imagedeck.log.1").symlink_to(target)
    assert logs.setup_logging("info") == folder / "imagedeck.log"
    assert (folder / "imagedeck.log.1").stat().st_size == logs.MAX_BYTES + 1
    assert not (folder / "imagedeck.log.1").is_symlink()
    assert target.read_text() == "precious\n"


def test_build_log_under_a_symlinked_builds_dir_is_refused(state: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (state / "imagedeck").mkdir(mode=0o700)
    (state / "imagedeck" / "builds").symlink_to(elsewhere)
    with pytest.raises(UnsafePath) as caught:
        write_text(state / "imagedeck" / "builds" / "one.log", "log\n")
    assert "builds is a symbolic link" in str(caught.value)
    assert list(elsewhere.iterdir()) == []


def test_build_log_over_a_symlink_is_refused(state: Path, tmp_path: Path) -> None:
    target = victim(tmp_path)
    builds = state / "imagedeck" / "builds"
    builds.mkdir(parents=True)
    (builds / "one.log").symlink_to(target)
    for overwrite in (False, True):
        with pytest.raises(UnsafePath) as caught:
            write_text(builds / "one.log", "log\n", overwrite=overwrite)
        assert "is a symbolic link" in str(caught.value)
    assert target.read_text() == "precious\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_new_file_is_private_and_existing_one_needs_overwrite(state: Path, tmp_path: Path) -> None:
    path = state / "imagedeck" / "builds" / "one.log"
    write_text(path, "first\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with pytest.raises(FileExistsError):
        write_text(path, "second\n")
    assert path.read_text() == "first\n"
    # Elsewhere (a path the user typed): overwriting keeps the file's own mode.
    mine = victim(tmp_path, "mine.log", 0o640)
    write_text(mine, "new\n", overwrite=True)
    assert mine.read_text() == "new\n"
    assert stat.S_IMODE(mine.stat().st_mode) == 0o640


def test_last_used_record_is_not_kept_under_a_linked_state_dir(state: Path, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from tui.service.lastused import LastUsedRecord, RecordError, record_path

    elsewhere = tmp_path / "shared"
    elsewhere.mkdir(mode=0o755)
    elsewhere.chmod(0o755)
    (state / "imagedeck").symlink_to(elsewhere)
    path = record_path("daemon-1")
    with pytest.raises(RecordError) as caught:
        LastUsedRecord.load("daemon-1", path)
    assert f"{state / 'imagedeck'} is a symbolic link" in str(caught.value)
    record = LastUsedRecord("daemon-1", datetime(2026, 1, 1, tzinfo=timezone.utc), path=path)
    with pytest.raises(RecordError):
        record.save()
    assert list(elsewhere.iterdir()) == []
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
