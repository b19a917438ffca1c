"""A build's log as plain Python (no Textual): the model the build log widget draws.

``BuildLogModel`` takes the service's build events in batches, groups lines by step, keeps at
most ``PER_STEP`` lines per step and ``TOTAL`` overall (the oldest go first, and a marker row
says how many), and records per-step times. ``tui/widgets/build_log.py`` draws it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from tui.safe_text import scrub, visible_log_line
from tui.service.build import (
    BuildCancelled,
    BuildError,
    BuildEvent,
    BuildImageId,
    BuildOutput,
    BuildStep,
    BuildSucceeded,
    BuildTagged,
    VertexLog,
    VertexUpdate,
)

PER_STEP = 20_000
TOTAL = 60_000

RUNNING, SUCCEEDED, FAILED, CANCELLED = "running", "succeeded", "failed", "cancelled"


def elapsed(seconds: float) -> str:
    """``4.2s`` under a minute, ``3:07`` (m:ss) above."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


@dataclass
class StepLog:
    """One step's header, its most recent lines and its times (``number`` 0: before step 1)."""

    number: int
    total: int
    instruction: str
    started: float
    ended: float | None = None
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=PER_STEP))
    dropped: int = 0
    collapsed: bool = False
    failed: bool = False
    error: list[str] = field(default_factory=list)
    # BuildKit: the vertex digest, its state (waiting/running/cached/done/error/cancelled) and
    # the Dockerfile excerpt buildx printed when it failed. Empty for the legacy builder.
    key: str = ""
    state: str = ""
    excerpt: list[str] = field(default_factory=list)

    @property
    def header(self) -> str:
        """``Step 3/7 : RUN make`` (legacy) or the vertex name (``[2/4] RUN make``)."""
        if self.key:
            return self.instruction
        return f"Step {self.number}/{self.total} : {self.instruction}"

    @property
    def finished(self) -> bool:
        """A BuildKit step that will not change any more."""
        return self.state in ("cached", "done", "error", "cancelled")

    def duration(self, now: float) -> float:
        """Seconds this step took (so far, while it runs)."""
        return (self.ended if self.ended is not None else now) - self.started


def _safe_event(event: BuildEvent) -> BuildEvent:
    """``event`` with its text made visible: log lines lose colours and keep tabs."""
    lines = getattr(event, "lines", None)  # output of a step (classic) or a vertex (BuildKit)
    if isinstance(lines, tuple):
        shown = tuple(visible_log_line(line) for line in lines)
        return replace(event, lines=shown)  # type: ignore[arg-type]
    return scrub(event, keep_newlines=True, keep_tabs=False)


