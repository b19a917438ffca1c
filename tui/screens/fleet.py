"""The fleet view: the images of several daemons in one list, with a DAEMON column.

Opened by `imagedeck --host A --host B` (or ``NAME=URL``) and by marking several contexts in
the context switcher (`C`, space marks, Enter opens). The list is the image list's own model
and table (filter, sort and marks work across daemons; one image ID on two daemons is two
rows); the summary gives the totals and a line per daemon, a daemon that does not answer
shown as down with the reason while the others stay listed. `d` and `X` open one preview
grouped by daemon; each daemon's part runs on that daemon and each outcome is reported under
it. Every daemon's events keep the list current (one thread per daemon, coalesced reloads).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import safe
from tui.screens.base import failure_text, features
from tui.screens.list_base import (
    ImageListScreen,
    help_quit_bindings,
    row_reference,
    sort_mark_bindings,
)
from tui.screens.list_base import binding as _b
from tui.service.fleet import (
    DaemonState,
    Fleet,
    FleetListing,
    FleetOutcome,
    group_rows,
    plan_fleet_delete,
)
from tui.service.models import DaemonEvent
from tui.widgets.image_table import ImageTable

if TYPE_CHECKING:
    from tui.service.api import ImageServiceAPI

UP_SYMBOL = "●"
DOWN_SYMBOL = "✖"


class FleetLoaded(Message):
    """Every daemon answered the list (or was found down)."""

    def __init__(self, listing: FleetListing) -> None:
        super().__init__()
        self.listing = listing


class FleetChanged(Message):
    """A daemon's images or containers changed, or its event stream broke or came back."""

    def __init__(self, daemon: str) -> None:
        super().__init__()
        self.daemon = daemon


def daemon_line(state: DaemonState, width: int = 0) -> str:
    """One daemon in the summary, on one line of ``width`` cells (0: any length): up with its
    totals (and its address when it fits), or down with the reason (cut when it does not fit;
    the whole reason is in the log and on a reload's failure)."""
    if not state.up:
        line = f"{DOWN_SYMBOL} {state.name}  DOWN: {state.reason}"
        return fmt.ellipsize(line, width) if width else line
    disk = f" · on disk {fmt.size(state.disk)}" if state.disk is not None else ""
    images = f"{state.images} image{'' if state.images == 1 else 's'}"
    tags = f"{state.tags} tag{'' if state.tags == 1 else 's'}"
    line = f"{UP_SYMBOL} {state.name}  {images} · {tags} · logical {fmt.size(state.logical)}{disk}"
    address = f"  ({state.address})"
    if not width or len(line) + len(address) <= width:
        return line + address
    return fmt.ellipsize(line, width)


