"""The last-used record's file (private, no links followed, survives a restart) and [prune]."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tui.config import parse_config
from tui.service.lastused import (
    LastUsedRecord,
    LastUsedRecorder,
    RecordError,
    effective_last_use,
    parse_time,
    record_path,
)
from tui.service.models import DaemonEvent

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
IMAGE = "sha256:" + "a" * 64


def test_record_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    path = record_path("ABCD:EFGH:1234", env)
    assert path.name == "ABCD-EFGH-1234.json"  # the daemon ID as a safe file name
    record = LastUsedRecord.load("ABCD:EFGH:1234", path, now=T0)
    assert record.since == T0 and record.get(IMAGE) is None
    recorder = LastUsedRecorder(record)
    assert recorder.add([(IMAGE, T0 + timedelta(hours=1))])
    assert not recorder.add([(IMAGE, T0)])  # an older use does not move it back
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    again = LastUsedRecord.load("ABCD:EFGH:1234", path, now=T0 + timedelta(days=5))
    assert again.since == T0  # the record's start is kept, not reset by a restart
    assert again.get(IMAGE) == T0 + timedelta(hours=1)


def test_record_refuses_links(tmp_path: Path) -> None:
    directory = tmp_path / "imagedeck" / "last-used"
    directory.mkdir(parents=True)
    target = tmp_path / "someone-elses.json"
    target.write_text('{"version": 1, "since": "2026-01-01T00:00:00+00:00", "images": {}}')
    link = directory / "d.json"
    link.symlink_to(target)
    with pytest.raises(RecordError, match="safely"):
        LastUsedRecord.load("d", link)
    # Writing replaces the link itself (a new file renamed over it), never the file it names.
    record = LastUsedRecord("d", T0, {IMAGE: T0}, link)
    record.save()
    assert not link.is_symlink() and "version" in target.read_text()
    assert '"images": {}' in target.read_text()
    # A linked directory is refused.
    linked_dir = tmp_path / "other"
    linked_dir.mkdir()
    (tmp_path / "state2" / "imagedeck").mkdir(parents=True)
    (tmp_path / "state2" / "imagedeck" / "last-used").symlink_to(linked_dir)
    path = record_path("x", {"XDG_STATE_HOME": str(tmp_path / "state2")})
    with pytest.raises(RecordError, match="not a directory"):
        LastUsedRecord.load("x", path)


def test_damaged_record_is_an_error_not_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "last-used" / "d.json"
    path.parent.mkdir(mode=0o700)
    path.write_text("{not json")
    with pytest.raises(RecordError, match="damaged"):
        LastUsedRecord.load("d", path)


class _NoDaemon:
    """observe() must not ask the daemon when the event names the image ID itself."""

    api = None

    def translate(self, what: str, reference: str = "") -> object:
        raise AssertionError("no daemon call expected")


def test_only_container_create_and_start_count(tmp_path: Path) -> None:
    record = LastUsedRecord("d", T0, {}, tmp_path / "last-used" / "d.json")
    recorder = LastUsedRecorder(record)
    service = _NoDaemon()
    attrs = (("image", IMAGE), ("name", "web"))
    later = T0 + timedelta(minutes=5)
    assert not recorder.observe(service, DaemonEvent("container", "die", "c1", attrs, later))
    assert not recorder.observe(service, DaemonEvent("image", "pull", IMAGE, (), later))
    assert recorder.observe(service, DaemonEvent("container", "start", "c1", attrs, later))
    assert record.get(IMAGE) == later


def test_effective_last_use() -> None:
    record = LastUsedRecord("d", T0, {IMAGE: T0 + timedelta(days=2)})
    assert effective_last_use(record, IMAGE, T0 - timedelta(days=9)) == T0 + timedelta(days=2)
    # Not seen in use: since the record began, or since it was created when that is later.
    assert effective_last_use(record, "other", T0 - timedelta(days=9)) == T0
    assert effective_last_use(record, "other", T0 + timedelta(days=1)) == T0 + timedelta(days=1)


def test_parse_time() -> None:
    assert parse_time("2026-11-01T12:00:00.123456789Z") == T0.replace(microsecond=123456)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("") is None


def test_prune_settings_in_the_config_are_checked(tmp_path: Path) -> None:
    good = parse_config(
        {
            "prune": {
                "keep_last": 3,
                "unused_for": "30d",
                "below": "20GB",
                "keep": ["imagedeck/*"],
                "dangling": True,
            },
            "hidden_columns": ["last_used"],
        },
        tmp_path / "c.toml",
    )
    assert good.problems == ()
    assert good.prune["keep"] == ("imagedeck/*",) and good.prune["below"] == "20GB"
    assert good.hidden_columns == frozenset({"last_used"})
    bad = parse_config(
        {
            "prune": {
                "keep_last": -1,
                "unused_for": "soon",
                "below": 20,
                "keep": "x",
                "dangling": "yes",
                "older": 1,
            }
        },
        tmp_path / "c.toml",
    )
    assert len(bad.problems) == 6 and bad.prune == {}
    text = "\n".join(bad.problems)
    for words in ("keep_last must be a whole number", "'soon' is not a duration", "below must be"):
        assert words in text
    assert parse_config({"prune": 3}, tmp_path / "c.toml").problems
