"""BuildKit builds through ``docker buildx build --progress=rawjson``, and the build cache.

Why the CLI and not the API: the Engine's ``/build`` endpoint speaks BuildKit only through a
gRPC session (file sync, auth, progress) that docker-py does not implement; buildx does, and its
``rawjson`` progress mode writes BuildKit's own ``SolveStatus`` objects (``vertexes``,
``statuses``, ``logs``) as JSON to stderr. ``RawJsonDecoder`` splits that stream into objects
and the plain text buildx prints after them (``ERROR: ...`` and the Dockerfile excerpt of the
failing step); ``RawJsonParser`` turns the objects into the same typed events the log pane
already shows for the legacy builder (``VertexUpdate`` / ``VertexLog`` per vertex).

The connection imagedeck uses is passed on to the CLI (``--host`` with the TLS material, or
``--context``), so the build goes to the daemon the list shows. Cancelling interrupts buildx
(SIGINT, as Ctrl-C would), which cancels the solve; the cache records the cancelled build had
already written are then pruned by ID, so a cancelled build leaves nothing behind.

The build cache is read from ``/system/df`` (``BuildCache``, the numbers ``docker system df``
prints) and pruned record by record with ``/build/prune`` and an ``id`` filter, so what the
preview lists is exactly what goes.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tui.service.build import (
    BuildCancelled,
    BuildError,
    BuildEvent,
    BuildImageId,
    BuildOutput,
    BuildRequest,
    BuildSucceeded,
    VertexLog,
    VertexUpdate,
    _last_carriage_segment,
)
from tui.service.cancel import CancelWatcher
from tui.service.connection import DEFAULT_CONTEXT
from tui.service.core import ServiceBase

WAITING, RUNNING, CACHED, DONE, ERROR, CANCELLED = (
    "waiting",
    "running",
    "cached",
    "done",
    "error",
    "cancelled",
)

# How long buildx gets to wind down after SIGINT before it is killed (and how long the cache
# records of a cancelled build are looked for).
CANCEL_WAIT = 15.0
# How many looks in a row must find no new cache record before a cancel is clean.
CANCEL_QUIET_LOOKS = 3
# How long `docker buildx version` / `inspect` may take (a remote builder can be slow).
PROBE_TIMEOUT = 20.0

_EXCERPT_HEAD = re.compile(r"^\S.*:\d+$")
_DASHES = re.compile(r"^-{4,}$")
_EXIT_CODE = re.compile(r"exit code: (\d+)")
_PARSE_LINE = re.compile(r"dockerfile parse error (?:on )?line (\d+)", re.IGNORECASE)
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")

# What the legacy builder cannot do, and how to spot it in a Dockerfile (line-based: good
# enough to give a reason; the daemon remains the judge).
_BUILDKIT_FEATURES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\s*#\s*syntax\s*=", re.IGNORECASE), "a '# syntax=' line"),
    (re.compile(r"^\s*RUN\b.*--mount=", re.IGNORECASE), "RUN --mount"),
    (re.compile(r"^\s*RUN\b.*--network=", re.IGNORECASE), "RUN --network"),
    (re.compile(r"^\s*RUN\b.*--security=", re.IGNORECASE), "RUN --security"),
    (re.compile(r"^\s*(RUN|COPY)\b.*<<-?\s*['\"]?[A-Za-z_]", re.IGNORECASE), "a heredoc (<<EOF)"),
    (re.compile(r"^\s*(COPY|ADD)\b.*--link\b", re.IGNORECASE), "COPY --link"),
    (re.compile(r"^\s*(COPY|ADD)\b.*--parents\b", re.IGNORECASE), "COPY --parents"),
    (re.compile(r"^\s*(COPY|ADD)\b.*--exclude=", re.IGNORECASE), "COPY --exclude"),
    (re.compile(r"^\s*ADD\b.*--checksum=", re.IGNORECASE), "ADD --checksum"),
)


def buildkit_features(dockerfile_text: str) -> list[str]:
    """What in a Dockerfile only BuildKit builds, as ``"RUN --mount (line 3)"`` phrases."""
    found: list[str] = []
    continued = False
    for number, line in enumerate(dockerfile_text.splitlines(), start=1):
        # A continuation line belongs to the instruction above; its words are not instructions.
        logical = "RUN " + line if continued else line
        continued = line.rstrip().endswith("\\")
        for pattern, name in _BUILDKIT_FEATURES:
            if pattern.search(logical) and not any(f.startswith(name + " ") for f in found):
                found.append(f"{name} (line {number})")
    return found


def parse_time(text: str) -> float | None:
    """An RFC 3339 timestamp with nanoseconds (as BuildKit writes them) as epoch seconds."""
    match = _TIMESTAMP.match(text.strip()) if text else None
    if not match:
        return None
    fraction = float(match[2]) if match[2] else 0.0
    zone = "+00:00" if match[3] == "Z" else match[3]
    try:
        whole = datetime.fromisoformat(match[1] + zone).timestamp()
    except ValueError:
        return None
    return whole + fraction


def human_bytes(n: int) -> str:
    """Bytes as BuildKit's progress writes them (decimal units)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)}{unit}" if unit == "B" else f"{value:.2f}{unit}"
        value /= 1000
    return f"{n}B"  # pragma: no cover - the loop always returns