class FleetScreen(ImageListScreen):
    """Several daemons' images in one list (see the module docstring)."""

    CSS_PATH = "fleet.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        _b("slash", "filter", "Filter", "Filter as you type (Esc clears)", "fleet.filter", True),
        _b("escape", "escape", "Back", "Clear the filter / leave the fleet view", "fleet.escape"),
        *sort_mark_bindings("fleet"),
        _b("d", "delete", "Delete", "Delete marked rows, each on its daemon", "fleet.delete", True),
        _b(
            "X",
            "cleanup",
            "Cleanup",
            "Cleanup across daemons (preview first)",
            "fleet.cleanup",
            True,
        ),
        _b("S", "save_archive", "Save", "Save marked images of one daemon", "fleet.save"),
        _b(
            "E",
            "copy_to_daemon",
            "Copy to daemon",
            "Copy marked images of one daemon to another daemon of the fleet",
            "fleet.copy_to_daemon",
        ),
        _b("R", "reload", "Reload", "Ask every daemon again now", "fleet.reload"),
        *help_quit_bindings("fleet"),
    ]
    SUMMARY_START = "Asking every daemon…"
    STATUS_ID = "fleet-daemons"  # one line per daemon
    FILTER_PLACEHOLDER = "filter: repository, tag, ID or daemon"
    # A burst of events on any daemon (a prune deletes hundreds of images) gives one reload
    # after a short quiet gap, never later than the cap after the burst's first event.
    COALESCE_QUIET = 0.2
    COALESCE_MAX = 1.0

    def __init__(self, fleet: Fleet, *, hidden: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.fleet = fleet
        # LAST USED is recorded per daemon for the single-daemon list only (lastused.py).
        self.hidden_columns = hidden | {"last_used"}
        self.listing: FleetListing | None = None
        self._stop = threading.Event()

    def header(self) -> Text:
        """The fleet's daemons by name."""
        names = ", ".join(self.fleet.names)
        return safe(f"imagedeck · fleet of {len(self.fleet.names)} daemons: {names}")

    @property
    def show_daemon(self) -> bool:
        """The DAEMON column, with more than one daemon."""
        return len(self.fleet.names) > 1

    def on_mount(self) -> None:
        """Load every daemon, follow every daemon's events."""
        self.query_one("#filter").display = False
        self.query_one(ImageTable).focus()
        self._update_table_header()
        self.reload()
        self.fleet.follow_events(self._event_from_thread, self._stop)

    def on_unmount(self) -> None:
        """Stop the event threads and close every daemon's client (off the UI thread)."""
        self._stop.set()
        threading.Thread(target=self.fleet.close, name="fleet-close", daemon=True).start()

    # -- loading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Ask every daemon again (in parallel, in a worker)."""
        self.load()

    @work(thread=True, exclusive=True, group="fleet-load", exit_on_error=False)
    def load(self) -> None:
        """The fan-out list: each daemon's images and usage, or why it is down."""
        self.post_message(FleetLoaded(self.fleet.list_all()))

    def on_fleet_loaded(self, message: FleetLoaded) -> None:
        """New rows: cursor, marks and filter stay."""
        self.listing = message.listing
        self.model.set_images(message.listing.images)
        self.query_one(ImageTable).rows_changed()
        self.refresh_summary()

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """A failed load says so in the summary (each daemon's own failure is in its line)."""
        if worker.group == "fleet-load":
            self.query_one("#summary", Static).update(f"Could not load: {failure_text(error)}")

    # -- events ----------------------------------------------------------------------------------

    def _event_from_thread(self, daemon: str, event: DaemonEvent | None) -> None:
        # Runs in the daemon's events thread: only post a message (thread-safe).
        del event
        if not self._stop.is_set():
            self.post_message(FleetChanged(daemon))

    def on_fleet_changed(self, _: FleetChanged) -> None:
        """Coalesce a burst of events (from any daemon) into one reload."""
        self.coalesce_reload()

    # -- summary ---------------------------------------------------------------------------------

    def on_resize(self) -> None:
        """Re-layout the column header and the daemons' lines."""
        self._update_table_header()
        self.refresh_summary()

    def refresh_summary(self) -> None:
        """Redraw the summary line (the daemons' totals, marks, sort)."""
        listing = self.listing
        if listing is None:
            return
        up = [s for s in listing.states if s.up]
        images = sum(s.images for s in up)
        tags = sum(s.tags for s in up)
        shown, total = len(self.model.visible), len(self.model.rows)
        parts = [f"{len(listing.states)} daemons"]
        if listing.down:
            parts[0] += f" ({len(listing.down)} down)"
        head = f"{images} images · {tags} tags"
        if shown != total:
            head += f" ({shown} shown)"
        parts.append(head)
        parts.append(f"logical {fmt.size(sum(s.logical for s in up))}")
        disks = [s.disk for s in up if s.disk is not None]
        if disks:
            parts.append(f"on disk {fmt.size(sum(disks))}")
        marked = self.model.marked_rows()
        if marked:
            daemons = len({getattr(r.image, "daemon", "") for r in marked})
            parts.append(f"{len(marked)} marked on {daemons} daemon(s)")
        sort = self.model.sort.label + (" ↑" if self.model.reverse else "")
        parts.append(f"sort {sort}")
        self.query_one("#summary", Static).update(" · ".join(parts))
        per_daemon = self.query_one("#fleet-daemons", Static)
        # One line per daemon, so the table keeps its rows at 80x24.
        width = per_daemon.content_region.width or max(self.size.width - 2, 40)
        lines = Text()
        for state in listing.states:
            if lines:
                lines.append("\n")
            lines.append(safe(daemon_line(state, width), "" if state.up else "bold"))
        per_daemon.update(lines)
        per_daemon.set_class(bool(listing.down), "-down")
        self._update_table_header()

    def action_escape(self) -> None:
        """Esc clears and hides the filter; with no filter, back to the single-daemon list."""
        if not self._clear_filter():
            self.dismiss(None)

    # -- delete and cleanup ----------------------------------------------------------------------

    def action_delete(self) -> None:
        """Delete the marked rows (or this one): one preview grouped by daemon, then the run."""
        from tui.modals.fleet import FleetPlanDialog

        rows = self.model.targets()
        if not rows:
            return
        images = self.listing.images if self.listing is not None else ()
        plan = plan_fleet_delete(rows, images, self.fleet.names)
        dialog = FleetPlanDialog(
            self.fleet.names, self.fleet.execute, plan=plan, service_of=self.fleet.connected
        )
        self.app.push_screen(dialog, self._after_run)

    def action_cleanup(self) -> None:
        """The cleanup wizard across daemons: choose, preview grouped by daemon, run."""
        from tui.modals.fleet import FleetPlanDialog

        needle = self.model.filter_text
        # A filter that is a daemon's name means "this daemon": its cleanup, unfiltered (a
        # repository never matches a daemon's name, so it would find nothing).
        only = tuple(n for n in self.fleet.names if needle and n.lower() == needle)
        if only:
            dialog = FleetPlanDialog(
                only,
                self.fleet.execute,
                planner=lambda options: self.fleet.plan_cleanup(options, only),
            )
        else:
            dialog = FleetPlanDialog(
                self.fleet.names,
                self.fleet.execute,
                planner=self.fleet.plan_cleanup,
                filter_text=needle,
            )
        self.app.push_screen(dialog, self._after_run)

    def _after_run(self, outcomes: list[FleetOutcome] | None) -> None:
        if outcomes:
            failed = sum(1 for o in outcomes if not o.outcome.ok)
            daemons = len({o.daemon for o in outcomes})
            self.notify(
                f"{len(outcomes) - failed} done, {failed} failed, on {daemons} daemon(s).",
                timeout=5,
                markup=False,
            )
            self.reload()

    # -- archives: save, copy to another member ------------------------------------------------

    def one_daemon_targets(self, verb: str) -> tuple[str, list[str], ImageServiceAPI] | None:
        """The daemon, references and service of the marked rows (or this one) when they are
        all on one connected daemon; else None, having said why (an archive or a copy has one
        daemon as source)."""
        rows = self.model.targets()
        if not rows:
            return None
        grouped = group_rows(rows)
        if len(grouped) > 1:
            counts = ", ".join(f"{len(r)} on {name}" for name, r in grouped.items())
            self.notify(
                f"Cannot {verb} across daemons: the marked images are {counts}. An archive or "
                f"a copy takes one daemon's images: filter by a daemon's name, mark there, "
                f"and press the key again (A clears the marks).",
                severity="warning",
                timeout=8,
                markup=False,
            )
            return None
        daemon = next(iter(grouped))
        service = self.fleet.connected(daemon)
        if service is None:
            self.notify(
                f"{daemon} is not connected (down?): R asks every daemon again.",
                severity="warning",
                markup=False,
            )
            return None
        return daemon, [row_reference(row) for row in rows], service

    def action_save_archive(self) -> None:
        """Save the marked images (or this one) of one daemon into one archive file."""
        from tui.modals.archives import DEFAULT_ARCHIVE, SaveDialog

        found = self.one_daemon_targets("save")
        if found is None:
            return
        daemon, references, source = found
        path = f"{DEFAULT_ARCHIVE.removesuffix('.tar')}-{daemon}.tar"
        dialog = SaveDialog(references, path, source=source, daemon_name=daemon)
        self.app.push_screen(dialog)

    def action_copy_to_daemon(self) -> None:
        """Copy the marked images (or this one) of one daemon to another daemon of the fleet."""
        from tui.modals.archives import CopyDialog

        found = self.one_daemon_targets("copy")
        if found is None:
            return
        daemon, references, source = found
        dialog = CopyDialog(
            references, (), "", source=source, daemon_name=daemon, members=self.fleet.specs
        )
        self.app.push_screen(dialog, self._after_copy)

    def _after_copy(self, _: bool | None) -> None:
        # The target's events reload the list too; this covers a member without events.
        self.reload()

    # -- the rest ----------------------------------------------------------------------------

    def action_help(self) -> None:
        """Every key here, and the daemons of the fleet."""
        extra = "\n\nDaemons of this view:" + "".join(
            f"\n  {s.name}: {s.address}" for s in self.fleet.specs
        )
        features(self.app).action_help(extra)
