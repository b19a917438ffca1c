"""A transfer (pull or push) drawn as text: an overall bar, then one bar per layer.

Bars are drawn from ``progressDetail`` numbers (newer daemons no longer send the preformatted
``progress`` string). The widget holds no timers of its own: the transfers screen refreshes
running transfers once a second so elapsed time and speed move even when no bytes arrive.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget

from tui import format as fmt
from tui.safe_text import scrub, visible
from tui.service.transfer_progress import LayerProgress, Overall, TransferEvent

RUNNING = "running"
CANCELLING = "cancelling"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"

_ICONS = {RUNNING: "▶", CANCELLING: "◌", DONE: "✔", FAILED: "✘", CANCELLED: "⊘"}
_STATE_STYLES = {
    RUNNING: "bold",
    CANCELLING: "yellow",
    DONE: "bold green",
    FAILED: "bold red",
    CANCELLED: "yellow",
}
# The four states a person reads in a layer row; the daemon's other statuses map onto them.
_LAYER_LABELS = {
    "Pulling fs layer": "Waiting",
    "Waiting": "Waiting",
    "Preparing": "Waiting",
    "Downloading": "Downloading",
    "Verifying Checksum": "Verifying",
    "Download complete": "Downloaded",
    "Extracting": "Extracting",
    "Pull complete": "Pull complete",
    "Already exists": "Already exists",
    "Pushing": "Pushing",
    "Pushed": "Pushed",
    "Layer already exists": "Already exists",
}


@dataclass
class Transfer:
    """What the transfers screen knows about one pull or push (UI-thread state only)."""

    id: int
    kind: str
    reference: str
    started: float
    options: str = ""
    state: str = RUNNING
    event: TransferEvent | None = None
    ended: float | None = None
    error: str = ""
    #: Layers in the order they first appeared (the daemon's order), by id.
    layers: dict[str, LayerProgress] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """True until the transfer ended (a cancelling transfer is still running)."""
        return self.state in (RUNNING, CANCELLING)

    def elapsed(self, now: float) -> float:
        """Seconds since the start (frozen at the end)."""
        return max((self.ended if self.ended is not None else now) - self.started, 0.0)

    def speed(self, now: float) -> float | None:
        """Average bytes per second so far, or None before a second has passed."""
        elapsed = self.elapsed(now)
        if self.event is None or elapsed < 1.0:
            return None
        return self.event.overall.bytes_done / elapsed

    def apply(self, event: TransferEvent) -> None:
        """Take a newer snapshot (its statuses are a registry's text: made safe here)."""
        event = scrub(event, keep_newlines=False, keep_tabs=False)
        self.event = event
        for layer in event.layers:
            self.layers[layer.id] = layer


def bar(fraction: float, width: int) -> Text:
    """A text progress bar ``━━━━╸────`` of ``width`` cells."""
    width = max(width, 1)
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(fraction * width)
    text = Text()
    text.append("━" * filled, style="green" if fraction >= 1.0 else "cyan")
    if filled < width:
        text.append("╸" if fraction * width - filled >= 0.5 else "─", style="cyan dim")
        text.append("─" * (width - filled - 1), style="dim")
    return text


def duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``)."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(fraction: float) -> int:
    """The whole percent a fraction has reached (rounded down: 100 only when all is done)."""
    return int(min(max(fraction, 0.0), 1.0) * 100 + 1e-9)


def bytes_text(overall: Overall, final: bool = False) -> str:
    """``857.2 MB/900.3 MB``: moved / all known; the total reads ``≥900.3 MB`` while layers
    the daemon has not sized yet are still to come (it can only grow then)."""
    total = fmt.size(overall.bytes_total)
    if overall.sizes_unknown and not final:
        total = "≥" + total
    return f"{fmt.size(overall.bytes_done)}/{total}"


def layer_label(status: str) -> str:
    """The short state a layer row shows."""
    if status.startswith("Mounted from"):
        return "Mounted"
    return _LAYER_LABELS.get(status, status[:16])


