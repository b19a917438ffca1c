"""`imagedeck serve` without a server: the app's argv and its shell quoting, the checked
options, the warning for an address other than loopback, the WebSocket origin rule."""

from __future__ import annotations

import argparse
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui import serve


def parse(*argv: str) -> argparse.Namespace:
    return serve.build_parser().parse_args(list(argv))


def test_defaults_bind_loopback_port_8000_and_run_this_python() -> None:
    args = parse()
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert serve.app_argv(args) == [sys.executable, "-m", "tui", "--log-level=info"]


def test_options_reach_the_app_each_as_one_item(tmp_path: Path) -> None:
    config = tmp_path / "my config; $(touch PWNED).toml"
    config.write_text("")
    args = parse(
        "--daemon", "ssh://me@build-1:2222", "--context", "ci.prod+1", "--config", str(config),
        "--log-level", "debug",
    )  # fmt: skip
    assert serve.app_argv(args, python="/opt/py") == [
        "/opt/py",
        "-m",
        "tui",
        "--host=ssh://me@build-1:2222",
        "--context=ci.prod+1",
        f"--config={config.resolve()}",
        "--log-level=debug",
    ]


def test_the_served_command_is_the_argv_for_the_shell(tmp_path: Path) -> None:
    """textual-serve runs the command with /bin/sh: every item arrives as it was, nothing runs."""
    nasty = ["a b", "; touch PWNED", "$(touch PWNED)", "`touch PWNED`", "'\"", "x\ny", "*"]
    argv = [sys.executable, "-c", "import sys; print(repr(sys.argv[1:]))", *nasty]
    command = serve.served_command(argv)
    assert shlex.split(command) == argv
    shown = subprocess.run(
        ["/bin/sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == repr(nasty)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--host", "a b"),
        ("--host", "x;y"),
        ("--host", "$(id)"),
        ("--host", "http://x"),
        ("--port", "0"),
        ("--port", "65536"),
        ("--port", "80a"),
        ("--daemon", "--config=/etc/passwd"),
        ("--daemon", "file:///etc/passwd"),
        ("--daemon", "tcp://a b"),
        ("--daemon", "tcp://a\x1b]52;c;eA==\x07"),
        ("--daemon", "build-1"),
        ("--daemon", "tcp://x;rm"),
        ("--daemon", "unix:///tmp/a b.sock"),
        ("--daemon", "ssh://me@host'"),
        ("--context", "../x"),
        ("--context", "-x"),
        ("--context", "a b"),
        ("--config", "/no/such/file.toml"),
        ("--public-url", "javascript:alert(1)"),
        ("--public-url", "http://"),
        ("--log-level", "trace"),
    ],
)
def test_bad_values_are_refused_with_exit_2(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        parse(f"{option}={value}")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "imagedeck serve:" in err
    assert "\x1b" not in err  # a refused value is shown, not sent to the terminal


def test_addresses_are_normalised() -> None:
    assert parse("--host", "[::1]").host == "::1"
    assert parse("--host", "build-1.lan").host == "build-1.lan"
    assert parse("--host", "0.0.0.0").host == "0.0.0.0"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST."])
def test_no_warning_on_loopback(host: str) -> None:
    assert serve.is_loopback(host)
    assert serve.bind_warning(host, 8000) is None


@pytest.mark.parametrize(
    ("host", "where"),
    [("0.0.0.0", "every interface"), ("::", "every interface"), ("192.168.1.5", "192.168.1.5"),
     ("build-1.lan", "build-1.lan")],
)  # fmt: skip
def test_any_other_address_warns_that_it_gives_away_the_daemon(host: str, where: str) -> None:
    warning = serve.bind_warning(host, 8123)
    assert warning is not None
    assert warning.startswith("WARNING:")
    assert f"listens on {where} (port 8123)" in warning
    assert "controls the Docker daemon" in warning
    assert "ssh -L 8123:127.0.0.1:8123" in warning


class FakeServer:
    """Stands in for textual-serve's Server: records that it was started."""

    def __init__(self) -> None:
        self.served = False

    def serve(self) -> None:
        self.served = True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_taken_port_is_refused_before_anything_else(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve.listen_problem("127.0.0.1", port) is not None
        code, made = run_main(monkeypatch, "--port", str(port))
    err = capsys.readouterr().err
    assert code == 1 and not made
    assert f"imagedeck serve: cannot listen on 127.0.0.1:{port}: " in err
    assert "http://" not in err


def run_main(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, dict[str, Any]]:
    made: dict[str, Any] = {}

    def make_server(args: argparse.Namespace, command: str) -> FakeServer:
        made.update(args=args, command=command, server=FakeServer())
        return made["server"]

    monkeypatch.setattr(serve, "make_server", make_server)
    return serve.main(list(argv)), made


def test_main_warns_on_stderr_before_serving_elsewhere(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    code, made = run_main(
        monkeypatch, "--host", "0.0.0.0", "--port", str(port), "--public-url", "http://b1:80"
    )
    err = capsys.readouterr().err
    assert code == 0 and made["server"].served
    assert f"WARNING: imagedeck serve listens on every interface (port {port})" in err
    assert made["command"] == shlex.join(serve.app_argv(made["args"]))


def test_main_is_quiet_on_loopback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, made = run_main(
        monkeypatch, "--port", str(free_port()), "--daemon", "unix:///run/docker.sock"
    )
    assert code == 0 and made["server"].served
    assert "WARNING" not in capsys.readouterr().err
    assert shlex.split(made["command"])[3:] == [
        "--host=unix:///run/docker.sock",
        "--log-level=info",
    ]


def test_public_url_and_origins() -> None:
    assert serve.default_public_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert serve.default_public_url("::1", 8000) == "http://[::1]:8000"
    assert serve.default_public_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    allowed = serve.allowed_origins("http://127.0.0.1:8000", "127.0.0.1", 8000)
    for origin in (None, "http://127.0.0.1:8000", "http://LOCALHOST:8000", "http://[::1]:8000"):
        assert serve.origin_allowed(origin, allowed), origin
    for origin in (
        "null",
        "http://evil.example",
        "http://evil.example:8000",
        "http://127.0.0.1:8001",
        "https://127.0.0.1:8000",
        "http://127.0.0.1.evil.example:8000",
    ):
        assert not serve.origin_allowed(origin, allowed), origin


def test_a_public_url_is_the_origin_allowed_elsewhere() -> None:
    allowed = serve.allowed_origins("https://deck.example.org/", "10.0.0.5", 8000)
    assert serve.origin_allowed("https://deck.example.org", allowed)
    assert serve.origin_allowed("https://deck.example.org:443", allowed)
    assert not serve.origin_allowed("http://127.0.0.1:8000", allowed)  # not bound there


def test_the_page_asks_no_other_host() -> None:
    """The page template loads nothing from outside (textual-serve's asked Google Fonts)."""
    page = (serve.TEMPLATES / "app_index.html").read_text()
    assert not re.search(r"""(?:href|src)\s*=\s*["']?(?:https?:)?//""", page)
    assert "{{ app_websocket_url }}" in page


def test_imagedeck_serve_is_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    from tui import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["serve", "--port", "0"])
    assert stop.value.code == 2
    assert (
        "imagedeck serve: argument --port: port out of range 1-65535: 0" in capsys.readouterr().err
    )


def test_every_interface_needs_the_url_browsers_use(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        serve.main(["--host", "0.0.0.0", "--port", "8123"])
    assert stop.value.code == 2
    assert "--host 0.0.0.0 needs --public-url" in capsys.readouterr().err
