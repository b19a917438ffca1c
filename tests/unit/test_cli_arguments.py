"""`imagedeck` without arguments skips argparse: what it uses instead is what argparse gives."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import in_child
from tui import cli


def test_no_arguments_are_what_the_parser_gives_for_none() -> None:
    parsed = vars(cli.build_parser().parse_args([]))
    assert vars(cli.NO_ARGUMENTS) == parsed


def test_the_early_question_is_sent_before_argparse_socket_or_json_load(tmp_path: Path) -> None:
    # tui/early.py sends the first question with _socket; the socket module, argparse and
    # json come later (a fresh interpreter: nothing else has loaded them).
    path = tmp_path / "docker.sock"
    code = (
        "import _socket, os, sys\n"
        "server = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)\n"
        f"server.bind({str(path)!r}); server.listen(1)\n"
        f"os.environ['DOCKER_HOST'] = 'unix://{path}'\n"
        "import tui.cli, tui.early\n"
        "early = tui.early.send_early([])\n"
        "loaded = [m for m in ('argparse', 'socket', 'json', 'typing') if m in sys.modules]\n"
        "conn, _ = server._accept(), None\n"
        "asked = _socket.socket(fileno=conn[0]).recv(200).split(b'\\r\\n')[0].decode()\n"
        "print(','.join(loaded) or 'none', asked)\n"
    )
    assert in_child(code) == "none GET /images/json HTTP/1.0"