def render_transfer(transfer: Transfer, width: int, now: float, selected: bool = False) -> Text:
    """The transfer as lines of text for ``width`` cells."""
    width = max(width, 40)
    out = Text(no_wrap=True, overflow="ellipsis")
    icon = _ICONS.get(transfer.state, "?")
    state_style = _STATE_STYLES.get(transfer.state, "")
    out.append(f"{'>' if selected else ' '}{icon} ", style=state_style)
    out.append(f"{transfer.kind} ", style="bold")
    out.append(fmt.ellipsize(transfer.reference, width - 30))
    if transfer.options:
        out.append(f"  ({transfer.options})", style="dim")
    out.append("  ")
    out.append(_state_text(transfer), style=state_style)
    out.append("\n")

    event = transfer.event
    overall = event.overall if event else None
    stats = []
    # The bytes first, right after the percentage that is computed from them.
    if overall is not None and overall.bytes_total:
        stats.append(bytes_text(overall, final=not transfer.running))
    if overall is not None and overall.layers:
        stats.append(f"{overall.layers_done}/{overall.layers} layers")
    speed = transfer.speed(now)
    if speed is not None and transfer.running:
        stats.append(f"{fmt.size(int(speed))}/s")
    stats.append(duration(transfer.elapsed(now)))
    stats_text = "  ".join(stats)
    fraction = 1.0 if transfer.state == DONE else (overall.fraction if overall else 0.0)
    bar_width = max(width - len(stats_text) - 12, 8)
    out.append("   ")
    out.append_text(bar(fraction, bar_width))
    out.append(f" {percent(fraction):>3}%  ", style="bold")
    out.append(stats_text, style="dim")

    if transfer.error:
        # Reasons are whole sentences a person acts on: wrap them, never cut them.
        style = "red" if transfer.state == FAILED else "yellow"
        for line in textwrap.wrap(visible(transfer.error), max(width - 4, 20)):
            out.append("\n   ")
            out.append(line, style=style)
    elif overall is not None and overall.status and transfer.state == DONE:
        out.append("\n   ")
        out.append(fmt.ellipsize(overall.status, width - 4), style="dim")

    layer_bar = max(min(width - 58, 40), 6)
    for layer in transfer.layers.values():
        label = layer_label(layer.status)
        out.append("\n     ")
        out.append(f"{layer.id[:12]:<12}  ", style="dim")
        out.append(f"{label:<14} ", style=_layer_style(layer))
        if layer.status == "Already exists" or layer.status == "Layer already exists":
            out.append_text(bar(1.0, layer_bar))
        else:
            out.append_text(bar(layer.fraction, layer_bar))
        detail = ""
        if layer.status in ("Downloading", "Pushing", "Extracting") and layer.total:
            detail = f" {fmt.size(layer.current or 0)}/{fmt.size(layer.total)}"
        elif layer.size and layer.done:
            detail = f" {fmt.size(layer.size)}"
        out.append(detail, style="dim")
    return out


def _state_text(transfer: Transfer) -> str:
    if transfer.state == RUNNING:
        if transfer.event is None:
            return "starting…"
        return fmt.ellipsize(transfer.event.status or "working…", 40)
    return {
        CANCELLING: "cancelling…",
        DONE: "Pulled" if transfer.kind == "pull" else "Pushed",
        FAILED: "Failed",
        CANCELLED: "Cancelled",
    }.get(transfer.state, transfer.state)


def _layer_style(layer: LayerProgress) -> str:
    if layer.done:
        return "green"
    if layer.status in ("Downloading", "Pushing", "Extracting"):
        return "cyan"
    return "dim"


class TransferView(Widget, can_focus=True):
    """One transfer; focus it (↑ ↓) and press Esc to cancel it."""

    DEFAULT_CSS = """
    TransferView {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
    }
    TransferView:focus {
        background: $boost;
    }
    """

    def __init__(self, transfer: Transfer, clock: Callable[[], float]) -> None:
        super().__init__(id=f"transfer-{transfer.id}")
        self.transfer = transfer
        self.clock = clock

    def render(self) -> Text:
        """The transfer's lines."""
        return render_transfer(
            self.transfer, self.size.width or 80, self.clock(), selected=self.has_focus
        )

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        """One header line, the bar line, an optional message line, one line per layer."""
        return str(self.render()).count("\n") + 1
