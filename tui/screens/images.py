"""The image list's keys: every key of the single-daemon list and the feature each one opens.

The list itself (loading, live updates, summary, connection banner) is ``DaemonImageList``
(tui/screens/daemon_list.py); what it shares with the fleet view (filter, sort, marks, the
widgets) is ``ImageListScreen`` (tui/screens/list_base.py). Features live in their own
modules and are imported inside their action, so start-up stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.widgets import Input

from tui.screens.base import features
from tui.screens.daemon_list import DaemonImageList
from tui.screens.list_base import COALESCE_MAX as COALESCE_MAX  # tests wait past it
from tui.screens.list_base import binding as _b
from tui.screens.list_base import help_quit_bindings, row_reference, sort_mark_bindings
from tui.service.models import ImageRow
from tui.widgets.image_table import ImageTable

if TYPE_CHECKING:
    from tui.service.cleanup import ResultLog


# `/` and Enter-in-the-filter share their help text, so help shows them as one row.
FILTER_HELP = "Filter as you type (Enter back to the list, Esc clears)"


class ImagesScreen(DaemonImageList):
    """The main screen: the image list with its summary line, and every key's feature."""

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
        *sort_mark_bindings("images"),
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
        *help_quit_bindings("images"),
    ]

    def action_leave_filter(self) -> None:
        """Enter in the filter: back to the list at once, the filter kept (see BINDINGS)."""
        if self.focused is not self.query_one("#filter", Input):
            raise SkipAction()  # Enter on the list: inspect
        self.set_focus(self.query_one(ImageTable))

    def action_copy(self) -> None:
        """Copy the reference (or ID) of this row with OSC 52, which works over SSH."""
        row = self.model.current()
        if row is None:
            return
        self.app.copy_to_clipboard(row.reference)
        self.notify(f"Copied {row.reference}", timeout=2, markup=False)

    def action_help(self) -> None:
        """Every key, as the keymap binds it now."""
        features(self.app).action_help(self.help_extra())

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
        """Tag dialog, prefilled; the new row is selected once the list shows it.

        The dialog announces the tagged image (``ImageArrived``, which the App hands to this
        list); it is given the list's images (for the move note) and the daemon's grammar.
        """
        from tui.modals.tag import TagDialog
        from tui.service.reference import uppercase_domains_on

        row = self.current_row()
        if row is None:
            return
        source = row_reference(row)
        prefill = row.reference if row.tagged else ""
        info = self.info
        uppercase = uppercase_domains_on(info.server_version) if info is not None else True

        def done(target: str | None) -> None:
            if target:
                self.notify(f"Tagged {row.image.short_id} as {target}.", timeout=5, markup=False)

        dialog = TagDialog(
            source, row.reference, prefill, images=self.listed_images, uppercase_domains=uppercase
        )
        self.app.push_screen(dialog, done)

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
        features(self.app).action_pull()

    def action_push(self) -> None:
        """Push this tag, with progress on the transfers screen."""
        row = self.current_row()
        if row is None or not row.tagged:
            self.notify("Only a tagged row can be pushed (tag it first).", severity="warning")
            return
        features(self.app).action_push(row.reference)

    def action_search(self) -> None:
        """Search screen."""
        from tui.screens.search import SearchScreen

        self.app.push_screen(SearchScreen())

    def action_build(self) -> None:
        """Build form."""
        features(self.app).action_build()

    def action_run(self) -> None:
        """Run dialog, then the terminal is handed to `docker run -it`."""
        row = self.current_row()
        if row is None:
            return
        features(self.app).action_run(row.reference)

    def action_transfers(self) -> None:
        """The transfers screen (pulls and pushes, running and ended)."""
        features(self.app).action_transfers()

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
        return [row_reference(row) for row in self.model.targets()]

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