# -- the stream -------------------------------------------------------------------------------


class RawJsonDecoder:
    """Splits buildx's ``rawjson`` stderr into JSON objects and plain text lines.

    buildx writes each ``SolveStatus`` as indented JSON (many lines per object), and after the
    last one plain text: ``ERROR: ...`` and the Dockerfile excerpt. Chunks may cut anywhere.
    """

    # A '{' line that still does not parse after this much buffered text is not JSON.
    MAX_OBJECT = 64 * 1024 * 1024

    def __init__(self) -> None:
        self._buffer = ""
        self._json = json.JSONDecoder()

    def feed(self, text: str) -> list[dict[str, Any] | str]:
        """The complete objects (dicts) and text lines (str) in what has arrived so far."""
        self._buffer += text
        return self._drain(final=False)

    def flush(self) -> list[dict[str, Any] | str]:
        """Everything left at the end of the stream (an unfinished object becomes text)."""
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> list[dict[str, Any] | str]:
        out: list[dict[str, Any] | str] = []
        buffer = self._buffer
        pos = 0
        while pos < len(buffer):
            # Blank lines between objects carry nothing.
            if buffer[pos] in "\r\n":
                pos += 1
                continue
            start = pos
            while start < len(buffer) and buffer[start] in " \t":
                start += 1
            if start < len(buffer) and buffer[start] == "{":
                try:
                    obj, end = self._json.raw_decode(buffer, start)
                except json.JSONDecodeError:
                    if not final and len(buffer) - start < self.MAX_OBJECT:
                        break  # most likely cut mid-object: wait for the rest
                    obj, end = None, -1
                if isinstance(obj, dict):
                    out.append(obj)
                    pos = end
                    continue
            newline = buffer.find("\n", pos)
            if newline == -1:
                if not final:
                    break
                newline = len(buffer)
            out.append(buffer[pos:newline].rstrip("\r"))
            pos = newline + 1
        self._buffer = buffer[pos:]
        return out


class _Lines:
    """Complete lines of one vertex's output (a chunk may end mid-line)."""

    def __init__(self) -> None:
        self.partial = ""

    def feed(self, text: str) -> list[str]:
        text = self.partial + text
        lines = text.split("\n")
        self.partial = lines.pop()
        return [_last_carriage_segment(line) for line in lines]

    def flush(self) -> list[str]:
        tail, self.partial = self.partial, ""
        return [_last_carriage_segment(tail)] if tail else []


@dataclass
class Vertex:
    """What the parser knows of one vertex."""

    key: str
    name: str
    state: str = WAITING
    started: float | None = None
    completed: float | None = None
    error: str = ""
    order: int = 0

    @property
    def duration(self) -> float | None:
        """The daemon's measure of the vertex, once it completed."""
        if self.started is None or self.completed is None:
            return None
        return max(self.completed - self.started, 0.0)


