"""`imagedeck --host A --host B`: several daemons open the fleet view (tui/cli.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tui import cli
from tui.service.fleet import MemberSpec


def run_with(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> dict[str, Any]:
    """What ``main(argv)`` hands ``run_tui``."""
    seen: dict[str, Any] = {}

    def fake_run_tui(host: str | None, context: str | None, **kwargs: Any) -> int:
        seen.update(host=host, context=context, **kwargs)
        return 0

    monkeypatch.setattr(cli, "run_tui", fake_run_tui)
    assert cli.main(argv) == 0
    return seen


def test_one_host_is_one_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = run_with(monkeypatch, ["--host", "tcp://a:2376"])
    assert seen["host"] == "tcp://a:2376"
    assert not seen.get("fleet")


def test_several_hosts_are_a_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = run_with(
        monkeypatch, ["-H", "build1=tcp://b1:2376", "--host", "unix:///run/peer/docker.sock"]
    )
    assert seen["fleet"] == [
        MemberSpec("build1", host="tcp://b1:2376"),
        MemberSpec("peer", host="unix:///run/peer/docker.sock"),
    ]
    # The app's own daemon (its list under the fleet view) is the first one.
    assert seen["host"] == "tcp://b1:2376"
