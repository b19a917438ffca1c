"""BuildKit's ``rawjson`` progress stream, parsed (no docker, no subprocess: pure).

``RawJsonDecoder`` splits buildx's stderr into JSON objects and the plain text buildx prints
after them (``ERROR: ...`` and the Dockerfile excerpt of the failing step); ``RawJsonParser``
turns the objects into the typed events the log pane shows (``VertexUpdate`` / ``VertexLog``
per vertex); ``explain_buildkit_error`` makes BuildKit's error text a sentence;
``buildkit_features`` says what in a Dockerfile only BuildKit builds. The builds themselves
run in ``tui/service/buildkit.py``.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.service.build_events import (
    BuildError,
    BuildEvent,
    LineSplitter,
    VertexLog,
    VertexUpdate,
    pull_failure,
)

WAITING, RUNNING, CACHED, DONE, ERROR, CANCELLED = (
    "waiting",
    "running",
    "cached",
    "done",
    "error",
    "cancelled",
)

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
        self._lines: dict[str, LineSplitter] = {}
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
        lines = self._lines.setdefault(key, LineSplitter()).feed(data.decode("utf-8", "replace"))
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
        return pull_failure(
            image, text, network=_NETWORK, missing=("not found", "pull access denied")
        )
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
