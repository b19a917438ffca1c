"""The archive dialogs on the fake service: S save, I load/import, E copy to another daemon."""

from __future__ import annotations

import threading
from typing import Any

from textual.widgets import Button, Input, Static

from tests.ui.fake import FakeService, make_app
from tests.ui.pilot import ready, wait_for
from tui.service.archive_check import ArchiveContents, ArchiveImage, ArchiveProgress
from tui.service.archives import ImportResult, LoadedImage, LoadResult, SaveResult
from tui.service.connection import ContextInfo
from tui.service.errors import ArchiveError, Cancelled, FileExists

CONTEXTS = [
    ContextInfo("default", "unix:///fake/docker.sock", "the local daemon", current=True),
    ContextInfo("build-box", "ssh://me@build-box", "CI builder"),
]


class ArchiveFake(FakeService):
    """Archives in memory: what was asked is recorded; ``gate`` holds a run mid-way."""

    def __init__(self) -> None:
        super().__init__()
        self.existing: set[str] = set()
        self.gate: threading.Event | None = None
        self.asked: list[tuple[str, Any]] = []

    def _step(self, phase: str, progress: Any, cancel: Any) -> None:
        if progress is not None:
            progress(ArchiveProgress(phase, 4_000_000, 10_000_000, True))
        if self.gate is not None:
            while not self.gate.wait(0.02):
                if cancel is not None and cancel.is_set():
                    raise Cancelled(phase.capitalize())

    def save_images(
        self,
        references: Any,
        path: Any,
        *,
        overwrite: bool = False,
        cancel: Any = None,
        progress: Any = None,
    ) -> SaveResult:
        self.asked.append(("save", (list(references), str(path), overwrite)))
        if str(path) in self.existing and not overwrite:
            raise FileExists(str(path))
        self._step("saving", progress, cancel)
        images = tuple(ArchiveImage((r,), "sha256:" + "c" * 64, 2) for r in references)
        return SaveResult(str(path), 12_345_678, ArchiveContents(images, "docker", 12_345_678, 5))

    def load_archive(self, path: Any, *, cancel: Any = None, progress: Any = None) -> LoadResult:
        self.asked.append(("load", str(path)))
        if "bad" in str(path):
            raise ArchiveError(
                f"{path}: the manifest names blobs/sha256/abc, which is not in the archive; "
                "nothing was loaded"
            )
        self._step("sending", progress, cancel)
        return LoadResult(
            (
                LoadedImage(("demo/app:1.0",), "sha256:" + "a" * 64, True),
                LoadedImage(("[red]x[/red]:1",), "sha256:" + "b" * 64, True),
            ),
            ("The image demo/app:1.0 already exists, renaming the old one",),
            9_000_000,
        )

    def import_rootfs(
        self,
        path: Any,
        reference: str,
        *,
        message: str = "",
        changes: Any = (),
        cancel: Any = None,
        progress: Any = None,
    ) -> ImportResult:
        self.asked.append(("import", (str(path), reference)))
        self._step("sending", progress, cancel)
        return ImportResult(reference, "sha256:" + "d" * 64, 2048)

    def copy_images(
        self,
        references: Any,
        *,
        host: str | None = None,
        context: str | None = None,
        cancel: Any = None,
        progress: Any = None,
    ) -> LoadResult:
        self.asked.append(("copy", (list(references), host, context)))
        self._step("copying", progress, cancel)
        return LoadResult(
            tuple(
                LoadedImage((r,), "sha256:" + "e" * 64, True, "same ID eeeeeeeeeeee")
                for r in references
            ),
            (),
            3_000_000,
            host or f"ssh://me@build-box (context {context})",
        )


def archive_app(fake: ArchiveFake | None = None) -> Any:
    return make_app(fake or ArchiveFake(), context_lister=lambda: list(CONTEXTS))


def text_of(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def opened(pilot: Any, keys: tuple[str, ...], name: str) -> None:
    await ready(pilot)
    await pilot.press(*keys)
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == name, name)


async def load_file(pilot: Any, path: str) -> None:
    """Open the load dialog (I), give it ``path`` and press Enter."""
    await opened(pilot, ("I",), "LoadDialog")
    pilot.app.screen.query_one("#load-path", Input).value = path
    await pilot.press("enter")


async def finished(pilot: Any) -> None:
    await wait_for(
        pilot,
        lambda: str(pilot.app.screen.query_one("#archive-ok", Button).label) == "Close",
        "the outcome",
    )


