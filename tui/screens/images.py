"""The image list: one row per tag, usage columns, filter, sort, marks, live updates."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, get_current_worker

from tui import format as fmt
from tui.listmodel import ImageListModel
from tui.messages import (
    DaemonBack,
    DaemonLost,
    EarlyLoaded,
    ImagesChanged,
    ImagesLoaded,
    LoadFailed,
    UsageLoaded,
)
from tui.screens.base import BaseScreen, ListHost, failure_text, list_host
from tui.screens.help import show_help
from tui.service.errors import ImagedeckError
from tui.service.models import (
    DaemonInfo,
    DiskUsage,
    Image,
    ImageRow,
    ImageSummary,
    summarize,
    with_usage,
)
from tui.widgets.filter_input import FilterInput
from tui.widgets.image_table import ImageTable, header_text

if TYPE_CHECKING:
    from tui.prefetch import Prefetch
    from tui.service.cleanup import ResultLog

# Events arrive in bursts (a prune deletes hundreds of images): wait for a short quiet gap,
# but never longer than the cap, then reload once.
COALESCE_QUIET = 0.1
COALESCE_MAX = 1.0


def _update_if_changed(widget: Static, text: str) -> None:
    # Static.update always repaints (and by default re-lays out the screen, which costs more
    # than filtering 10,000 rows): skip equal text, and skip the layout while the old and new
    # text both fit on one line, so a keystroke repaints just the lines that changed.
    old = str(widget.content)
    if old == text:
        return
    room = widget.content_region.width
    one_line = room > 0 and cell_len(old) <= room and cell_len(text) <= room
    widget.update(text, layout=not one_line)


def _b(
    key: str, action: str, short: str, long: str, bid: str, show: bool = False, display: str = ""
) -> Binding:
    # The short text is the footer's; the tooltip is the help screen's long text.
    return Binding(key, action, short, show=show, id=bid, tooltip=long, key_display=display or None)


# `/` and Enter-in-the-filter share their help text, so help shows them as one row.
FILTER_HELP = "Filter as you type (Enter back to the list, Esc clears)"


class ImagesScreen(BaseScreen[None]):
    """The main screen: the image list with its summary line."""

    # The table has focus from the start: keys typed while the program starts (read by
    # Textual once it runs) go to the list, not to the hidden filter field above it.
    AUTO_FOCUS = "#table"

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding: handled as the key arrives, before later keys are passed on,
        # so what is typed right behind `/` (typed ahead while starting, or pasted) goes to
        # the filter rather than to the list's own keys (d, a, p...).
        Binding(
            "slash",
            "filter",
            "Filter",
            tooltip=FILTER_HELP,
            id="images.filter",
            priority=True,
        ),
        # Enter in the filter, for the same reason: the list has focus again as the key arrives,
        # so keys typed right behind it (`/demo/app⏎d`) act on the list, not in the filter
        # (the field's Submitted message came after them). Elsewhere Enter is inspect's.
        Binding(
            "enter",
            "leave_filter",
            "Done",
            show=False,
            tooltip=FILTER_HELP,  # the same text: one help row for both keys
            id="images.filter_done",
            priority=True,
        ),
        _b("escape", "escape", "Back", "Clear the filter / close", "images.escape"),
        _b("o", "sort", "Sort", "Sort by the next column", "images.sort"),
        _b("O", "reverse", "Reverse", "Reverse the sort order", "images.reverse"),
        _b("space", "mark", "Mark", "Mark / unmark this row", "images.mark", True),
        _b("a", "mark_all", "Mark all", "Mark every row the filter shows", "images.mark_all"),
        _b("A", "clear_marks", "Clear marks", "Clear all marks", "images.clear_marks"),
        _b("d", "delete", "Delete", "Delete marked rows (or this one)", "images.delete", True),
        _b("X", "prune", "Cleanup", "Cleanup wizard (prune)", "images.prune", True),
        _b("D", "disk_map", "Disk map", "Disk map: space by repository", "images.disk_map"),
        _b("L", "results_log", "Results", "Results of recent deletes", "images.results_log"),
        _b("t", "tag", "Tag", "Tag this image", "images.tag", True),
        _b("u", "untag", "Untag", "Remove this tag", "images.untag"),
        _b("enter,i", "inspect", "Inspect", "Inspect JSON", "images.inspect", True, "i"),
        _b("h", "history", "History", "Layer history tree", "images.history"),
        _b("l", "layers", "Layers", "Layer contents and wasted space", "images.layers"),
        _b("p", "pull", "Pull", "Pull an image", "images.pull", True),
        _b("P", "push", "Push", "Push this tag", "images.push"),
        _b("s", "search", "Search", "Search a registry", "images.search"),
        _b("b", "build", "Build", "Build from a Dockerfile", "images.build"),
        _b("r", "run", "Run", "Run an interactive container", "images.run"),
        _b("T", "transfers", "Transfers", "Pulls and pushes in progress", "images.transfers"),
        _b("c", "containers", "Containers", "Containers (commit, remove)", "images.containers"),
        _b("C", "context", "Context", "Switch Docker context (reconnect)", "images.context"),
        _b("y", "copy", "Copy", "Copy the reference (OSC 52)", "images.copy"),
        _b("S", "save_archive", "Save", "Save marked (or this) to an archive", "images.save"),
        _b("I", "load_archive", "Load", "Load an archive / import a rootfs", "images.load"),
        _b(
            "E",
            "copy_to_daemon",
            "To daemon",
            "Copy marked (or this) to another daemon",
            "images.copy_to",
        ),
        _b("R", "reload", "Reload", "Reload the list now", "images.reload"),
        _b("question_mark", "help", "Help", "Help with every key", "images.help", True),
        _b("q", "quit", "Quit", "Quit", "images.quit", True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.model = ImageListModel()
        self.images: list[Image] = []
        self.usage: DiskUsage | None = None
        # Images merged with disk usage and their summary, computed once per load rather than
        # on every keystroke (with_usage copies every image).
        self._merged: list[Image] = []
        self._summary: ImageSummary | None = None
        self.info: DaemonInfo | None = None
        self.loaded = False
        self._reload_timer: Timer | None = None
        self._first_change: float | None = None
        self._select_after_load: str | None = None
        self._memory_released = False  # see on_usage_loaded
        # The summary's reclaimable words, kept per load (see _reclaimable_words).
        self._loads = 0
        self._reclaimable: tuple[tuple[int, int], str] | None = None
        # Columns the user's config hides (see tui/config.py); set by the app before mounting.
        self.hidden_columns: frozenset[str] = frozenset()

    @property
    def deck(self) -> ListHost:
        """The App, as the list sees it (tui/screens/base.py; no import of tui.app)."""
        return list_host(self.app)

    def compose(self) -> ComposeResult:
        """Header, summary, banner, filter, table header, table, footer."""
        yield Static("imagedeck", id="header", markup=False)
        yield Static("Connecting…", id="summary", markup=False)
        yield Static("", id="banner", markup=False)
        yield FilterInput(
            placeholder="filter: repository, tag or ID", id="filter", on_value=self._apply_filter
        )
        yield Static("", id="table-header", markup=False)
        yield ImageTable(self.model, id="table", hidden=self.hidden_columns)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Focus the table; the filter stays hidden until `/`."""
        self.query_one("#filter", Input).display = False
        self.query_one("#banner", Static).display = False
        # At once, not through Widget.focus (a callback queued behind the keys already read):
        # a `/` typed while the app started would get the filter, then lose it to the table.
        self.set_focus(self.query_one(ImageTable))
        self._update_header()
        if self.loaded:
            self._apply()  # preloaded: the first frame shows the list

    def preload(self, images: list[Image]) -> None:
        """The early list, given before this screen mounts, so its first frame shows it."""
        self.images = images
        self.loaded = True
        if self.is_mounted:
            self._apply()

    # -- loading -----------------------------------------------------------------------------

    def connected(self, info: DaemonInfo) -> None:
        """The app connected (first time or after a reconnect): show who, then load."""
        self.info = info
        self._update_header()
        self.reload()

    def reload(self) -> None:
        """Load images and disk usage in parallel workers."""
        if self.deck.service is None:
            return
        prefetch = self.deck.take_prefetch()
        self.load_images(prefetch)
        if prefetch is None:
            # The first load's disk usage comes with the prefetch: one df request at start,
            # not two (df is the daemon's slowest answer).
            self.load_usage()

    @work(thread=True, exclusive=True, group="images", exit_on_error=False)
    def load_images(self, prefetch: Prefetch | None = None) -> None:
        """List images (the prefetched answer, with its disk usage, on first load).

        A newer load cancels this one (exclusive group), but a thread runs on: its answer,
        older than the newer load's, is dropped rather than posted after it (on a loaded
        machine the start-up list came in after the reload that followed a pull, and the
        pulled image vanished from the list).
        """
        service = self.deck.service
        worker = get_current_worker()
        try:
            if prefetch is not None:
                images = prefetch.images.result()
                if worker.is_cancelled:
                    return
                self.post_message(ImagesLoaded(images))
                try:
                    usage = prefetch.usage.result()
                except ImagedeckError:
                    if service is None:
                        return
                    usage = service.disk_usage()
                if not worker.is_cancelled:
                    self.post_message(UsageLoaded(usage))
                return
            if service is None:
                return
            images = service.list_images()
            if not worker.is_cancelled:
                self.post_message(ImagesLoaded(images))
        except ImagedeckError as exc:
            if not worker.is_cancelled:
                self.post_message(LoadFailed(exc))

    @work(thread=True, exclusive=True, group="early", exit_on_error=False)
    def load_early(self, prefetch: Prefetch) -> None:
        """The first frame's list: the prefetched answer, before the service has connected."""
        try:
            images: list[Image] | None = prefetch.early.result(timeout=30)
        except Exception:  # no early answer (it failed): the service loads the list
            images = None
        self.post_message(EarlyLoaded(images))

    def on_early_loaded(self, message: EarlyLoaded) -> None:
        """Show the early list, then let the app connect once that frame is out."""
        if message.images is not None and not self.loaded:
            self.images = message.images
            self.loaded = True
            self._apply()
            self.hide_connecting()  # the list is the daemon's answer: it is reachable
        self.call_after_refresh(self.deck.connect_once)

    @work(thread=True, exclusive=True, group="usage", exit_on_error=False)
    def load_usage(self) -> None:
        """Read disk usage (shared/unique sizes, container counts)."""
        service = self.deck.service
        if service is None:
            return
        try:
            self.post_message(UsageLoaded(service.disk_usage()))
        except ImagedeckError as exc:
            self.post_message(LoadFailed(exc))

    def on_images_loaded(self, message: ImagesLoaded) -> None:
        """New rows: keep cursor, marks and filter."""
        if self.loaded and message.images is self.images:
            return  # the service's first list is the early one already on screen
        self.images = message.images
        self.loaded = True
        self._apply()

    def on_usage_loaded(self, message: UsageLoaded) -> None:
        """Usage columns fill in."""
        if self.usage is None and not self._memory_released:
            # Start-up is over once usage is in: give back what it no longer needs, a moment
            # later (the frame with the usage columns goes out first). Once per run.
            from tui.memory import release_start_up_memory

            self._memory_released = True
            self.set_timer(1.0, release_start_up_memory)
        self.usage = message.usage
        # Disk usage often lands right behind the list: let the list paint first (applying
        # 10,000 rows again before that frame would hold it back), then fill the columns.
        self.call_after_refresh(self._apply)

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure while loading says so where a load failure does."""
        if worker.group in ("images", "usage"):
            self.post_message(LoadFailed(ImagedeckError(failure_text(error))))

    def on_load_failed(self, message: LoadFailed) -> None:
        """Say what failed in the summary line; the banner handles a lost daemon."""
        self.query_one("#summary", Static).update(f"Could not load images: {message.error}")

    def _apply(self) -> None:
        self._loads += 1
        images = with_usage(self.images, self.usage)
        self._merged = images
        self._summary = summarize(images, self.usage)
        self.model.set_images(images)
        if self._select_after_load and self._reveal(self._select_after_load):
            self._select_after_load = None
        table = self.query_one(ImageTable)
        table.rows_changed()
        self._update_summary()

    def select_after_load(self, reference: str) -> None:
        """Put the cursor on ``reference`` now, or as soon as a reload shows it.

        The same after a build, commit, tag or pull: the new image is selected where the list
        shows it. A filter that matches it stays; one that hides it is cleared, and a notice
        says so (the user just made that image and expects to see it).
        """
        if self._reveal(reference):
            self.query_one(ImageTable).rows_changed()
            self._update_summary()
        else:
            self._select_after_load = reference

    def _reveal(self, reference: str) -> bool:
        """Select ``reference``'s row, clearing a filter that hides it; False if not listed."""
        if self.model.select_reference(reference):
            return True
        listed = any(r.reference == reference or r.image.id == reference for r in self.model.rows)
        if not listed or not self.model.filter_text:
            return False
        hidden_by = self.model.filter_text
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.model.set_filter("")
        self.query_one(ImageTable).focus()
        self.notify(f"Filter {hidden_by!r} cleared to show {reference}.", timeout=6, markup=False)
        return self.model.select_reference(reference)

    # -- live updates ------------------------------------------------------------------------

    def on_images_changed(self, message: ImagesChanged) -> None:
        """Coalesce a burst of daemon events into one reload.

        The reload waits for a quiet gap of COALESCE_QUIET, but never past COALESCE_MAX after
        the first event of the burst, however steadily events keep coming.
        """
        # The app forwards daemon events to this screen; a message that bubbled back up to
        # the app would be forwarded again, forever (a busy loop that also kept postponing
        # the reload).
        message.stop()
        now = time.monotonic()
        if self._first_change is None:
            self._first_change = now
        deadline = self._first_change + COALESCE_MAX
        if self._reload_timer is not None:
            if now >= deadline:
                return  # the armed timer is due by the deadline: let it fire
            self._reload_timer.stop()
        # Textual's timers reject a zero delay; a millisecond is "now".
        delay = max(min(now + COALESCE_QUIET, deadline) - now, 0.001)
        self._reload_timer = self.set_timer(delay, self._coalesced_reload)

    def _coalesced_reload(self) -> None:
        self._first_change = None
        self._reload_timer = None
        self.reload()

    def on_daemon_lost(self, message: DaemonLost) -> None:
        """A visible banner while reconnecting."""
        message.stop()  # forwarded by the app: must not bubble back to it (a loop)
        banner = self.query_one("#banner", Static)
        banner.update(
            f"⚠ Lost the daemon: {message.reason}. Reconnecting in {message.retry_in:.1f}s… "
            "(the list below may be out of date)"
        )
        banner.display = True

    def on_daemon_back(self, message: DaemonBack) -> None:
        """Hide the banner and reload."""
        message.stop()  # forwarded by the app: must not bubble back to it (a loop)
        self.query_one("#banner", Static).display = False
        self.notify("Reconnected to the daemon.", timeout=3)
        self.reload()

    # -- header and summary ------------------------------------------------------------------

    def _update_header(self) -> None:
        info = self.info
        service = self.deck.service
        parts = ["imagedeck"]
        if service is not None:
            parts.append(service.host)
        elif self.deck.host_hint:
            parts.append(self.deck.host_hint)
        if info is not None:
            # "Docker 26.1.5, containerd store", "Podman 4.3.1" (tui/service/engine.py)
            parts.append(info.engine or f"Docker {info.server_version}")
        if self.deck.sandbox_note:
            parts.append(self.deck.sandbox_note)
        self.query_one("#header", Static).update("  ·  ".join(parts))

    def _reclaimable_words(self) -> str:
        """What deleting every image no container uses frees: the sum the "N marked, frees X"
        figure uses (cleanup_controller.marked_freed, i.e. cleanup_plan.freed_space), so the
        headline, mark-all and the wizard's "all images no container uses" agree."""
        from tui.screens.cleanup_controller import cleanup_controller

        controller = cleanup_controller(self)
        # The sum walks every row and layer: once per load and per layer data that arrives,
        # not on every filter keystroke (at 10,000 tags typing a word into the filter took
        # seconds while every key waited on it).
        stamp = (self._loads, len(controller.layer_data))
        if self._reclaimable is not None and self._reclaimable[0] == stamp:
            return self._reclaimable[1]
        unused = [row for row in self.model.rows if not row.image.containers]
        if not unused:
            words = fmt.size(0)
        else:
            freed = controller.marked_freed(unused)
            # "about 0 B" says nothing.
            about = "" if freed.exact or not freed.bytes else "about "
            words = f"{about}{fmt.size(freed.bytes)}"
        self._reclaimable = (stamp, words)
        return words

    def _update_summary(self) -> None:
        summary = self._summary or summarize(self._merged, self.usage)
        shown = len(self.model.visible)
        total = len(self.model.rows)
        parts = [f"{summary.count} images · {summary.tags} tags"]
        if shown != total:
            parts[0] += f" ({shown} shown)"
        parts.append(f"logical {fmt.size(summary.logical_size)}")
        if summary.disk_size is not None:
            # On the containerd store compressed layer sizes are worked out, not reported.
            about = "about " if self.usage is not None and self.usage.estimate else ""
            parts.append(f"on disk {about}{fmt.size(summary.disk_size)}")
            parts.append(f"reclaimable {self._reclaimable_words()}")
        else:
            parts.append("disk usage loading…")
        if self.usage is not None and self.usage.build_cache:
            parts.append(f"build cache {fmt.size(self.usage.build_cache)}")
        marked = self.model.marked_rows()
        if marked:
            from tui.screens.cleanup_controller import cleanup_controller

            freed = cleanup_controller(self).marked_freed(marked)
            # "about 0 B" says nothing (a pure untag frees exactly nothing).
            about = "" if freed.exact or not freed.bytes else "about "
            parts.append(f"{len(marked)} marked, frees {about}{fmt.size(freed.bytes)}")
        sort = self.model.sort.label + (" ↑" if self.model.reverse else "")
        parts.append(f"sort {sort}")
        _update_if_changed(self.query_one("#summary", Static), " · ".join(parts))
        _update_if_changed(
            self.query_one("#table-header", Static),
            header_text(self._header_width(), self.hidden_columns),
        )

    def marked_frees(self, rows: list[ImageRow]) -> int:
        """What deleting ``rows`` would free: only images losing every tag free space.

        Layers shared only among those images count once and layers a kept image holds not at
        all (from each image's layer chain, loaded in the background; until it arrives, the
        sum of df unique sizes stands in).
        """
        from tui.screens.cleanup_controller import cleanup_controller

        return cleanup_controller(self).marked_frees(rows)

    def _header_width(self) -> int:
        # The table's own content width: a vertical scrollbar takes a column from the rows.
        width = self.query_one(ImageTable).scrollable_content_region.width
        return width or self.size.width or 80

    def on_resize(self) -> None:
        """Re-layout the column header."""
        self.query_one("#table-header", Static).update(
            header_text(self._header_width(), self.hidden_columns)
        )

    # -- filter, sort, marks ------------------------------------------------------------------

    def action_filter(self) -> None:
        """Show the filter input and focus it."""
        field = self.query_one("#filter", Input)
        if self.focused is field:
            # The key is the filter's own (demo/app): queued behind the keys before it.
            from textual.events import Key

            field.post_message(Key("slash", "/"))
            return
        field.display = True
        # At once, not after the queued messages (Widget.focus waits for them): keys typed
        # right behind the `/` (typed ahead while starting, or pasted) belong to the filter.
        self.set_focus(field)

    def action_leave_filter(self) -> None:
        """Enter in the filter: back to the list at once, the filter kept (see BINDINGS)."""
        if self.focused is not self.query_one("#filter", Input):
            raise SkipAction()  # Enter on the list: inspect
        self.set_focus(self.query_one(ImageTable))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Normally already applied by the field itself (see _apply_filter); this catches
        # values set from code.
        self._apply_filter(event.value)

    def _apply_filter(self, text: str) -> None:
        # Called by FilterInput as its value changes, in the same step as the keystroke, so
        # the field and the table repaint in one frame (the Changed message arrives a frame
        # later, and the table would repaint in a second frame).
        if text.strip().lower() == self.model.filter_text:
            return
        self.model.set_filter(text)
        self.query_one(ImageTable).rows_changed()
        self._update_summary()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, _: Input.Submitted) -> None:
        self.query_one(ImageTable).focus()

    def action_escape(self) -> None:
        """Esc clears and hides the filter."""
        field = self.query_one("#filter", Input)
        if field.value or field.display:
            field.value = ""
            field.display = False
            self.model.set_filter("")
            table = self.query_one(ImageTable)
            table.rows_changed()
            table.focus()
            self._update_summary()

    def action_sort(self) -> None:
        """Next sort column."""
        self.model.next_sort()
        self.query_one(ImageTable).rows_changed()
        self._update_summary()

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.model.toggle_reverse()
        self.query_one(ImageTable).rows_changed()
        self._update_summary()

    def action_mark(self) -> None:
        """Mark or unmark the current row and move down."""
        table = self.query_one(ImageTable)
        self.model.toggle_mark()
        table.refresh_current()
        table.action_cursor(1)
        self._update_summary()

    def action_mark_all(self) -> None:
        """Mark every shown row."""
        self.model.mark_all_visible()
        self.query_one(ImageTable).marks_changed()
        self._update_summary()

    def action_clear_marks(self) -> None:
        """Clear all marks."""
        self.model.clear_marks()
        self.query_one(ImageTable).marks_changed()
        self._update_summary()

    def action_reload(self) -> None:
        """Reload now."""
        self.reload()

    def action_copy(self) -> None:
        """Copy the reference (or ID) of this row with OSC 52, which works over SSH."""
        row = self.model.current()
        if row is None:
            return
        self.app.copy_to_clipboard(row.reference)
        self.notify(f"Copied {row.reference}", timeout=2, markup=False)

    def action_help(self) -> None:
        """Every key, as the keymap binds it now."""
        show_help(self, self.help_extra())

    def help_extra(self) -> str:
        """Extra lines for the help screen: the daemon, the config file and the log file."""
        from tui.logs import log_path

        config = self.deck.config
        state = "" if config.exists else " (not created yet)"
        service = self.deck.service
        daemon = service.host if service is not None else self.deck.host_hint
        ids = " ".join(
            b.id.removeprefix("images.") for b in self.BINDINGS if isinstance(b, Binding) and b.id
        )
        return (
            f'\n\nDaemon: {daemon}  (C or ctrl+p "Switch Docker context" changes it)'
            f"\nConfig: {config.path}{state}"
            '\n  keys are remapped by binding id in [keys], e.g. "images.delete" = "x"'
            f"\nLog:    {log_path()}"
            f"{self._last_used_line()}"
            f"{self._estimate_line()}"
            f"\nBinding ids here: images.<name>, names: {ids}"
        )

    def _estimate_line(self) -> str:
        """Why UNIQUE and SHARED lead with ~ (only where they are estimates)."""
        if self.usage is None or not self.usage.estimate:
            return ""
        return (
            "\nSizes:  ~ in UNIQUE/SHARED marks an estimate: on the containerd image store"
            f"\n  {self.usage.estimate}"
        )

    def _last_used_line(self) -> str:
        """Since when LAST USED is recorded, and where (nothing before the record is loaded)."""
        recorder = self.deck.last_used
        if recorder is None:
            return ""
        since = recorder.record.since.strftime("%Y-%m-%d %H:%M UTC")
        where = f"\n  in {recorder.record.path}" if recorder.record.path else ""
        return f"\nLast use: recorded since {since} (unknown: not seen in use since){where}"

    def action_context(self) -> None:
        """Switch Docker context: pick one, reconnect, reload (the app does the work)."""
        self.deck.action_switch_context()

    def show_connecting(self, host: str) -> None:
        """Empty the list and say which daemon is being reached (on start and on a switch)."""
        self.info = None
        self.images, self.usage, self.loaded = [], None, False
        if self.is_mounted:
            self._apply()
            self._update_header()
            where = f" to {host}" if host else ""
            # In the banner: the summary line is rewritten by every list update.
            banner = self.query_one("#banner", Static)
            banner.update(f"⧗ Connecting{where}…")
            banner.display = True

    def hide_connecting(self) -> None:
        """The daemon answered (or the down screen took over): drop the pending banner."""
        if self.is_mounted:
            banner = self.query_one("#banner", Static)
            if str(banner.content).startswith("⧗ Connecting"):
                banner.display = False

    def action_quit(self) -> None:
        """Leave imagedeck."""
        self.app.exit()

    # -- features in their own modules --------------------------------------------------------

    def current_row(self) -> ImageRow | None:
        """The row under the cursor."""
        return self.model.current()

    def action_delete(self) -> None:
        """Delete marked rows or the current one (confirm, then per-item outcomes)."""
        from tui.screens.cleanup_controller import cleanup_controller

        cleanup_controller(self).delete(self.model.targets())

    def action_results_log(self) -> None:
        """Reopen the results of recent deletes and cleanups."""
        from tui.screens.cleanup_controller import cleanup_controller

        cleanup_controller(self).show_log()

    def action_prune(self) -> None:
        """Cleanup wizard: options, a preview of exactly what goes, then that removal."""
        from tui.modals.prune import PruneWizard
        from tui.screens.cleanup_controller import cleanup_controller

        controller = cleanup_controller(self)

        def done(log: ResultLog | None) -> None:
            if log is not None:
                controller.record(log)

        self.app.push_screen(PruneWizard(self.model.filter_text), done)

    def action_tag(self) -> None:
        """Tag dialog, prefilled; the new row is selected once the list shows it."""
        from tui.modals.tag import TagDialog

        row = self.current_row()
        if row is None:
            return
        source = row.reference if row.tagged else row.image.id
        prefill = row.reference if row.tagged else ""

        def done(target: str | None) -> None:
            if target:
                from tui.service.reference import parse

                ref = parse(target)  # checked by the dialog; "app" is listed as "app:latest"
                self.notify(f"Tagged {row.image.short_id} as {target}.", timeout=5, markup=False)
                self.select_after_load(f"{ref.name}:{ref.tag_or_latest}")
                self.reload()

        self.app.push_screen(TagDialog(source, row.reference, prefill), done)

    def action_untag(self) -> None:
        """Remove this tag; on the last tag, confirm deleting the image as `d` does."""
        from tui.screens.cleanup_controller import cleanup_controller

        row = self.current_row()
        if self.deck.config.confirm_untag and row is not None and row.tagged:
            # confirm_untag (config): ask for every untag, not only for an image's last tag.
            from tui.modals.confirm import ConfirmDialog

            def answered(ok: bool | None) -> None:
                if ok:
                    cleanup_controller(self).untag(row)

            body = f"Remove the tag {row.reference} from {row.image.short_id}?"
            dialog = ConfirmDialog(f"Untag {row.reference}?", body, confirm_label="Untag")
            self.app.push_screen(dialog, answered)
            return
        cleanup_controller(self).untag(row)

    def action_inspect(self) -> None:
        """Inspect JSON."""
        from tui.screens.inspect import InspectScreen

        row = self.current_row()
        if row is not None:
            self.app.push_screen(InspectScreen(row.reference))

    def action_history(self) -> None:
        """History tree."""
        from tui.screens.history import HistoryScreen

        row = self.current_row()
        if row is not None:
            self.app.push_screen(HistoryScreen(row.reference))

    def action_layers(self) -> None:
        """Layer contents."""
        from tui.screens.layers import LayersScreen

        row = self.current_row()
        if row is not None:
            self.app.push_screen(LayersScreen(row.reference))

    def action_pull(self) -> None:
        """Pull dialog; the pull runs on the transfers screen."""
        from tui.screens.transfers import open_pull_dialog

        open_pull_dialog(self.app)

    def action_push(self) -> None:
        """Push this tag, with progress on the transfers screen."""
        from tui.screens.transfers import start_push

        row = self.current_row()
        if row is None or not row.tagged:
            self.notify("Only a tagged row can be pushed (tag it first).", severity="warning")
            return
        start_push(self.app, row.reference)

    def action_search(self) -> None:
        """Search screen."""
        from tui.screens.search import SearchScreen

        self.app.push_screen(SearchScreen())

    def action_build(self) -> None:
        """Build form."""
        from tui.screens.build import open_build

        open_build(self)

    def action_run(self) -> None:
        """Run dialog, then the terminal is handed to `docker run -it`."""
        from tui.modals.run import open_run_dialog

        row = self.current_row()
        if row is None:
            return
        open_run_dialog(self.app, row.reference)

    def action_transfers(self) -> None:
        """The transfers screen (pulls and pushes, running and ended)."""
        from tui.screens.transfers import show_transfers

        show_transfers(self.app)

    def action_containers(self) -> None:
        """Containers screen, showing this row's image's containers (`a` there shows all)."""
        from tui.screens.containers import ContainersScreen

        row = self.current_row()
        if row is None:
            self.app.push_screen(ContainersScreen())
            return
        self.app.push_screen(ContainersScreen(row.image.id, row.reference))

    def archive_references(self) -> list[str]:
        """The marked rows (or this one) as references: a tag, or the ID of an untagged row."""
        return [row.reference if row.tagged else row.image.id for row in self.model.targets()]

    def action_save_archive(self) -> None:
        """Save the marked images (or this one) into one archive file."""
        from tui.modals.archives import SaveDialog

        references = self.archive_references()
        if references:
            self.app.push_screen(SaveDialog(references))

    def action_load_archive(self) -> None:
        """Load an image archive, or import a root filesystem tarball."""
        from tui.modals.archives import LoadDialog

        self.app.push_screen(LoadDialog())

    def action_copy_to_daemon(self) -> None:
        """Copy the marked images (or this one) to another daemon (a context or a host)."""
        from tui.modals.archives import CopyDialog

        references = self.archive_references()
        if not references:
            return
        lister = getattr(self.app, "context_lister", None)
        contexts = [(c.name, c.host) for c in lister()] if callable(lister) else []
        service = self.deck.service
        in_use = (service.endpoint.context if service is not None else None) or "default"
        self.app.push_screen(CopyDialog(references, contexts, in_use))

    def action_disk_map(self) -> None:
        """Disk map: space by repository, tag and layer; marks are this list's marks."""
        from tui.screens.diskmap import DiskMapScreen

        self.app.push_screen(DiskMapScreen(self))

    def last_used_changed(self) -> None:
        """The last-used record changed: redraw LAST USED (and an open disk map)."""
        tables = self.query(ImageTable)
        if not tables:
            return  # the app is closing (or the list is not up yet): nothing to redraw
        recorder = self.deck.last_used
        table = tables.first()
        table.last_used = recorder.record.get if recorder is not None else None
        table.last_used_version += 1
        table.refresh()
        for screen in self.app.screen_stack:
            refresh = getattr(screen, "last_used_changed", None)
            if screen is not self and callable(refresh):
                refresh()