class BuildLogModel:
    """A build's output grouped by step, bounded in memory; fed by ``apply``."""

    def __init__(self, started: float, per_step: int = PER_STEP, total: int = TOTAL) -> None:
        self.started = started
        self.ended: float | None = None
        self.per_step = per_step
        self.total_cap = total
        self.steps: list[StepLog] = [self._new_step(0, 0, "", started)]
        self.line_count = 0
        self.status = RUNNING
        self.image_id = ""
        self.tags: list[str] = []
        self.error: BuildError | None = None
        self.removed: tuple[str, ...] = ()
        self.by_key: dict[str, StepLog] = {}  # BuildKit vertices, in the order they started
        # Vertices BuildKit announced but has not started: counted, shown once they start (as
        # `docker buildx build` does), so the steps appear in the order they run.
        self.waiting: dict[str, str] = {}

    @property
    def buildkit(self) -> bool:
        """True once BuildKit vertices arrived (steps are keyed, not sequential)."""
        return bool(self.by_key or self.waiting)

    @property
    def active(self) -> StepLog:
        """The step to name in the header: the latest running vertex, else the last step."""
        if self.by_key:
            running = [s for s in self.by_key.values() if s.state == "running"]
            if running:
                return max(running, key=lambda s: s.started)
        return self.current

    def counter(self) -> tuple[int, int, int]:
        """BuildKit: (finished, known, cached) vertex counts for the header."""
        steps = list(self.by_key.values())
        finished = sum(1 for s in steps if s.finished)
        cached = sum(1 for s in steps if s.state == "cached")
        return finished, len(steps) + len(self.waiting), cached

    def _new_step(self, number: int, total: int, instruction: str, at: float) -> StepLog:
        return StepLog(number, total, instruction, at, lines=deque(maxlen=self.per_step))

    @property
    def current(self) -> StepLog:
        """The step output goes to now."""
        return self.steps[-1]

    @property
    def failed_step(self) -> StepLog | None:
        """The step that failed, if any."""
        return next((s for s in self.steps if s.failed), None)

    def duration(self, now: float) -> float:
        """Seconds the build took (so far)."""
        return (self.ended if self.ended is not None else now) - self.started

    def apply(self, events: Iterable[tuple[float, BuildEvent]]) -> None:
        """Apply a batch of (monotonic time, event) pairs in order.

        Every event is made safe here, the one way build output enters the UI: RUN steps print
        whatever they like, and the log draws its lines as raw segments.
        """
        for at, raw_event in events:
            event = _safe_event(raw_event)
            if isinstance(event, BuildOutput):
                self._add_lines(event.lines)
            elif isinstance(event, BuildStep):
                self.current.ended = at
                self.steps.append(self._new_step(event.number, event.total, event.instruction, at))
            elif isinstance(event, VertexUpdate):
                self._vertex(at, event)
            elif isinstance(event, VertexLog):
                self._add_lines(event.lines, self._keyed(event.key, "", at))
            elif isinstance(event, BuildImageId):
                self.image_id = event.image_id
            elif isinstance(event, BuildTagged):
                self._add_lines((f"Tagged {event.tag}",))
            elif isinstance(event, BuildSucceeded):
                self._finish(at, SUCCEEDED)
                self.image_id = event.image_id
                self.tags = list(event.tags)
            elif isinstance(event, BuildCancelled):
                self._finish(at, CANCELLED)
                self.removed = event.removed
                self._add_lines(("⊘ Build cancelled.",))
            elif isinstance(event, BuildError):
                self._fail(at, event)
        self._trim()

    def _keyed(self, key: str, name: str, at: float) -> StepLog:
        step = self.by_key.get(key)
        if step is None:
            name = name or self.waiting.get(key, "")
            self.waiting.pop(key, None)
            step = self._new_step(len(self.by_key) + 1, 0, name or key[:19], at)
            step.key = key
            step.state = "waiting"
            # BuildKit's bookkeeping steps (loading the Dockerfile, the context) start folded.
            step.collapsed = name.startswith("[internal]")
            self.by_key[key] = step
            self.steps.append(step)
            for other in self.by_key.values():
                other.total = len(self.by_key)
        return step

    def _vertex(self, at: float, event: VertexUpdate) -> None:
        if event.state == "waiting" and event.key not in self.by_key:
            self.waiting[event.key] = event.name
            return
        step = self._keyed(event.key, event.name, at)
        if event.name:
            step.instruction = event.name
        if event.state == "running" and step.state != "running":
            step.started, step.ended = at, None
        elif event.state != "running" and event.state != "waiting":
            if step.state == "waiting":
                step.started = at  # first seen finished (cached): no time of ours to go by
            if event.duration is not None:
                step.ended = step.started + event.duration
            elif step.ended is None:
                step.ended = at
        step.state = event.state
        if event.state == "error" and event.error:
            step.failed = True
            step.collapsed = False
            if event.error not in step.error:
                step.error.append(event.error)

    def _add_lines(self, lines: Iterable[str], step: StepLog | None = None) -> None:
        step = step or self.current
        before = len(step.lines)
        incoming = list(lines)
        step.lines.extend(incoming)
        # A deque with maxlen drops from the left silently; count what went.
        step.dropped += max(0, before + len(incoming) - self.per_step)
        self.line_count += len(step.lines) - before

    def _trim(self) -> None:
        # The overall cap: drop the oldest lines of the oldest steps first.
        for step in self.steps:
            if self.line_count <= self.total_cap:
                return
            excess = min(self.line_count - self.total_cap, len(step.lines))
            for _ in range(excess):
                step.lines.popleft()
            step.dropped += excess
            self.line_count -= excess

    def _finish(self, at: float, status: str) -> None:
        self.current.ended = self.current.ended or at
        for step in self.by_key.values():
            if step.state in ("running", "waiting"):
                step.ended = step.ended or at
                if status == CANCELLED and step.state == "running":
                    step.state = "cancelled"
        self.ended = at
        self.status = status

    def _fail(self, at: float, error: BuildError) -> None:
        self._finish(at, FAILED)
        self.error = error
        step = self.by_key.get(error.vertex) if error.vertex else None
        if step is None:
            step = self.current
        step.failed = True
        step.collapsed = False
        step.error = [error.message]
        if error.detail and error.detail not in error.message:
            step.error.append(f"{'buildx' if self.by_key else 'daemon'}: {error.detail}")
        # BuildKit's excerpt of the Dockerfile around the failing line, shown under the error.
        step.excerpt = list(error.excerpt)
        # The failing step is what matters now: fold the others away.
        for other in self.steps:
            if other is not step and other.number:
                other.collapsed = True

    def text(self) -> str:
        """The whole kept log as plain text (what `save` writes)."""
        out: list[str] = []
        for step in self.steps:
            if step.number:
                out.append(step.header)
            if step.dropped:
                out.append(f"… {step.dropped:,} earlier lines of this step were not kept")
            out.extend(step.lines)
            out.extend(f"ERROR: {line}" for line in step.error)
            out.extend(step.excerpt)
        return "\n".join(out) + "\n"
