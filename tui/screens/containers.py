"""`c`: containers, running and stopped: name, short ID, image, status, created, size.

Opened from the images screen it shows the current image's containers (`a` shows all). `d`
removes a stopped container after a confirmation with focus on Cancel; running ones are refused
with the reason. `c` (binding id ``containers.commit``) is commit, which lives in
``tui/modals/commit.py``: ``action_commit`` is its hook.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import ColumnKey
from textual.worker import Worker

from tui import format as fmt
from tui.modals.confirm import ConfirmDialog
from tui.safe_text import safe
from tui.screens.base import (
    BaseScreen,
    failure_text,
    features,
    follow_daemon_events,
    stop_following_daemon_events,
)
from tui.service.errors import ImagedeckError
from tui.service.models import Container, DaemonEvent

COLUMNS = ("NAME", "CONTAINER ID", "IMAGE", "STATUS", "CREATED", "SIZE")
# Cells the DataTable adds around each column (cell_padding 1 on each side).
PADDING = 2
# The vertical scrollbar's room, kept free so a long list does not push SIZE off.
SCROLLBAR = 2
ID_WIDTH = 12
# CREATED is as wide as its longest age (fmt.age gives at most 13 cells), never cut: an age
# that grows longer as time passes lays the table out again (refresh_ages).
# The shrinkable columns never go below these (NAME, IMAGE, STATUS).
MINIMUM = {"NAME": 8, "IMAGE": 10, "STATUS": 10}


def size_text(container: Container, virtual: bool = True) -> str:
    """`docker ps --size` style: writable layer, and (``virtual``) the image underneath it."""
    if container.size_rw is None:
        return "…"
    text = fmt.size(container.size_rw)
    if virtual and container.size_root_fs is not None:
        text += f" (virtual {fmt.size(container.size_root_fs)})"
    return text


def fit_columns(width: int, natural: dict[str, int]) -> dict[str, int]:
    """Widths for NAME, IMAGE and STATUS in ``width`` cells: each its natural width when they
    fit, else the widest is narrowed one cell at a time, never below MINIMUM."""
    widths = {name: max(natural.get(name, 0), len(name)) for name in MINIMUM}
    while sum(widths.values()) > width:
        shrinkable = [n for n in widths if widths[n] > MINIMUM[n]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda n: widths[n])
        widths[widest] -= 1
    return widths


class ContainersLoaded(Message):
    """A fresh container list."""

    def __init__(self, containers: list[Container]) -> None:
        super().__init__()
        self.containers = containers


class ContainersFailed(Message):
    """Listing or removing failed; ``error`` says why."""

    def __init__(self, error: ImagedeckError) -> None:
        super().__init__()
        self.error = error


class ContainerRemoved(Message):
    """The daemon removed a container."""

    def __init__(self, container: Container) -> None:
        super().__init__()
        self.container = container


def _b(key: str, action: str, short: str, long: str, bid: str, show: bool = True) -> Binding:
    return Binding(key, action, short, show=show, id=bid, tooltip=long)


def image_label(image: str) -> str:
    """The IMAGE column: a reference as given, a bare ``sha256:…`` ID shortened to 12 digits
    (a container whose image lost its tags shows the ID; 71 characters pushed STATUS off)."""
    if image.startswith("sha256:"):
        return image.removeprefix("sha256:")[:12]
    return image


class ContainersScreen(BaseScreen[None]):
    """Containers (optionally only those of one image), with remove and commit."""

    CSS_PATH = "containers.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        _b(
            "d",
            "remove",
            "Remove",
            "Remove this container (stopped ones only)",
            "containers.remove",
        ),
        _b("c", "commit", "Commit", "Commit this container to an image", "containers.commit"),
        _b("a", "toggle_all", "All/image", "Show all containers / this image's", "containers.all"),
        _b("R", "reload", "Reload", "Reload the list now", "containers.reload", False),
        _b("question_mark", "help", "Help", "Help with every key", "containers.help"),
        _b("escape,q", "back", "Back", "Back to the images", "containers.back"),
    ]

    def __init__(self, image_id: str | None = None, image_label: str = "") -> None:
        super().__init__()
        self.image_id = image_id
        self.image_label = image_label
        self.show_all = image_id is None
        self.containers: list[Container] = []
        self.loaded = False
        self._reload_timer: Timer | None = None
        self._width = 0

    def compose(self) -> ComposeResult:
        """Title, the table, a status line, the footer."""
        yield Static("", id="containers-title", markup=False)
        table: DataTable[str] = DataTable(
            id="containers-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Static("Loading containers…", id="containers-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Columns, then load."""
        table = self.query_one("#containers-table", DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label)
        table.focus()
        self._update_title()
        self.load()
        follow_daemon_events(self, self.daemon_changed)
        self.set_interval(fmt.AGE_CHECK_SECONDS, self.refresh_ages)

    def on_unmount(self) -> None:
        """No more daemon events once the screen is gone."""
        stop_following_daemon_events(self)

    # -- data ----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="containers", exit_on_error=False)
    def load(self) -> None:
        """List containers with their sizes (the daemon walks their files: a thread)."""
        try:
            self.post_message(ContainersLoaded(self.service.list_containers(sizes=True)))
        except ImagedeckError as exc:
            self.post_message(ContainersFailed(exc))

    def daemon_changed(self, events: tuple[DaemonEvent, ...]) -> None:
        """Container events from the app's daemon-events signal: reload once a burst settles."""
        if not any(e.type == "container" for e in events):
            return
        if self._reload_timer is not None:
            self._reload_timer.stop()
        self._reload_timer = self.set_timer(0.2, self._reload_after_events)

    def _reload_after_events(self) -> None:
        self._reload_timer = None
        self.load()

    def shown(self) -> list[Container]:
        """The containers the table shows."""
        if self.show_all or self.image_id is None:
            return self.containers
        return [c for c in self.containers if c.image_id == self.image_id]

    def on_containers_loaded(self, message: ContainersLoaded) -> None:
        """Fill the table, keeping the cursor on the same container."""
        current = self.current_container()
        self.containers = message.containers
        self.loaded = True
        self._fill(current.id if current else None)

    def on_resize(self) -> None:
        """The columns are laid out for the width: fill again when it changed."""
        if self.loaded and self.size.width != self._width:
            current = self.current_container()
            self._fill(current.id if current else None)

    def _layout(self, rows: list[Container]) -> tuple[dict[str, int], bool]:
        """Every column's width for this screen's width, and whether SIZE shows the virtual
        size: at 80 columns the writable size alone, NAME/IMAGE/STATUS cut to what is left."""
        # The scrollbar's room only when the rows overflow (title, header, status, footer).
        overflow = len(rows) > max((self.size.height or 24) - 4, 1)
        total = (self.size.width or 80) - (SCROLLBAR if overflow else 0) - PADDING * len(COLUMNS)
        names = [c.name for c in rows]
        images = [image_label(c.image) for c in rows]
        statuses = [c.status or c.state for c in rows]
        natural = {
            "NAME": max(map(len, names), default=0),
            "IMAGE": max(map(len, images), default=0),
            "STATUS": max(map(len, statuses), default=0),
        }
        created = max([len(fmt.age(c.created)) for c in rows] + [len("CREATED")])
        widths: dict[str, int] = {}
        for virtual in (True, False):
            size = max([len(size_text(c, virtual)) for c in rows] + [len("SIZE")])
            rest = total - ID_WIDTH - created - size
            widths = fit_columns(rest, natural)
            widths.update({"CONTAINER ID": ID_WIDTH, "CREATED": created, "SIZE": size})
            if sum(natural[n] <= widths[n] for n in MINIMUM) == len(MINIMUM) or not virtual:
                break
        return widths, virtual

    def _fill(self, keep: str | None) -> None:
        table = self.query_one("#containers-table", DataTable)
        rows = self.shown()
        widths, virtual = self._layout(rows)
        self._width = self.size.width
        table.clear(columns=True)
        for label in COLUMNS:
            table.add_column(label, key=label, width=widths[label])
        for c in rows:
            status = c.status or c.state
            # Text, never str: DataTable parses str cells as markup, and these are the daemon's.
            # Cut to the column: the name's and status's ends go, the image keeps its last
            # path component (what tells repositories apart), like the image list.
            table.add_row(
                safe(fmt.ellipsize(c.name, widths["NAME"])),
                c.short_id,
                safe(fmt.ellipsize_path(image_label(c.image), widths["IMAGE"])),
                safe(fmt.ellipsize(status, widths["STATUS"])),
                fmt.age(c.created),
                size_text(c, virtual),
                key=c.id,
            )
        if keep is not None:
            for index, c in enumerate(rows):
                if c.id == keep:
                    table.move_cursor(row=index)
        self._update_title()
        stopped = sum(1 for c in rows if not c.running)
        status = (
            f"{fmt.plural(len(rows), 'container')} · {len(rows) - stopped} running · "
            f"{stopped} stopped"
        )
        if not rows:
            status = "No containers" + ("" if self.show_all else " use this image") + "."
        self.query_one("#containers-status", Static).update(status)

    def refresh_ages(self) -> int:
        """CREATED stays current as time passes (no daemon call): the cells whose age reads
        differently now are rewritten. Returns how many were."""
        table = self.query_one("#containers-table", DataTable)
        changed = 0
        column = table.columns.get(ColumnKey("CREATED"))
        longest = max((len(fmt.age(c.created)) for c in self.shown()), default=0)
        if column is not None and longest > column.width:
            current = self.current_container()
            self._fill(current.id if current else None)  # wider CREATED, the rest narrower
            return len(self.shown())
        for c in self.shown():
            text = fmt.age(c.created)
            if c.id in table.rows and table.get_cell(c.id, "CREATED") != text:
                table.update_cell(c.id, "CREATED", text)
                changed += 1
        return changed

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure is reported like a service error."""
        if worker.group in ("containers", "containers-remove"):
            self.post_message(ContainersFailed(ImagedeckError(failure_text(error))))

    def on_containers_failed(self, message: ContainersFailed) -> None:
        """Say why in the status line and as a notification."""
        self.query_one("#containers-status", Static).update(str(message.error))
        self.notify(str(message.error), title="Containers", severity="error", timeout=10)

    def _update_title(self) -> None:
        if self.show_all or self.image_id is None:
            title = "Containers (all)"
        else:
            title = f"Containers of {self.image_label or self.image_id[7:19]}"
        hint = "  ·  a: only this image's" if self.image_id and self.show_all else ""
        if self.image_id and not self.show_all:
            hint = "  ·  a: all containers"
        self.query_one("#containers-title", Static).update(title + hint)

    def current_container(self) -> Container | None:
        """The container under the cursor (for remove, and for commit)."""
        rows = self.shown()
        table = self.query_one("#containers-table", DataTable)
        if not rows or table.row_count == 0:
            return None
        index = table.cursor_row
        return rows[index] if 0 <= index < len(rows) else None

    # -- actions -------------------------------------------------------------------------------

    def action_remove(self) -> None:
        """Remove a stopped container after confirmation; say why not for a running one."""
        container = self.current_container()
        if container is None:
            return
        if container.running:
            self.notify(
                f"{container.name} is {container.state}: the daemon refuses to remove a running "
                "container, and imagedeck does not stop or kill containers for you. Stop it "
                f"first (docker stop {container.name}).",
                title="Not removed",
                severity="warning",
                timeout=10,
            )
            return
        body = (
            f"{container.name}  {container.short_id}  {container.image}\n"
            f"status: {container.status or container.state}\n\n"
            f"Its writable layer ({fmt.size(container.size_rw)}) is deleted with it; "
            "the image stays."
        )
        dialog = ConfirmDialog(f"Remove container {container.name}?", body, confirm_label="Remove")
        self.app.push_screen(dialog, lambda ok: self._confirmed(container, ok))

    def _confirmed(self, container: Container, ok: bool | None) -> None:
        if ok:
            self.query_one("#containers-status", Static).update(f"Removing {container.name}…")
            self.remove_worker(container)

    @work(thread=True, exclusive=True, group="containers-remove", exit_on_error=False)
    def remove_worker(self, container: Container) -> None:
        """Never forced: a container that started meanwhile is refused by the service."""
        try:
            self.service.remove_container(container.id, name=container.name)
        except ImagedeckError as exc:
            self.post_message(ContainersFailed(exc))
            return
        self.post_message(ContainerRemoved(container))

    def on_container_removed(self, message: ContainerRemoved) -> None:
        """Say so and reload."""
        self.notify(f"Removed container {message.container.name}.", timeout=5, markup=False)
        self.load()

    def action_commit(self) -> None:
        """Commit this container to an image (tui/modals/commit.py)."""
        container = self.current_container()
        if container is not None:
            features(self.app).action_open_commit(container.id, container.name)

    def action_toggle_all(self) -> None:
        """Switch between this image's containers and all containers."""
        if self.image_id is None:
            return
        current = self.current_container()
        self.show_all = not self.show_all
        self._fill(current.id if current else None)

    def action_reload(self) -> None:
        """Reload now."""
        self.load()

    def action_help(self) -> None:
        """Every key of this screen, as the keymap binds it now."""
        features(self.app).action_help()

    def action_back(self) -> None:
        """Back to the images."""
        self.dismiss(None)
