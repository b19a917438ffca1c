"""`D`: the disk map. Space by repository as bars, ncdu-like, sorted by what deleting frees.

Three levels: repositories → a repository's tags (created, last used, containers, unique) → an
image's layers and which other images hold each. Marks are the list's marks (the same row
keys), so what is marked here is marked on the list and the other way round; ``d`` opens the
same delete dialog. Figures come from :mod:`tui.diskmap_model` (the service's one "what
deleting this frees" computation); they are df estimates until the layers have loaded.

The list (``BarList``, :mod:`tui.widgets.bar_list`) draws only the visible lines, so 10,000
tags open at once; the figures are computed in a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Static

from tui import format as fmt
from tui.diskmap_model import UNTAGGED, DiskMap, Entry, build_map, layer_entries, tag_entries
from tui.listmodel import row_key
from tui.safe_text import visible
from tui.screens.base import BaseScreen, follow_daemon_events, stop_following_daemon_events
from tui.service.models import Image, with_usage
from tui.widgets.bar_list import BarList, Level

if TYPE_CHECKING:
    from tui.screens.list_host import ImageListHost
    from tui.service.models import DaemonEvent

# Lines that are not images (the build cache) come from these: each takes the service and
# returns Entry(kind="extra", ...) lines, drawn among the repositories by what they free.
EXTRA_SOURCES: list[Callable[[Any], list[Entry]]] = []
BUILD_CACHE_KEY = "build-cache"


def build_cache_lines(service: Any) -> list[Entry]:
    """The build cache as one line: FREES is what a prune of the unused records frees (the
    figure `docker system df` calls reclaimable), LOGICAL its whole size. None without one."""
    from tui.service.errors import ImagedeckError

    read = getattr(service, "build_cache", None)
    if read is None:
        return []
    try:
        usage = read()
    except ImagedeckError:
        return []
    if not usage.records:
        return []
    return [
        Entry(
            "extra",
            "build cache (enter: prune it)",
            usage.reclaimable,
            True,
            usage.size,
            count=len(usage.records),
            key=BUILD_CACHE_KEY,
        )
    ]


EXTRA_SOURCES.append(build_cache_lines)
RELOAD_QUIET = 0.5


class MapReady(Message):
    """The map's figures (``exact``: after the layers loaded)."""

    def __init__(self, disk_map: DiskMap, final: bool) -> None:
        super().__init__()
        self.disk_map = disk_map
        self.final = final


