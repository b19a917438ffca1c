"""The build log: a bounded model of a build's output and a Line-API widget that shows it.

``BuildLogModel`` is plain Python (no Textual), in ``tui/build_log_model.py``: it takes the
service's build events in batches, groups lines by step, keeps at most ``PER_STEP`` lines per
step and ``TOTAL`` overall, and records per-step times. This module re-exports it and the
status names for the code that imports them from here.

``BuildLog`` renders only the visible rows (Textual's Line API), so a 100,000-line build costs
what a screenful costs. Step headers are highlighted and collapsible, errors are red with a
symbol, search matches are highlighted, and the view follows new output until the user
scrolls up; it follows again once they are back at the bottom.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
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
from tui.build_log_model import (
    CANCELLED,
    FAILED,
    PER_STEP,
    RUNNING,
    SUCCEEDED,
    TOTAL,
    BuildLogModel,
    StepLog,
    elapsed,
)


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


__all__ = [
    "CANCELLED",
    "FAILED",
    "PER_STEP",
    "RUNNING",
    "SUCCEEDED",
    "TOTAL",
    "BuildLog",
    "BuildLogModel",
    "Row",
    "StepLog",
    "elapsed",
]
