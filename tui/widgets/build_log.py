"""The build log: a bounded model of a build's output and a Line-API widget that shows it.

``BuildLogModel`` is plain Python (no Textual): it takes the service's build events in batches,
groups lines by step, keeps at most ``PER_STEP`` lines per step and ``TOTAL`` overall (the
oldest go first, and a marker row says how many), and records per-step times.

``BuildLog`` renders only the visible rows (Textual's Line API), so a 100,000-line build costs
what a screenful costs. Step headers are highlighted and collapsible, errors are red with a
symbol, search matches are highlighted, and the view follows new output until the user
scrolls up; it follows again once they are back at the bottom.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui import format as fmt
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


def _state_label(step: StepLog, now: float) -> str:
    """The right side of a BuildKit step's header: its state and its own time."""
    if step.state == "waiting":
        return "waiting"
    if step.state == "cached":
        return "CACHED"
    took = elapsed(step.duration(now))
    if step.state == "running":
        return f"● {took}"
    if step.state == "error":
        return f"✖ {took}"
    if step.state == "cancelled":
        return f"⊘ {took}"
    return took


@dataclass(frozen=True)
class Row:
    """What one screen row of the log shows."""

    kind: str  # "header", "dropped", "line", "error", "excerpt"
    step: int  # index into model.steps
    text: str


