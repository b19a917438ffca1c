"""The conflict dialog: who holds an image the daemon would not delete, and the ways out.

``conflict_text`` says who holds it and what each way out does; ``force_warning`` is the second
question force asks. Opened by the cleanup controller, the results log and the fleet's delete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static
from textual.worker import Worker

from tui.modals.cleanup_messages import ChildrenLoaded
from tui.screens.base import BaseDialog, failure_text
from tui.service.cleanup import Outcome
from tui.service.errors import ImagedeckError

if TYPE_CHECKING:
    from tui.service.api import ImageServiceAPI

Choice = Literal["cancel", "containers", "force"]


def conflict_text(outcome: Outcome) -> Text:
    """Who holds the image (name, short ID, status) and what each way out does."""
    text = Text()
    text.append(outcome.detail + "\n")
    if outcome.holders:
        text.append("\nContainers using it:\n", style="bold")
        width = max(len(h.name) for h in outcome.holders)
        for holder in outcome.holders:
            style = "bold yellow" if holder.running else ""
            line = f"  {holder.name.ljust(width)}  {holder.short_id}  {holder.status}\n"
            text.append(line, style)
    running = [h for h in outcome.holders if h.running]
    if running:
        names = ", ".join(h.name for h in running)
        refuses = (
            "Podman's force would stop and remove it along with the image"
            if outcome.podman
            else (
                "Force (docker rmi -f) would only remove the tag: the image stays (as <none> "
                "if this is its last tag), because the daemon never deletes an image a running "
                "container uses"
            )
        )
        text.append(
            f"\n{names} {'is' if len(running) == 1 else 'are'} running. {refuses}, and "
            "imagedeck does not stop containers for you: stop it first "
            f"(docker stop {running[0].name}), then delete again.",
            style="yellow",
        )
    elif outcome.holders and outcome.podman:
        text.append(
            "\nr removes the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above, then the image.\n"
            "f force-removes the image, and on Podman the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above with it (asks again first)."
        )
    elif outcome.holders and outcome.containerd:
        text.append(
            "\nr removes the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above, then the image: that frees "
            "the space.\n"
            "f only untags it: on the containerd image store force removes the name, the "
            "image stays as <none> for the container and nothing is freed (asks again first)."
        )
    elif outcome.holders:
        text.append(
            "\nr removes the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above, then the image.\n"
            "f force-removes the image alone and leaves the container pointing at a bare image "
            "ID (asks again first)."
        )
    if outcome.children:
        text.append(
            "\nOther images are built on this one (it is their parent layer chain), so the "
            "daemon keeps it while they exist. Delete those images first, or only untag this "
            "reference: the layers stay for its children either way."
        )
    return text


class ConflictDialog(BaseDialog[Choice]):
    """The tutorial's `docker rmi` conflict, with the ways out: containers then image, force.

    Cancel is focused and is what Esc answers. Force is a separate choice that asks again,
    and neither way out is offered when a running container holds the image.
    """

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "choose('cancel')", "Cancel", id="conflict.cancel"),
        Binding("r", "choose('containers')", "Remove containers", id="conflict.containers"),
        Binding("f", "choose('force')", "Force…", id="conflict.force"),
    ]

    def __init__(
        self, outcome: Outcome, *, source: ImageServiceAPI | None = None, where: str = ""
    ) -> None:
        """``source``/``where``: the fleet daemon the conflict is on (else the app's service)."""
        super().__init__()
        self.outcome = outcome
        self.source = source
        self.where = where
        holders = outcome.holders
        self.can_resolve = bool(holders) and not any(h.running for h in holders)

    def compose(self) -> ComposeResult:
        """What holds the image, and the buttons that apply."""
        title = f"{self.outcome.subject} is in use"
        if self.outcome.children and not self.outcome.holders:
            title = f"{self.outcome.subject} has dependent child images"
        if self.where:
            title += f" on {self.where}"
        with Vertical(classes="dialog danger", id="conflict-dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(conflict_text(self.outcome), id="conflict-text")
                if self.outcome.children:
                    yield Static("Looking for child images…", id="conflict-children", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary", compact=True)
                if self.can_resolve:
                    n = len(self.outcome.holders)
                    yield Button(
                        f"Remove {n} container{'s' if n != 1 else ''}, then image (r)",
                        id="containers",
                        variant="warning",
                        compact=True,
                    )
                    yield Button("Force… (f)", id="force", variant="error", compact=True)
            keys = "r containers then image · f force… · Esc cancels"
            yield Static(keys if self.can_resolve else "Esc closes", classes="dialog-keys")

    def on_mount(self) -> None:
        """Cancel is the default; look up child images when that is the conflict."""
        self.query_one("#cancel", Button).focus()
        if self.outcome.children:
            self.load_children()

    @work(thread=True, exclusive=True, group="conflict-children", exit_on_error=False)
    def load_children(self) -> None:
        """Which images are built on this one."""
        try:
            service = self.source if self.source is not None else self.service
            children = service.child_images(self.outcome.image_id)
        except ImagedeckError as exc:
            children = [f"(could not list them: {exc})"]
        self.post_message(ChildrenLoaded(children))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """The children lookup broke: say so instead of "Looking for child images…"."""
        if worker.group == "conflict-children":
            self.post_message(ChildrenLoaded([f"(could not list them: {failure_text(error)})"]))

    def on_children_loaded(self, message: ChildrenLoaded) -> None:
        """List the children."""
        text = "Built on it: " + (", ".join(message.children) or "(none listed)")
        self.query_one("#conflict-children", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons answer like the keys."""
        event.stop()
        self.action_choose(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        """Close with a choice; ways out that do not apply are ignored."""
        if choice in ("containers", "force") and not self.can_resolve:
            return
        self.dismiss(choice)  # type: ignore[arg-type]


def force_warning(outcome: Outcome) -> str:
    """What force leaves behind, naming the containers."""
    names = ", ".join(f"{h.name} ({h.short_id})" for h in outcome.holders)
    if outcome.podman:
        return (
            f"Force removes {outcome.subject} and, on Podman, {names} with it: the "
            f"container{'s are' if len(outcome.holders) != 1 else ' is'} deleted, not left "
            "pointing at a bare image ID. Removing the containers first (r) does the same, "
            "one step at a time."
        )
    if outcome.containerd:
        return (
            f"{names} still use{'s' if len(outcome.holders) == 1 else ''} {outcome.subject}. "
            "On the containerd image store force only untags it: the image stays as <none> "
            "for the container, and no space comes back. To free the space, remove the "
            "container first (r), then the image."
        )
    return (
        f"Force removes {outcome.subject} although {names} still "
        f"use{'s' if len(outcome.holders) == 1 else ''} it. The container stays, pointing at a "
        "bare image ID: `docker ps -a` shows the ID instead of the name, and it cannot be "
        "recreated from the name. Removing the container first (r) avoids this."
    )