async def test_save_marked_images_to_a_file() -> None:
    fake = ArchiveFake()
    app = archive_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, ("space", "space", "S"), "SaveDialog")
        field = app.screen.query_one("#save-path", Input)
        field.value = "/tmp/two.tar"
        await pilot.press("enter")
        await finished(pilot)
        action, (refs, path, overwrite) = fake.asked[-1]
        assert action == "save" and len(refs) == 2 and path == "/tmp/two.tar" and not overwrite
        outcome = text_of(app, "#archive-outcome")
        assert "Saved 2 image(s), 12.3 MB, to /tmp/two.tar" in outcome
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ImagesScreen", "the list")


async def test_save_asks_before_overwriting_with_cancel_focused() -> None:
    fake = ArchiveFake()
    fake.existing.add("/tmp/there.tar")
    app = archive_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, ("S",), "SaveDialog")
        app.screen.query_one("#save-path", Input).value = "/tmp/there.tar"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: str(app.screen.query_one("#archive-ok", Button).label) == "Overwrite",
            "the question",
        )
        assert "exists; it was not overwritten" in text_of(app, "#archive-status")
        assert app.focused is app.screen.query_one("#archive-cancel")
        await pilot.click("#archive-ok")
        await finished(pilot)
        assert fake.asked[-1][1][2] is True  # the second try overwrites


async def test_cancel_stops_a_running_load() -> None:
    fake = ArchiveFake()
    fake.gate = threading.Event()
    app = archive_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await load_file(pilot, "/tmp/x.tar")
        await wait_for(
            pilot, lambda: "sending 4.0 MB of" in text_of(app, "#archive-status"), "progress"
        )
        await pilot.press("escape")
        await finished(pilot)
        assert "Sending cancelled: nothing was loaded" in text_of(app, "#archive-outcome")
        assert type(app.screen).__name__ == "LoadDialog"  # Esc while running does not close


async def test_a_bad_archive_keeps_the_dialog_with_the_reason() -> None:
    app = archive_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await load_file(pilot, "/tmp/bad.tar")
        await wait_for(
            pilot, lambda: "not in the archive" in text_of(app, "#archive-status"), "reason"
        )
        assert not app.screen.query_one("#archive-ok", Button).disabled  # try another file


async def test_load_outcome_shows_names_as_text() -> None:
    app = archive_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await load_file(pilot, "/tmp/x.tar")
        await finished(pilot)
        outcome = text_of(app, "#archive-outcome")
        assert "✓ [red]x[/red]:1" in outcome  # markup in a name is shown, not applied
        assert "already exists, renaming" in outcome


async def test_import_checks_the_reference_as_you_type() -> None:
    fake = ArchiveFake()
    app = archive_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, ("I",), "LoadDialog")
        await pilot.click("#load-mode-import")
        app.screen.query_one("#load-path", Input).value = "/tmp/rootfs.tar"
        app.screen.query_one("#load-reference", Input).value = "Team/App:1"
        await pilot.pause(0.1)
        assert app.screen.query_one("#archive-ok", Button).disabled
        assert str(app.screen.query_one("#archive-ok", Button).label) == "Import"
        app.screen.query_one("#load-reference", Input).value = "team/app:1"
        await pilot.pause(0.1)
        await pilot.click("#archive-ok")
        await finished(pilot)
        assert fake.asked[-1] == ("import", ("/tmp/rootfs.tar", "team/app:1"))
        assert "Imported 2.0 kB as team/app:1" in text_of(app, "#archive-outcome")


async def test_copy_to_a_context_or_a_typed_host() -> None:
    fake = ArchiveFake()
    app = archive_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, ("E",), "CopyDialog")
        await pilot.press("enter")  # the highlighted context (the one in use is not offered)
        await finished(pilot)
        refs, host, context = fake.asked[-1][1]
        assert (host, context) == (None, "build-box") and len(refs) == 1
        assert "same ID eeeeeeeeeeee" in text_of(app, "#archive-outcome")
        await pilot.press("enter")
        await opened(pilot, ("E",), "CopyDialog")
        app.screen.query_one("#copy-host", Input).value = "unix:///peer/docker.sock"
        app.screen.query_one("#copy-host", Input).focus()
        await pilot.press("enter")
        await finished(pilot)
        assert fake.asked[-1][1][1:] == ("unix:///peer/docker.sock", None)