class RawJsonParser:
    """Turns decoded ``rawjson`` objects into build events, one vertex at a time.

    Feed it with ``feed`` (objects or text lines from ``RawJsonDecoder``); each call returns
    the events that object produced. ``failure`` builds the final BuildError from what the
    stream said (the failing vertex, buildx's ERROR line, the Dockerfile excerpt).
    """

    def __init__(self, dockerfile_text: str = "") -> None:
        self.vertices: dict[str, Vertex] = {}
        self.text: list[str] = []
        self.dockerfile_text = dockerfile_text
        self._lines: dict[str, _Lines] = {}
        self._statuses_done: set[tuple[str, str]] = set()

    # -- feeding ---------------------------------------------------------------------------------

    def feed(self, item: dict[str, Any] | str) -> list[BuildEvent]:
        """The events for one decoded object (text lines are kept for ``failure``)."""
        if isinstance(item, str):
            if item.strip():
                self.text.append(item)
            return []
        events: list[BuildEvent] = []
        for raw in item.get("vertexes") or []:
            if isinstance(raw, dict):
                event = self._vertex(raw)
                if event is not None:
                    events.append(event)
        for raw in item.get("statuses") or []:
            if isinstance(raw, dict):
                events.extend(self._status(raw))
        for raw in item.get("logs") or []:
            if isinstance(raw, dict):
                events.extend(self._log(raw))
        for raw in item.get("warnings") or []:
            if isinstance(raw, dict):
                events.extend(self._warning(raw))
        return events

    def finish(self) -> list[BuildEvent]:
        """Lines still pending at the end of the stream."""
        events: list[BuildEvent] = []
        for key, lines in self._lines.items():
            tail = lines.flush()
            if tail:
                events.append(VertexLog(key, tuple(tail)))
        return events

    def _get(self, key: str, name: str) -> Vertex:
        vertex = self.vertices.get(key)
        if vertex is None:
            vertex = Vertex(key, name or key[:19], order=len(self.vertices))
            self.vertices[key] = vertex
        return vertex

    def _vertex(self, raw: dict[str, Any]) -> VertexUpdate | None:
        key = str(raw.get("digest") or "")
        if not key:
            return None
        name = str(raw.get("name") or "")
        known = key in self.vertices
        vertex = self._get(key, name)
        before = (vertex.name, vertex.state, vertex.duration, vertex.error)
        if name:
            vertex.name = name
        started = parse_time(str(raw.get("started") or ""))
        completed = parse_time(str(raw.get("completed") or ""))
        error = str(raw.get("error") or "")
        if started is not None:
            vertex.started = started
            vertex.completed = None
            vertex.state = RUNNING
        if completed is not None:
            vertex.completed = completed
            vertex.state = DONE
        if raw.get("cached"):
            vertex.state = CACHED
        if error:
            vertex.error = error
            vertex.state = CANCELLED if _is_cancel(error) else ERROR
        after = (vertex.name, vertex.state, vertex.duration, vertex.error)
        if known and after == before:
            return None
        return VertexUpdate(key, vertex.name, vertex.state, vertex.duration, vertex.error)

    def _status(self, raw: dict[str, Any]) -> list[BuildEvent]:
        # Progress of a transfer or an extraction: one line when it completes, not per tick.
        key = str(raw.get("vertex") or "")
        ident = str(raw.get("id") or raw.get("name") or "")
        if not key or not raw.get("completed") or (key, ident) in self._statuses_done:
            return []
        self._statuses_done.add((key, ident))
        self._get(key, "")
        current = int(raw.get("current") or 0)
        total = int(raw.get("total") or 0)
        amount = human_bytes(total if total else current) if (total or current) else ""
        return [VertexLog(key, (" ".join(p for p in (ident, amount, "done") if p),))]

    def _log(self, raw: dict[str, Any]) -> list[BuildEvent]:
        key = str(raw.get("vertex") or "")
        if not key:
            return []
        try:
            data = base64.b64decode(str(raw.get("data") or ""), validate=False)
        except (ValueError, TypeError):
            return []
        self._get(key, "")
        lines = self._lines.setdefault(key, _Lines()).feed(data.decode("utf-8", "replace"))
        return [VertexLog(key, tuple(lines))] if lines else []

    def _warning(self, raw: dict[str, Any]) -> list[BuildEvent]:
        key = str(raw.get("vertex") or "")
        short = raw.get("short")
        if not key or not short:
            return []
        try:
            text = base64.b64decode(str(short)).decode("utf-8", "replace")
        except (ValueError, TypeError):
            return []
        self._get(key, "")
        return [VertexLog(key, (f"WARNING: {text}",))]

    # -- the outcome -----------------------------------------------------------------------------

    @property
    def failed_vertex(self) -> Vertex | None:
        """The vertex that failed (the first one with an error that is not a cancel)."""
        failed = [v for v in self.vertices.values() if v.state == ERROR]
        return min(failed, key=lambda v: v.order) if failed else None

    def excerpt(self) -> tuple[str, ...]:
        """The Dockerfile excerpt buildx printed (``Dockerfile:3``, dashes, numbered lines)."""
        lines = self.text
        for index, line in enumerate(lines):
            if (
                _EXCERPT_HEAD.match(line)
                and index + 1 < len(lines)
                and _DASHES.match(lines[index + 1])
            ):
                out = [line]
                for following in lines[index + 2 :]:
                    if _DASHES.match(following):
                        break
                    out.append(following)
                return tuple(out)
        return ()

    def error_line(self) -> str:
        """buildx's own ``ERROR: ...`` line, without the prefix (the last one wins)."""
        found = ""
        for line in self.text:
            if line.startswith("ERROR: "):
                found = line[len("ERROR: ") :]
            elif line.startswith("ERROR:"):
                found = line[len("ERROR:") :].strip()
        return found

    def failure(self, returncode: int | None = None) -> BuildError:
        """A readable BuildError for a build that ended badly."""
        vertex = self.failed_vertex
        detail = self.error_line() or (vertex.error if vertex else "")
        if not detail:
            detail = "\n".join(self.text[-5:]) or f"docker buildx exited with {returncode}"
        code_match = _EXIT_CODE.search(detail)
        code = int(code_match[1]) if code_match else None
        message = explain_buildkit_error(
            detail, vertex.name if vertex else "", self.dockerfile_text
        )
        return BuildError(
            message,
            detail=detail,
            code=code,
            vertex=vertex.key if vertex else "",
            excerpt=self.excerpt(),
        )