class BuildLog(ScrollView, can_focus=True):
    """The live build log (Line API: renders only what is on screen)."""

    COMPONENT_CLASSES = {
        "build-log--header",
        "build-log--selected",
        "build-log--error",
        "build-log--note",
        "build-log--match",
    }

    DEFAULT_CSS = """
    BuildLog {
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .build-log--header { color: $accent; text-style: bold; }
        & > .build-log--selected { background: $accent 30%; }
        & > .build-log--error { color: $error; text-style: bold; }
        & > .build-log--note { color: $text-muted; text-style: italic; }
        & > .build-log--match { background: $warning 60%; color: $text; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "right_square_bracket",
            "step(1)",
            "Next step",
            id="build_log.next_step",
            tooltip="Move to the next step header",
            key_display="]",
        ),
        Binding(
            "left_square_bracket",
            "step(-1)",
            "Prev step",
            id="build_log.prev_step",
            tooltip="Move to the previous step header",
            key_display="[",
        ),
        Binding(
            "space,enter",
            "fold",
            "Fold",
            id="build_log.toggle",
            tooltip="Fold / unfold the selected step",
            key_display="space",
        ),
        Binding(
            "z",
            "toggle_all",
            "Fold all",
            id="build_log.toggle_all",
            tooltip="Fold or unfold every step",
            show=False,
        ),
        Binding(
            "e",
            "goto_error",
            "Error",
            id="build_log.error",
            tooltip="Jump to the error",
            show=False,
        ),
        Binding("up,k", "scroll_up", "Up", show=False, id="build_log.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="build_log.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="build_log.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="build_log.page_down"),
        Binding("home,g", "scroll_home", "Top", show=False, id="build_log.home"),
        Binding(
            "end,G",
            "follow",
            "Follow",
            id="build_log.follow",
            tooltip="Jump to the end and follow new output",
            key_display="G",
        ),
    ]

    class FollowChanged(Message):
        """Following switched on or off (the screen says so in its header)."""

        def __init__(self, follow: bool) -> None:
            super().__init__()
            self.follow = follow

    def __init__(
        self,
        model: BuildLogModel,
        *,
        clock: Callable[[], float],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.clock = clock
        self.follow = True
        self.selected = 0  # index into model.steps
        self.search = ""
        self._rows: list[Row] | None = None
        self._offsets: list[int] = []
        self._row_count = 0

    # -- layout --------------------------------------------------------------------------------

    def _layout(self) -> None:
        """Row offsets per step; rows are materialized lazily in ``_row``."""
        offsets = []
        count = 0
        width = max(self.scrollable_content_region.width, 20)
        for step in self.model.steps:
            offsets.append(count)
            count += self._step_rows(step, width)
        self._offsets = offsets
        self._row_count = count

    def _step_rows(self, step: StepLog, width: int) -> int:
        rows = 1 if step.number else 0
        if not step.collapsed or not step.number:
            rows += (1 if step.dropped else 0) + len(step.lines)
        rows += len(self._error_rows(step, width)) + len(step.excerpt)
        return rows

    def _error_rows(self, step: StepLog, width: int) -> list[str]:
        rows: list[str] = []
        for i, line in enumerate(step.error):
            prefix = "✖ " if i == 0 else "  "
            rows.extend(
                textwrap.wrap(line, width - 1, initial_indent=prefix, subsequent_indent="  ")
                or [prefix]
            )
        return rows

    def _row(self, y: int) -> Row | None:
        if y < 0 or y >= self._row_count:
            return None
        index = bisect_right(self._offsets, y) - 1
        step = self.model.steps[index]
        local = y - self._offsets[index]
        if step.number:
            if local == 0:
                return Row("header", index, step.header)
            local -= 1
        if not step.collapsed or not step.number:
            if step.dropped:
                if local == 0:
                    return Row(
                        "dropped",
                        index,
                        f"… {step.dropped:,} earlier lines of this step were not kept",
                    )
                local -= 1
            if local < len(step.lines):
                return Row("line", index, step.lines[local])
            local -= len(step.lines)
        errors = self._error_rows(step, max(self.scrollable_content_region.width, 20))
        if 0 <= local < len(errors):
            return Row("error", index, errors[local])
        local -= len(errors)
        if 0 <= local < len(step.excerpt):
            return Row("excerpt", index, step.excerpt[local])
        return None

    def header_row(self, index: int) -> int:
        """The row of step ``index``'s header (or its first row)."""
        return self._offsets[index] if index < len(self._offsets) else 0

    def rows_changed(self) -> None:
        """The model changed: re-layout, and follow the end unless the user scrolled up."""
        self._layout()
        width = self.scrollable_content_region.width or self.size.width
        self.virtual_size = Size(width, self._row_count)
        if self.follow:
            self.scroll_to(
                y=max(0, self._row_count - self.scrollable_content_region.height),
                animate=False,
                immediate=True,
            )
        self.refresh()

    def on_resize(self) -> None:
        """Error rows wrap to the width."""
        self.rows_changed()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolling up stops following; reaching the bottom again resumes it."""
        super().watch_scroll_y(old_value, new_value)
        follow = new_value >= self.max_scroll_y
        if follow != self.follow:
            self.follow = follow
            self.post_message(self.FollowChanged(follow))

    # -- rendering -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """One screen row."""
        width = self.scrollable_content_region.width
        row = self._row(int(self.scroll_y) + y)
        base = self.rich_style
        if row is None:
            return Strip.blank(width, base)
        if row.kind == "header":
            step = self.model.steps[row.step]
            mark = "▸" if step.collapsed else "▾"
            status = "✖ " if step.failed else ""
            hidden = (
                f"  ({fmt.plural(len(step.lines), 'line')})"
                if step.collapsed and step.lines
                else ""
            )
            right = f"{status}{elapsed(step.duration(self.clock()))}"
            if step.key:
                right = _state_label(step, self.clock())
            left = f"{mark} {row.text}{hidden}"
            room = max(width - len(right) - 1, 1)
            if len(left) > room:
                left = left[: max(room - 1, 0)] + "…"
            text = left.ljust(room) + " " + right
            style = base + self.get_component_rich_style("build-log--header")
            if step.failed:
                style += self.get_component_rich_style("build-log--error")
            if row.step == self.selected:
                style += self.get_component_rich_style("build-log--selected")
            return Strip([Segment(text[:width].ljust(width), style)], width)
        if row.kind == "error":
            style = base + self.get_component_rich_style("build-log--error")
            return Strip([Segment(row.text[:width].ljust(width), style)], width)
        if row.kind in ("dropped", "excerpt"):
            style = base + self.get_component_rich_style("build-log--note")
            return Strip([Segment(row.text[:width].ljust(width), style)], width)
        return self._line_strip(row.text, width, base)

    def _line_strip(self, text: str, width: int, base: Style) -> Strip:
        text = text.expandtabs(8)
        if len(text) > width:
            text = text[: max(width - 1, 0)] + "…"
        if not self.search or self.search.lower() not in text.lower():
            return Strip([Segment(text.ljust(width), base)], width)
        match_style = base + self.get_component_rich_style("build-log--match")
        segments: list[Segment] = []
        lowered, needle = text.lower(), self.search.lower()
        pos = 0
        while (found := lowered.find(needle, pos)) != -1:
            if found > pos:
                segments.append(Segment(text[pos:found], base))
            segments.append(Segment(text[found : found + len(needle)], match_style))
            pos = found + len(needle)
        segments.append(Segment(text[pos:].ljust(width - pos), base))
        return Strip(segments, width)

    # -- steps ---------------------------------------------------------------------------------

    def _numbered(self) -> list[int]:
        return [i for i, s in enumerate(self.model.steps) if s.number]

    def select_step(self, index: int, *, scroll: bool = True) -> None:
        """Select step ``index`` and bring its header into view."""
        self.selected = index
        if scroll:
            self.scroll_to(y=self.header_row(index), animate=False, immediate=True)
        self.refresh()

    def action_step(self, delta: int) -> None:
        """Select the next / previous step header."""
        numbered = self._numbered()
        if not numbered:
            return
        if self.selected not in numbered:
            self.select_step(numbered[0] if delta > 0 else numbered[-1])
            return
        position = numbered.index(self.selected) + delta
        self.select_step(numbered[max(0, min(position, len(numbered) - 1))])

    def action_fold(self) -> None:
        """Fold or unfold the selected step."""
        if not self.model.steps[self.selected].number:
            self.action_step(1)
            return
        step = self.model.steps[self.selected]
        step.collapsed = not step.collapsed
        follow, self.follow = self.follow, False
        self.rows_changed()
        self.scroll_to(y=self.header_row(self.selected), animate=False, immediate=True)
        self.follow = follow and self.scroll_y >= self.max_scroll_y

    def action_toggle_all(self) -> None:
        """Fold every step, or unfold them all when all are folded."""
        numbered = [s for s in self.model.steps if s.number]
        fold = not all(s.collapsed for s in numbered)
        for step in numbered:
            step.collapsed = fold and not step.failed
        self.rows_changed()

    def action_goto_error(self) -> None:
        """Open and select the failing step and show its error at the bottom."""
        for index, step in enumerate(self.model.steps):
            if step.failed:
                step.collapsed = False
                self.selected = index
                self.follow = True
                self.rows_changed()
                return

    def action_follow(self) -> None:
        """Jump to the end and follow new output."""
        self.follow = True
        self.rows_changed()
        self.post_message(self.FollowChanged(True))

    def on_click(self, event: Click) -> None:
        """A click on a step header folds or unfolds it."""
        row = self._row(int(self.scroll_y) + event.y)
        if row is not None and row.kind == "header":
            self.selected = row.step
            self.action_fold()

    # -- search --------------------------------------------------------------------------------

    def find(self, text: str, *, forward: bool = True, start: int | None = None) -> bool:
        """Highlight ``text`` and move to its next (previous) match; False when none."""
        self.search = text
        self.refresh()
        if not text:
            return False
        needle = text.lower()
        # Search every kept line, folded steps included (a match unfolds its step).
        hits: list[tuple[int, int]] = []
        for index, step in enumerate(self.model.steps):
            if needle in step.header.lower() and step.number:
                hits.append((index, -1))
            for number, line in enumerate(step.lines):
                if needle in line.lower():
                    hits.append((index, number))
        if not hits:
            return False
        # Order by position in the log (folded steps included), from the middle of the view,
        # where the previous match was put.
        here = self._logical_at(
            int(self.scroll_y) + self.scrollable_content_region.height // 2
            if start is None
            else start
        )
        if forward:
            later = [h for h in hits if h > here]
            target = later[0] if later else hits[0]
        else:
            earlier = [h for h in hits if h < here]
            target = earlier[-1] if earlier else hits[-1]
        index, number = target
        step = self.model.steps[index]
        if step.collapsed:
            step.collapsed = False
            self._layout()
            self.virtual_size = Size(self.virtual_size.width, self._row_count)
        self.selected = index
        self.follow = False
        row = self._hit_row(index, number)
        self.scroll_to(
            y=max(0, row - self.scrollable_content_region.height // 2),
            animate=False,
            immediate=True,
        )
        self.refresh()
        return True

    def _logical_at(self, y: int) -> tuple[int, int]:
        """(step index, line number; -1 for the header) of screen row ``y``."""
        if not self._offsets:
            return (0, -1)
        y = max(0, min(y, self._row_count - 1))
        index = bisect_right(self._offsets, y) - 1
        local = y - self._offsets[index]
        step = self.model.steps[index]
        if step.number:
            local -= 1
        if step.dropped and not step.collapsed:
            local -= 1
        return (index, min(max(local, -1), len(step.lines)))

    def _hit_row(self, index: int, number: int) -> int:
        step = self.model.steps[index]
        row = self.header_row(index)
        if number < 0:
            return row
        row += 1 if step.number else 0
        row += 1 if step.dropped else 0
        return row + number
