"""The config file's ``fleet`` (tui/config.py): context names and host addresses, each bad entry
named in a problem, and the command line's daemon winning over it (tui/cli.py)."""

from __future__ import annotations

from pathlib import Path

from tui.cli import config_fleet
from tui.config import load_config, parse_config
from tui.service.fleet import MemberSpec

PATH = Path("/x/config.toml")


def test_contexts_and_hosts_in_the_files_order(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'fleet = ["ctx-a", "ci=tcp://ci.example:2376", "unix:///run/peer/docker.sock"]\n'
    )
    config = load_config(path)
    assert config.problems == ()
    assert config.fleet == ("ctx-a", "ci=tcp://ci.example:2376", "unix:///run/peer/docker.sock")
    assert config_fleet(config, None, None) == [
        MemberSpec("ctx-a", context="ctx-a"),
        MemberSpec("ci", host="tcp://ci.example:2376"),
        MemberSpec("peer", host="unix:///run/peer/docker.sock"),
    ]


def test_the_command_lines_daemon_wins() -> None:
    config = parse_config({"fleet": ["a", "b"]}, PATH)
    assert config_fleet(config, "tcp://one:2376", None) == []
    assert config_fleet(config, None, "a") == []
    assert [m.name for m in config_fleet(config, None, None)] == ["a", "b"]


def test_each_bad_entry_is_named_and_left_out() -> None:
    config = parse_config(
        {
            "fleet": [
                "good-1",
                "ftp://nope:21",
                "bad name",
                "",
                3,
                "x y=tcp://h:1",
                "tcp://me:secret@h:2376",
                "good-1",
            ]
        },
        PATH,
    )
    assert config.fleet == ("good-1", "tcp://me:secret@h:2376")
    problems = "\n".join(config.problems)
    assert "fleet: 'ftp://nope:21' is not a host address (schemes: unix://" in problems
    assert "fleet: 'bad name' is not a Docker context name" in problems
    assert "fleet: '' is not a context name or a host address; left out" in problems
    assert "fleet: 3 is not a context name or a host address; left out" in problems
    assert "'x y=tcp://h:1': a name before '=' is letters" in problems
    assert "fleet: 'good-1' is listed twice; once is used" in problems
    assert "secret" not in problems  # a password in an address is never shown
    assert len(config.problems) == 6


def test_fewer_than_two_usable_entries_open_no_fleet() -> None:
    config = parse_config({"fleet": ["only-one", "nope://x"]}, PATH)
    assert config.fleet == ()
    assert config.problems[-1] == (
        "fleet: 1 usable entry; a fleet needs two daemons or more: not opened"
    )
    assert config_fleet(config, None, None) == []


def test_not_a_list() -> None:
    config = parse_config({"fleet": "ctx-a,ctx-b"}, PATH)
    assert config.fleet == ()
    assert config.problems == (
        "fleet must be a list of context names or host addresses "
        '(fleet = ["build-1", "ci=tcp://ci:2376"])',
    )