def _is_cancel(error: str) -> bool:
    lowered = error.lower()
    return "context canceled" in lowered or "canceled" == lowered.strip()


_NETWORK = ("dial tcp", "no such host", "network is unreachable", "lookup ", "i/o timeout")


def explain_buildkit_error(detail: str, vertex_name: str, dockerfile_text: str = "") -> str:
    """A sentence for BuildKit's error text, naming the step and what to do."""
    text = detail.strip()
    for prefix in ("failed to solve: ", "rpc error: code = Unknown desc = "):
        text = text.removeprefix(prefix)
    lowered = text.lower()
    step = vertex_name.strip()
    if "frontend gateway" in lowered or step.startswith("resolve image config for"):
        image = step.removeprefix("resolve image config for").strip() or "its frontend image"
        if any(s in lowered for s in _NETWORK):
            return (
                f"The Dockerfile's '# syntax=' line asks BuildKit to fetch {image} from a "
                "registry, which cannot be reached (no network, or a proxy is needed). "
                "Remove that line to use the daemon's built-in Dockerfile frontend."
            )
    if step.startswith("[internal] load metadata for") or "failed to resolve source" in lowered:
        image = step.removeprefix("[internal] load metadata for").strip() or "the base image"
        if any(s in lowered for s in _NETWORK):
            reason = "the registry cannot be reached (no network, or a proxy is needed)"
        elif "not found" in lowered or "pull access denied" in lowered:
            reason = "it does not exist in the registry, or it needs a login"
        elif "unauthorized" in lowered or "denied" in lowered:
            reason = "the registry refused access (log in first)"
        else:
            reason = text
        return f"Cannot pull {image}: {reason}."
    parse_line = _PARSE_LINE.search(text)
    if parse_line:
        features = [f for f in buildkit_features(dockerfile_text) if "heredoc" in f]
        if features and "unknown instruction" in lowered:
            return (
                f"This daemon's built-in Dockerfile frontend does not understand {features[0]} "
                "(heredocs need Docker Engine 23 or newer): " + text
            )
        return f"The Dockerfile does not parse (line {parse_line[1]}): {text}"
    code = _EXIT_CODE.search(text)
    if step and code:
        return f"{step} failed: the command exited with code {code[1]}."
    if step:
        return f"{step} failed: {text}"
    return f"The build failed: {text}"


# -- the CLI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuilderInfo:
    """Which builder a build will use, in words the form shows."""

    buildkit: bool
    version: str = ""
    name: str = ""
    driver: str = ""
    reason: str = ""  # why BuildKit is not available (legacy only)

    @property
    def needs_load(self) -> bool:
        """Drivers other than ``docker`` keep results in their own store unless told --load."""
        return self.buildkit and self.driver not in ("", "docker")

    @property
    def description(self) -> str:
        """``BuildKit (buildx 0.13.1, builder default, docker driver)`` or the legacy line."""
        if self.buildkit:
            parts = [f"buildx {self.version}" if self.version else "buildx"]
            if self.name:
                parts.append(f"builder {self.name}")
            if self.driver:
                parts.append(f"{self.driver} driver")
            return f"BuildKit ({', '.join(parts)})"
        return f"legacy builder ({self.reason})" if self.reason else "legacy builder"


def docker_cli() -> str | None:
    """The docker CLI to run (``IMAGEDECK_DOCKER_CLI`` overrides PATH)."""
    explicit = os.environ.get("IMAGEDECK_DOCKER_CLI")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("docker")


