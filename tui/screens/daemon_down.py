"""The full screen shown when the daemon cannot be reached at start: which host, why, and keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from tui.messages import RetryConnect
from tui.safe_text import visible
from tui.screens.base import BaseScreen
from tui.service.errors import DaemonUnreachable, ImagedeckError

HINTS = (
    "Is the daemon running? (systemctl status docker)\n"
    "Another daemon: --host URL, DOCKER_HOST, or --context NAME (docker context ls).\n"
    "A private sandbox daemon for trying imagedeck: scripts/sandbox start, then make run."
)


class DaemonDownScreen(BaseScreen[None]):
    """Says which host could not be reached and why; `r` retries, `q` quits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="down.retry"),
        Binding(
            "C", "app.switch_context", "Context", id="down.context", tooltip="Switch Docker context"
        ),
        Binding("q", "quit_app", "Quit", id="down.quit"),
    ]

    def __init__(self, host: str, error: ImagedeckError) -> None:
        super().__init__()
        self.host = host
        self.error = error

    def compose(self) -> ComposeResult:
        """A centred box with the host, the reason and what to try."""
        with Vertical(id="down-box"):
            yield Static("Cannot reach the Docker daemon", id="down-title")
            yield Static(self._host_text(), id="down-host", markup=False)
            yield Static(self._reason_text(), id="down-reason", markup=False)
            yield Static(HINTS, id="down-hints", markup=False)
            yield Static("Press r to retry, C to switch context, q to quit.", id="down-keys")
        yield Footer()

    def _host_text(self) -> str:
        host = self.error.host if isinstance(self.error, DaemonUnreachable) else self.host
        return f"Host: {host or self.host}"

    def _reason_text(self) -> str:
        # The reason can quote the far end (a certificate's names, a proxy's answer).
        if isinstance(self.error, DaemonUnreachable):
            return f"Reason: {visible(self.error.reason)}"
        return f"Reason: {visible(str(self.error))}"

    def update_error(self, error: ImagedeckError) -> None:
        """Show the outcome of a retry that failed again."""
        self.error = error
        self.query_one("#down-host", Static).update(self._host_text())
        self.query_one("#down-reason", Static).update(self._reason_text())
        self.query_one("#down-keys", Static).update(
            "Still unreachable. Press r to retry, C to switch context, q to quit."
        )

    def action_retry(self) -> None:
        """Try to connect again."""
        self.query_one("#down-keys", Static).update("Retrying…")
        self.post_message(RetryConnect())

    def action_quit_app(self) -> None:
        """Leave imagedeck."""
        self.app.exit()