class DiskMapScreen(BaseScreen[None]):
    """Where the space goes: repositories, their tags, an image's layers."""

    CSS_PATH = "diskmap.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,right,l", "open", "Open", id="diskmap.open", tooltip="Open the line"),
        Binding("backspace,left,h", "up", "Up", id="diskmap.up", tooltip="One level up"),
        Binding("space", "mark", "Mark", id="diskmap.mark", tooltip="Mark (shared with list)"),
        Binding("d", "delete", "Delete", id="diskmap.delete", tooltip="Delete marked rows"),
        Binding("A", "clear_marks", "Clear marks", id="diskmap.clear_marks", show=False),
        Binding("R", "reload", "Reload", id="diskmap.reload", show=False),
        Binding("escape,q", "back", "Back", id="diskmap.back", tooltip="Up, or back to the list"),
    ]

    def __init__(self, images_screen: ImageListHost) -> None:
        super().__init__()
        self.images_screen = images_screen  # the list whose marks this map shares
        self.disk_map: DiskMap | None = None
        self.final = False
        self.levels: list[Level] = []
        self._reload_timer: Timer | None = None
        self.opened_at = time.perf_counter()
        self.first_content_at: float | None = None
        self.final_at: float | None = None
        self._ages_drawn: tuple[str, ...] = ()  # the ages on screen at the last look

    def compose(self) -> ComposeResult:
        """Header, path, column header, the bars, status, footer."""
        yield Static("Disk map", id="diskmap-header", markup=False)
        yield Static("", id="diskmap-path", markup=False)
        yield Static("", id="diskmap-columns", markup=False)
        yield BarList(self, id="diskmap-list")
        yield Static("Computing…", id="diskmap-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Start from the images the list holds; the layers load behind."""
        self.query_one(BarList).focus()
        images = list(self.images_screen.listed_images())
        self.load(images)
        follow_daemon_events(self, self.daemon_changed)
        self.set_interval(fmt.AGE_CHECK_SECONDS, self.refresh_ages)

    def on_unmount(self) -> None:
        """No more daemon events once the map is closed."""
        stop_following_daemon_events(self)

    # -- loading -------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="diskmap", exit_on_error=False)
    def load(self, images: list[Image] | None = None) -> None:
        """Figures from the list's images (df estimates), then layer-exact from the daemon."""
        service = self.service if self.has_service else None
        if images is None:
            if service is None:
                return
            images = with_usage(service.list_images(), service.disk_usage())
        elif images:
            self.post_message(MapReady(build_map(images, {}), False))
        if service is None:
            return
        layers = service.layers_for(images, [i.id for i in images])
        extras = [line for source in EXTRA_SOURCES for line in source(service)]
        self.post_message(MapReady(build_map(images, layers, extras), True))

    def on_map_ready(self, message: MapReady) -> None:
        """Show the figures, keeping the level and the cursor on the same entries."""
        if self.final and not message.final:
            return
        self.disk_map = message.disk_map
        self.final = message.final
        path = [(level.parent_key, level.cursor) for level in self.levels]
        keys = [self._key_at(level) for level in self.levels]
        self.levels = [self._top_level()]
        for (parent_key, _), _key in zip(path[1:], keys[1:], strict=True):
            current = self.levels[-1]
            found = next((e for e in current.entries if e.key == parent_key), None)
            if found is None:
                break
            current.cursor = current.entries.index(found)
            child = self._child_level(found)
            if child is None:
                break
            self.levels.append(child)
        for level, key in zip(self.levels, keys, strict=False):
            for index, entry in enumerate(level.entries):
                if entry.key == key:
                    level.cursor = index
        self.query_one(BarList).show(self.levels[-1])
        # When the first figures, and the exact ones, were drawn (benchmarks/diskmap_bench.py).
        if self.first_content_at is None:
            self.first_content_at = time.perf_counter()
        if message.final and self.final_at is None:
            self.final_at = time.perf_counter()
        self._update_texts()

    @staticmethod
    def _key_at(level: Level) -> str:
        if 0 <= level.cursor < len(level.entries):
            return level.entries[level.cursor].key
        return ""

    def _top_level(self) -> Level:
        assert self.disk_map is not None
        entries = sorted(
            [*self.disk_map.repositories, *self.disk_map.extras],
            key=lambda e: (-e.frees, -e.logical),
        )
        return Level("repositories", entries)

    def _child_level(self, entry: Entry) -> Level | None:
        assert self.disk_map is not None
        if entry.kind == "repository":
            return Level(entry.name, tag_entries(self.disk_map, entry), parent_key=entry.key)
        if entry.kind == "tag" and entry.image is not None:
            layers = layer_entries(self.disk_map, entry.image)
            if not layers:
                return None
            title = f"{self.levels[-1].title}:{entry.name}" if self.levels else entry.name
            return Level(title, layers, parent_key=entry.key)
        return None

    def daemon_changed(self, events: tuple[DaemonEvent, ...]) -> None:
        """Follow the daemon (the App's daemon-events signal): reload once a burst is over."""
        if self._reload_timer is not None:
            self._reload_timer.stop()
        self._reload_timer = self.set_timer(RELOAD_QUIET, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_timer = None
        self.load(None)

    def action_reload(self) -> None:
        """Load again from the daemon."""
        self.load(None)

    def refresh_ages(self) -> bool:
        """The "created …" ages stay current as time passes (no daemon call): the bars are
        drawn again when an age on screen reads differently than at the last look. Returns
        whether they were."""
        bars = self.query_one(BarList)
        top = int(bars.scroll_y)
        shown = bars.level.entries[top : top + bars.scrollable_content_region.height]
        ages = tuple(fmt.age(e.image.created) if e.image is not None else "" for e in shown)
        if ages == self._ages_drawn:
            return False
        changed = bool(self._ages_drawn)
        self._ages_drawn = ages
        if changed:
            bars.refresh()
        return changed

    # -- texts ---------------------------------------------------------------------------------

    def describe(self, entry: Entry) -> str:
        """The name and details of an entry (outside text made visible)."""
        name = visible(entry.name)
        if entry.kind == "repository":
            noun = "image" if entry.name == UNTAGGED else "tag"
            return f"{name}  ({entry.count} {noun}{'s' if entry.count != 1 else ''})"
        if entry.kind == "extra":
            return name
        if entry.kind == "layer":
            if not entry.shared_with:
                return f"{name} · only this image"
            names = ", ".join(visible(n) for n in entry.shared_with[:3])
            more = f" +{len(entry.shared_with) - 3}" if len(entry.shared_with) > 3 else ""
            return f"{name} · shared with {names}{more}"
        image = entry.image
        if image is None:
            return name
        used = self.last_used_text(image)
        ctr = "…" if image.containers is None else str(image.containers)
        return (
            f"{name}  {image.short_id} · created {fmt.age(image.created)} · used {used}"
            f" · unique {fmt.size(image.unique_size)} · {ctr} ctr"
        )

    def last_used_text(self, image: Image) -> str:
        """The image's last use as the LAST USED column writes it."""
        from tui.diskmap_model import last_used_text

        recorder = getattr(self.app, "last_used", None)
        if recorder is None:
            return "unknown"
        return last_used_text(recorder.record.get(image.id), recorder.record.since)

    def mark_symbol(self, entry: Entry) -> str:
        """● all of the entry's rows marked, ◐ some, space none."""
        if not entry.rows:
            return " "
        marks = self.images_screen.model.marks
        if not marks:
            return " "
        marked = sum(1 for r in entry.rows if row_key(r) in marks)
        return "●" if marked == len(entry.rows) else "◐" if marked else " "

    def _update_texts(self) -> None:
        disk_map = self.disk_map
        if disk_map is None:
            return
        approx = "" if disk_map.exact else " (~ estimated until the layers load)"
        header = (
            f"Disk map · on disk {fmt.size(disk_map.disk)}"
            f" · logical {fmt.size(disk_map.logical)}{approx}"
        )
        recorder = getattr(self.app, "last_used", None)
        if recorder is not None:
            header += f" · use recorded since {recorder.record.since.strftime('%Y-%m-%d')}"
        self.query_one("#diskmap-header", Static).update(header)
        path = "/ " + " / ".join(visible(level.title) for level in self.levels[1:])
        self.query_one("#diskmap-path", Static).update(path)
        width = self.query_one(BarList).scrollable_content_region.width or self.size.width
        bar_width = 20 if width >= 110 else 12
        columns = f"  {'FREES'.rjust(9)} {'':<{bar_width}} {'LOGICAL'.rjust(9)}  NAME"
        self.query_one("#diskmap-columns", Static).update(columns)
        self.update_status()

    def update_status(self) -> None:
        """Marks (shared with the list) and what deleting them frees, and the keys."""
        if not self.is_mounted:
            return
        marked = self.images_screen.model.marked_rows()
        parts = []
        if marked:
            frees = self.images_screen.marked_frees(marked)
            parts.append(f"{len(marked)} marked, frees {fmt.size(frees)}")
        else:
            parts.append("nothing marked")
        depth = len(self.levels)
        parts.append(
            "enter: its tags" if depth == 1 else "enter: its layers" if depth == 2 else "layers"
        )
        parts.append("marks are the list's")
        self.query_one("#diskmap-status", Static).update(" · ".join(parts))

    # -- actions -------------------------------------------------------------------------------

    def action_open(self) -> None:
        """Drill into a repository (its tags) or a tag (its layers)."""
        entry = self.query_one(BarList).current()
        if entry is None or self.disk_map is None:
            return
        if entry.key == BUILD_CACHE_KEY:
            from tui.modals.build_cache import BuildCachePrune

            def pruned(_: object) -> None:
                self.load(None)

            self.app.push_screen(BuildCachePrune(), pruned)
            return
        if entry.kind == "tag" and not self.final:
            self.notify("The layers are still loading…", timeout=3)
            return
        child = self._child_level(entry)
        if child is None:
            return
        self.levels.append(child)
        self.query_one(BarList).show(child)
        self._update_texts()

    def action_up(self) -> None:
        """One level up."""
        if len(self.levels) > 1:
            self.levels.pop()
            self.query_one(BarList).show(self.levels[-1])
            self._update_texts()

    def action_back(self) -> None:
        """Up a level, or back to the list from the top."""
        if len(self.levels) > 1:
            self.action_up()
        else:
            self.dismiss(None)

    def action_mark(self) -> None:
        """Mark or unmark the entry's rows on the list (all of a repository's tags)."""
        bars = self.query_one(BarList)
        entry = bars.current()
        if entry is None or not entry.rows:
            return
        marks = self.images_screen.model.marks
        keys = [row_key(r) for r in entry.rows]
        if all(k in marks for k in keys):
            marks.difference_update(keys)
        else:
            marks.update(keys)
        self._marks_changed()
        bars.action_cursor(1)

    def action_clear_marks(self) -> None:
        """Clear every mark (here and on the list)."""
        self.images_screen.model.clear_marks()
        self._marks_changed()

    def _marks_changed(self) -> None:
        from tui.widgets.image_table import ImageTable

        screen = self.images_screen
        screen.query_one(ImageTable).marks_changed()
        screen.refresh_summary()
        self.query_one(BarList).refresh()
        self.update_status()

    def action_delete(self) -> None:
        """The list's delete dialog for the marked rows (or the entry under the cursor)."""
        from tui.screens.cleanup_controller import cleanup_controller

        rows = self.images_screen.model.marked_rows()
        if not rows:
            entry = self.query_one(BarList).current()
            rows = list(entry.rows) if entry is not None else []
        if not rows:
            self.notify("Nothing to delete here.", severity="warning")
            return
        cleanup_controller(self.images_screen).delete(rows)

    def last_used_changed(self) -> None:
        """New last-used times: redraw the tags' details."""
        self.query_one(BarList).refresh()
        self._update_texts()