class BuildKitMixin(ServiceBase):
    """BuildKit builds through buildx, and the daemon's build cache."""

    _builder_info: BuilderInfo | None = None

    # -- talking to the CLI ----------------------------------------------------------------------

    def cli_connection(self) -> tuple[list[str], dict[str, str]]:
        """Global docker CLI flags and environment that reach this service's daemon.

        A context is named with ``--context``; otherwise the host goes as ``--host`` with the
        TLS material docker-py uses, and DOCKER_HOST / DOCKER_CONTEXT are dropped from the
        environment so they cannot point the CLI elsewhere.
        """
        env = dict(os.environ)
        endpoint = self.endpoint
        if endpoint.context and endpoint.context != DEFAULT_CONTEXT:
            env.pop("DOCKER_HOST", None)
            env.pop("DOCKER_CONTEXT", None)
            return ["--context", endpoint.context], env
        env.pop("DOCKER_HOST", None)
        env.pop("DOCKER_CONTEXT", None)
        flags = ["--host", endpoint.host]
        tls = endpoint.tls
        if tls is not None:
            flags.append("--tlsverify" if getattr(tls, "verify", False) else "--tls")
            ca = getattr(tls, "ca_cert", None)
            if isinstance(ca, str):
                flags += ["--tlscacert", ca]
            cert = getattr(tls, "cert", None)
            if isinstance(cert, tuple) and len(cert) == 2:
                flags += ["--tlscert", str(cert[0]), "--tlskey", str(cert[1])]
        return flags, env

    def builder_info(self, *, refresh: bool = False) -> BuilderInfo:
        """Whether ``docker buildx`` works here, its version, builder and driver (cached)."""
        if self._builder_info is not None and not refresh:
            return self._builder_info
        self._builder_info = self._probe_builder()
        return self._builder_info

    def _probe_builder(self) -> BuilderInfo:
        choice = os.environ.get("IMAGEDECK_BUILDER", "auto").strip().lower() or "auto"
        if choice == "legacy":
            return BuilderInfo(False, reason="IMAGEDECK_BUILDER=legacy")
        info = self._probe_buildx()
        if choice == "buildkit" and not info.buildkit:
            # Asked for explicitly: say why it cannot be had rather than fall back quietly.
            return BuilderInfo(False, reason=f"IMAGEDECK_BUILDER=buildkit, but {info.reason}")
        return info

    def _probe_buildx(self) -> BuilderInfo:
        cli = docker_cli()
        if cli is None:
            return BuilderInfo(False, reason="no docker CLI on PATH")
        flags, env = self.cli_connection()
        try:
            version = subprocess.run(  # an argv list, no shell
                [cli, "buildx", "version"],
                capture_output=True,
                text=True,
                env=env,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return BuilderInfo(False, reason=f"docker buildx did not answer: {exc}")
        if version.returncode != 0:
            return BuilderInfo(False, reason="no docker buildx plugin")
        words = version.stdout.split()
        number = words[1] if len(words) > 1 else ""
        number = number.removeprefix("v").split("+", 1)[0]
        try:
            inspect = subprocess.run(  # an argv list, no shell
                [cli, *flags, "buildx", "inspect"],
                capture_output=True,
                text=True,
                env=env,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return BuilderInfo(False, reason=f"docker buildx inspect did not answer: {exc}")
        if inspect.returncode != 0:
            first = (inspect.stderr.strip().splitlines() or ["?"])[-1]
            return BuilderInfo(False, reason=f"docker buildx cannot use this daemon: {first}")
        name = driver = ""
        for line in inspect.stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Name" and not name:
                name = value.strip()
            elif key.strip() == "Driver" and not driver:
                driver = value.strip()
        return BuilderInfo(True, version=number, name=name, driver=driver)

    def buildx_argv(
        self, request: BuildRequest, info: BuilderInfo, iidfile: str
    ) -> tuple[list[str], dict[str, str]]:
        """The argv (and environment) of ``docker buildx build`` for ``request``."""
        cli = docker_cli() or "docker"
        flags, env = self.cli_connection()
        argv = [cli, *flags, "buildx", "build", "--progress=rawjson", "--iidfile", iidfile]
        argv += ["--file", str(request.dockerfile)]
        for tag in request.tag_texts:
            argv += ["--tag", tag]
        for key, value in request.buildargs.items():
            argv += ["--build-arg", f"{key}={value}"]
        for key, value in request.labels.items():
            argv += ["--label", f"{key}={value}"]
        if request.target:
            argv += ["--target", request.target]
        if request.platform:
            argv += ["--platform", request.platform]
        if request.nocache:
            argv.append("--no-cache")
        if request.pull:
            argv.append("--pull")
        if info.needs_load:
            argv.append("--load")
        # `--` so that a context path starting with '-' is not read as a flag.
        argv += ["--", str(request.context_dir)]
        return argv, env

    # -- the build -------------------------------------------------------------------------------

    def build_with(
        self,
        request: BuildRequest,
        cancel: threading.Event,
        builder: BuilderInfo | None = None,
    ) -> Iterator[BuildEvent]:
        """Build with BuildKit when ``builder`` (probed when None) has it, else the legacy way.

        The legacy builder's answer to a Dockerfile that needs BuildKit (``the --mount option
        requires BuildKit``, a heredoc read as an unknown instruction) becomes a sentence that
        names what needs BuildKit and why it is not used.
        """
        info = builder or self.builder_info()
        if info.buildkit:
            yield from self.build_buildkit(request, cancel, info)
            return
        try:
            text = request.dockerfile.read_text("utf-8", "replace")
        except OSError:
            text = ""
        needs = buildkit_features(text)
        legacy = self.build_request(request, cancel)
        for event in legacy:
            if isinstance(event, BuildError) and needs:
                event = dataclasses.replace(
                    event,
                    message=(
                        f"This Dockerfile needs BuildKit ({', '.join(needs)}), but the legacy "
                        f"builder was used ({info.reason or 'BuildKit is off'}). Install the "
                        "docker buildx plugin (Debian: docker-buildx) to build it."
                    ),
                )
            yield event

    def build_buildkit(
        self,
        request: BuildRequest,
        cancel: threading.Event,
        info: BuilderInfo | None = None,
    ) -> Iterator[BuildEvent]:
        """Build with BuildKit; a generator of events ending with exactly one terminal event."""
        info = info or self.builder_info()
        if not info.buildkit:
            yield BuildError(f"BuildKit is not available: {info.reason}.")
            return
        if cancel.is_set():
            yield BuildCancelled()
            return
        try:
            dockerfile_text = request.dockerfile.read_text("utf-8", "replace")
        except OSError:
            dockerfile_text = ""
        with tempfile.TemporaryDirectory(prefix="imagedeck-build-") as tmp:
            iidfile = os.path.join(tmp, "iid")
            argv, env = self.buildx_argv(request, info, iidfile)
            before = self._cache_ids()
            try:
                process = subprocess.Popen(  # an argv list, no shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=str(request.context_dir),
                    start_new_session=True,  # our SIGINT reaches buildx, not the terminal's
                )
            except OSError as exc:
                yield BuildError(f"Could not start docker buildx: {exc}", detail=str(exc))
                return
            _LIVE.add(process)
            try:
                yield from self._run_buildx(
                    process, request, cancel, dockerfile_text, iidfile, before
                )
            finally:
                _LIVE.discard(process)

    def _run_buildx(
        self,
        process: subprocess.Popen[bytes],
        request: BuildRequest,
        cancel: threading.Event,
        dockerfile_text: str,
        iidfile: str,
        before: set[str] | None,
    ) -> Iterator[BuildEvent]:
        # The build thread blocks reading buildx's stderr: the watcher stops buildx instead.
        watcher = CancelWatcher(cancel, lambda: _stop(process), name="buildx-cancel")
        stdout_lines: list[str] = []
        reader = threading.Thread(
            target=_collect, args=(process.stdout, stdout_lines), name="buildx-out", daemon=True
        )
        reader.start()
        decoder = RawJsonDecoder()
        parser = RawJsonParser(dockerfile_text)
        assert process.stderr is not None
        try:
            stream = process.stderr
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not chunk:
                    break
                for item in decoder.feed(chunk.decode("utf-8", "replace")):
                    yield from parser.feed(item)
            for item in decoder.flush():
                yield from parser.feed(item)
            yield from parser.finish()
            returncode = process.wait()
        finally:
            watcher.finish()
            if process.poll() is None:
                # The consumer stopped reading (the generator was closed): do not leave buildx.
                _stop(process)
            reader.join(timeout=5)
        if cancel.is_set():
            removed = self._prune_new_cache(before) if before is not None else []
            yield BuildCancelled(tuple(removed))
            return
        if returncode != 0:
            yield parser.failure(returncode)
            return
        if stdout_lines:
            yield BuildOutput(tuple(stdout_lines))
        try:
            image_id = Path(iidfile).read_text("utf-8").strip()
        except OSError:
            image_id = ""
        if not image_id:
            yield BuildError("buildx finished without reporting an image ID.")
            return
        yield BuildImageId(image_id)
        yield BuildSucceeded(image_id, request.tag_texts)

    def _cache_ids(self) -> set[str] | None:
        """IDs of the build cache records now (None when the daemon does not say)."""
        try:
            return {r.id for r in self.build_cache().records}
        except Exception:
            return None

    def _prune_new_cache(self, before: set[str]) -> list[str]:
        """Prune the cache records a cancelled build wrote (everything not there before).

        The daemon releases (and sometimes still commits) a cancelled build's records a moment
        after buildx exits: records still in use are tried again, and the cache is looked at
        until it has shown nothing new a few times in a row.
        """
        removed: list[str] = []
        deadline = time.monotonic() + CANCEL_WAIT
        quiet = 0
        while time.monotonic() < deadline:
            try:
                usage = self.build_cache()
            except Exception:
                return removed
            new = tuple(r for r in usage.records if r.id not in before)
            if not new:
                quiet += 1
                if quiet >= CANCEL_QUIET_LOOKS:
                    return removed
                time.sleep(0.25)
                continue
            quiet = 0
            plan = CachePrunePlan(None, tuple(_children_first(list(new))))
            try:
                result = self.prune_cache(plan)
            except Exception:
                return removed
            removed += [f"cache {i}" for i in result.deleted]
            time.sleep(0.2)
        return removed

    # -- the build cache -------------------------------------------------------------------------

    def build_cache(self) -> BuildCacheUsage:
        """The daemon's build cache records (``docker system df``'s Build Cache line)."""
        # read_df: one /system/df at a time per service, and another client's in progress
        # waited out (Engine 20.10 refuses a second one).
        with self.translate("read the build cache"):
            df = self.read_df()
        return BuildCacheUsage(
            tuple(_record(r) for r in df.get("BuildCache") or [] if isinstance(r, dict))
        )

    def plan_cache_prune(
        self, older_than: timedelta | None = None, now: datetime | None = None
    ) -> CachePrunePlan:
        """Exactly which cache records a prune removes, and what that frees."""
        usage = self.build_cache()
        return plan_cache_prune(usage, older_than, now or datetime.now(timezone.utc))

    def prune_cache(
        self,
        plan: CachePrunePlan,
        progress: Callable[[int, int], None] | None = None,
    ) -> CachePruneResult:
        """Remove exactly the plan's records (one ``/build/prune`` with an ``id`` filter each)."""
        deleted: list[str] = []
        reclaimed = 0
        errors: dict[str, str] = {}
        wanted = {r.id for r in plan.records}
        pending = list(plan.records)
        done = 0
        # A record whose child still exists is kept by the daemon. Engine 26 reports no parents
        # in /system/df, so the order cannot always be known: what was kept is tried again
        # once its children went, until a pass removes nothing more.
        while pending:
            kept: list[CacheRecord] = []
            for record in pending:
                try:
                    with self.translate(f"prune build cache {record.id}"):
                        result = self.api.prune_builds(filters={"id": [record.id]}, all=True)
                except Exception as exc:
                    errors[record.id] = str(exc)
                    continue
                got = [str(i) for i in (result or {}).get("CachesDeleted") or []]
                # The id filter matches by pattern: anything else it caught is reported too.
                deleted += got
                reclaimed += int((result or {}).get("SpaceReclaimed") or 0)
                if record.id in got:
                    done += 1
                    if progress is not None:
                        progress(done, len(plan.records))
                else:
                    kept.append(record)
            if len(kept) == len(pending):
                break
            pending = kept
        else:
            kept = []
        failed = [f"{i}: {e}" for i, e in errors.items()]
        failed += [f"{r.id}: the daemon kept it" for r in kept if r.id not in errors]
        extra = tuple(i for i in deleted if i not in wanted)
        return CachePruneResult(tuple(deleted), reclaimed, tuple(failed), extra)


# buildx runs in a session of its own (a Ctrl-C in the terminal is imagedeck's to handle), so
# it would outlive an imagedeck that exits mid-build: interrupt whatever is still running.
_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _stop_live_builds() -> None:
    for process in list(_LIVE):
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                process.send_signal(signal.SIGINT)
    for process in list(_LIVE):
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            process.wait(timeout=5)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                process.kill()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (buildx cancels the solve), then SIGKILL if it does not exit in time."""
    with contextlib.suppress(ProcessLookupError, OSError):
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + CANCEL_WAIT
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def _collect(stream: Any, into: list[str]) -> None:
    if stream is None:
        return
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line:
            into.append(line)


# -- the build cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheRecord:
    """One build cache record (``docker buildx du --verbose``)."""

    id: str
    type: str
    description: str
    size: int
    in_use: bool
    shared: bool
    created: datetime
    last_used: datetime | None
    usage_count: int
    parents: tuple[str, ...] = ()

    @property
    def idle_since(self) -> datetime:
        """When it was last used (its creation when it never was)."""
        return self.last_used or self.created


_EPOCH = datetime.fromtimestamp(0, timezone.utc)


def build_cache_size(df: Mapping[str, Any]) -> int | None:
    """The Build Cache SIZE of ``docker system df`` from a ``/system/df`` answer.

    None when the daemon reports no build cache at all (Podman); records shared with image
    layers are left out, as the CLI leaves them out (deleting them frees nothing).
    """
    records = df.get("BuildCache")
    if records is None:
        return None
    return sum(
        int(r.get("Size") or 0) for r in records if isinstance(r, dict) and not r.get("Shared")
    )


def _record(raw: Mapping[str, Any]) -> CacheRecord:
    parents = [str(p) for p in raw.get("Parents") or [] if p]
    if not parents and raw.get("Parent"):
        parents = [str(raw["Parent"])]
    created = parse_time(str(raw.get("CreatedAt") or ""))
    last_used = parse_time(str(raw.get("LastUsedAt") or ""))
    return CacheRecord(
        id=str(raw.get("ID") or ""),
        type=str(raw.get("Type") or ""),
        description=str(raw.get("Description") or ""),
        size=int(raw.get("Size") or 0),
        in_use=bool(raw.get("InUse")),
        shared=bool(raw.get("Shared")),
        created=datetime.fromtimestamp(created, timezone.utc) if created else _EPOCH,
        last_used=datetime.fromtimestamp(last_used, timezone.utc) if last_used else None,
        usage_count=int(raw.get("UsageCount") or 0),
        parents=tuple(parents),
    )


@dataclass(frozen=True)
class BuildCacheUsage:
    """All build cache records, with the sums ``docker system df`` prints.

    ``size`` leaves out records shared with image layers (deleting them frees nothing), as
    ``docker system df`` does; ``reclaimable`` also leaves out records in use.
    """

    records: tuple[CacheRecord, ...] = ()

    @property
    def size(self) -> int:
        """The Build Cache SIZE of ``docker system df``."""
        return sum(r.size for r in self.records if not r.shared)

    @property
    def reclaimable(self) -> int:
        """The Build Cache RECLAIMABLE of ``docker system df``."""
        return sum(r.size for r in self.records if not r.shared and not r.in_use)

    def unused_for(self, age: timedelta, now: datetime) -> int:
        """What records idle for at least ``age`` would free."""
        return sum(
            r.size
            for r in self.records
            if not r.shared and not r.in_use and r.idle_since <= now - age
        )


@dataclass(frozen=True)
class CachePrunePlan:
    """Exactly the records a cache prune removes (children before parents) and what it frees."""

    older_than: timedelta | None
    records: tuple[CacheRecord, ...]
    kept_in_use: int = 0
    kept_for_children: int = 0

    @property
    def freed(self) -> int:
        """Bytes the prune frees (shared records free nothing)."""
        return sum(r.size for r in self.records if not r.shared)


@dataclass(frozen=True)
class CachePruneResult:
    """What ``prune_cache`` removed: IDs, the daemon's reclaimed bytes, what it kept."""

    deleted: tuple[str, ...]
    reclaimed: int
    failed: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


def _children_first(records: Sequence[CacheRecord]) -> list[CacheRecord]:
    """Records ordered so that each comes before its parents (a parent with children stays)."""
    by_id = {r.id: r for r in records}
    depth: dict[str, int] = {}

    def level(record: CacheRecord, seen: frozenset[str] = frozenset()) -> int:
        if record.id in depth:
            return depth[record.id]
        parents = [by_id[p] for p in record.parents if p in by_id and p not in seen]
        value = 1 + max((level(p, seen | {record.id}) for p in parents), default=-1)
        depth[record.id] = value
        return value

    return sorted(records, key=lambda r: (-level(r), r.id))


def plan_cache_prune(
    usage: BuildCacheUsage, older_than: timedelta | None, now: datetime
) -> CachePrunePlan:
    """Records not in use and idle for ``older_than`` (all unused ones when None).

    A record whose child stays (in use, or too recent) stays too: the daemon would refuse it.
    """
    cutoff = now - older_than if older_than is not None else None
    picked = {
        r.id: r
        for r in usage.records
        if not r.in_use and (cutoff is None or r.idle_since <= cutoff)
    }
    in_use = sum(1 for r in usage.records if r.in_use)
    kept_for_children: set[str] = set()
    changed = True
    while changed:
        changed = False
        for record in usage.records:
            if record.id in picked:
                continue
            for parent in record.parents:
                if parent in picked:
                    del picked[parent]
                    kept_for_children.add(parent)
                    changed = True
    return CachePrunePlan(
        older_than,
        tuple(_children_first(list(picked.values()))),
        kept_in_use=in_use,
        kept_for_children=len(kept_for_children),
    )


__all__ = [
    "BuildCacheUsage",
    "BuildKitMixin",
    "BuilderInfo",
    "CachePrunePlan",
    "CachePruneResult",
    "CacheRecord",
    "RawJsonDecoder",
    "RawJsonParser",
    "buildkit_features",
    "explain_buildkit_error",
    "plan_cache_prune",
]
