"""The single daemon's image list: loading, live updates, the summary, the connection banner.

``DaemonImageList`` is the image list's body; ``ImagesScreen`` (tui/screens/images.py) adds
the keys that open the other features. What the list shares with the fleet view (filter,
sort, marks, coalesced reloads, the widgets) is ``ImageListScreen`` (tui/screens/list_base.py).

Loading: the first frame shows the list prefetched before Textual loaded (``preload``,
``load_early``); once connected, images and disk usage load in parallel workers (the first
usage comes with the prefetch), and every later load keeps cursor, marks and filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual import work
from textual.widgets import Input, Static
from textual.worker import Worker, get_current_worker

from tui import format as fmt
from tui.logs import get_logger
from tui.messages import (
    DaemonBack,
    DaemonLost,
    EarlyLoaded,
    ImagesChanged,
    ImagesLoaded,
    LoadFailed,
    UsageLoaded,
)
from tui.screens.base import ListHost, failure_text, list_host
from tui.screens.list_base import ImageListScreen
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
from tui.widgets.image_table import ImageTable

if TYPE_CHECKING:
    from tui.prefetch import Prefetch


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


class DaemonImageList(ImageListScreen):
    """One daemon's images with usage columns, kept current by the daemon's events."""

    SUMMARY_START = "Connecting…"

    def __init__(self) -> None:
        super().__init__()
        self.images: list[Image] = []
        self.usage: DiskUsage | None = None
        # Images merged with disk usage and their summary, computed once per load rather than
        # on every keystroke (with_usage copies every image).
        self._merged: list[Image] = []
        self._summary: ImageSummary | None = None
        self.info: DaemonInfo | None = None
        self.loaded = False
        self._select_after_load: str | None = None
        self._memory_released = False  # see on_usage_loaded
        # The summary's reclaimable words, kept per load (see _reclaimable_words).
        self._loads = 0
        self._reclaimable: tuple[tuple[int, int], str] | None = None
        # hidden_columns (ImageListScreen) is set by the app before mounting.

    @property
    def deck(self) -> ListHost:
        """The App, as the list sees it (tui/screens/base.py; no import of tui.app)."""
        return list_host(self.app)

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
            # Usually an unreachable or odd daemon, which the service then reports itself; a
            # bug in the early parse would otherwise leave no trace, so the log keeps it.
            get_logger("startup").warning(
                "the early list failed; the service lists the images instead", exc_info=True
            )
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
        self.refresh_summary()

    def select_after_load(self, reference: str) -> None:
        """Put the cursor on ``reference`` now, or as soon as a reload shows it.

        The same after a build, commit, tag or pull: the new image is selected where the list
        shows it. A filter that matches it stays; one that hides it is cleared, and a notice
        says so (the user just made that image and expects to see it).
        """
        if self._reveal(reference):
            self.query_one(ImageTable).rows_changed()
            self.refresh_summary()
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
        self._drop_filter()
        self.query_one(ImageTable).focus()
        self.notify(f"Filter {hidden_by!r} cleared to show {reference}.", timeout=6, markup=False)
        return self.model.select_reference(reference)

    # -- live updates ------------------------------------------------------------------------

    def on_images_changed(self, message: ImagesChanged) -> None:
        """Coalesce a burst of daemon events into one reload (ImageListScreen.coalesce_reload)."""
        # The app forwards daemon events to this screen; a message that bubbled back up to
        # the app would be forwarded again, forever (a busy loop that also kept postponing
        # the reload).
        message.stop()
        self.coalesce_reload()

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

    def listed_images(self) -> list[Image]:
        """The images as the list shows them, disk usage merged in.

        Those of the last redraw; before the first one, the latest images merged with the
        latest usage (the same thing, computed now).
        """
        return self._merged or with_usage(self.images, self.usage)

    def refresh_summary(self) -> None:
        """Redraw the summary line (counts, marks, sizes, reclaimable)."""
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
            self._table_header(),
        )

    def marked_frees(self, rows: list[ImageRow]) -> int:
        """What deleting ``rows`` would free: only images losing every tag free space.

        Layers shared only among those images count once and layers a kept image holds not at
        all (from each image's layer chain, loaded in the background; until it arrives, the
        sum of df unique sizes stands in).
        """
        from tui.screens.cleanup_controller import cleanup_controller

        return cleanup_controller(self).marked_frees(rows)

    def on_resize(self) -> None:
        """Re-layout the column header."""
        self._update_table_header()

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
