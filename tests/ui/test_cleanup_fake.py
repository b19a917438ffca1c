"""Cleanup flows against the fake service: fast, deterministic (the snapshots use this fake).

``CleanupFake`` extends FakeService with containers, removal, layer data and prune plans that
answer like the service layer, including its conflicts. The real-daemon flows live in
``test_cleanup_daemon.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from tests.ui.fake import EPOCH, FakeService, make_app
from tests.ui.pilot import open_cleanup_wizard, ready, wait_for
from tui.modals.conflict import ConflictDialog
from tui.modals.delete import DeleteDialog
from tui.modals.results_log import ResultsLogScreen
from tui.modals.tag import TagDialog
from tui.screens.containers import ContainersScreen
from tui.screens.images import ImagesScreen
from tui.service.cleanup import (
    CleanupMixin,
    ImageLayers,
    PruneCandidate,
    PruneOptions,
    PrunePlan,
    freed_space,
    select_candidates,
)
from tui.service.errors import Conflict, Holder, NotFound
from tui.service.models import Container, Image

BASE_LAYER = "sha256:" + "b" * 64


class CleanupFake(FakeService):
    """FakeService plus containers, removal with conflicts, layers and prune plans."""

    def __init__(self, images: list[Image] | None = None) -> None:
        super().__init__(images)
        # The sandbox's two containers: ideck-stopped (exited) and ideck-running.
        self.containers = [
            self._container("5709", "stopped", 8, "cat /stopped.txt", "Exited (0) 2 days ago", 0),
            self._container("7a11", "running", 9, "sleep 2147483647", "Up 2 days", 12),
        ]
        self.removed: list[str] = []

    def _container(
        self, id4: str, what: str, image: int, command: str, status: str, size_rw: int
    ) -> Container:
        """Container ``ideck-<what>`` of image ``demo/<what>:latest`` (``self.images[image]``),
        created at EPOCH; its state is the first word of ``status`` (exited, running)."""
        return Container(
            id=id4 * 16,
            name=f"ideck-{what}",
            image=f"demo/{what}:latest",
            image_id=self.images[image].id,
            command=command,
            state="exited" if status.startswith("Exited") else "running",
            status=status,
            created=EPOCH,
            size_rw=size_rw,
            size_root_fs=2_000_000 + size_rw,
        )

    # The service's own orchestration, reused: it only calls the primitives below.
    remove_reference = CleanupMixin.remove_reference
    _all_holders = CleanupMixin._all_holders
    remove_image_fully = CleanupMixin.remove_image_fully
    remove_with_containers = CleanupMixin.remove_with_containers
    force_remove = CleanupMixin.force_remove

    def _containerd(self) -> bool:
        return False  # the fake behaves as the classic (overlay2) image store

    def _holders(self, image: Image) -> tuple[Holder, ...]:
        return tuple(
            Holder(c.id, c.name, c.state, c.running)
            for c in self.containers
            if c.image_id == image.id
        )

    def remove_image(
        self, reference: str, *, force: bool = False, noprune: bool = False
    ) -> list[tuple[str, str]]:
        """As ImageService.remove_image: untag, delete, or a conflict naming the holders."""
        self._check()
        with self._lock:
            image = self.find(reference)
            holders = self._holders(image)
            last = reference not in image.tags or len(image.tags) <= 1
            if last and holders and (not force or any(h.running for h in holders)):
                names = ", ".join(f"{h.status} container {h.name} ({h.short_id})" for h in holders)
                raise Conflict(
                    f"{reference} is used by {names}.",
                    reference=reference,
                    holders=holders,
                    daemon_message=f"conflict: container {holders[0].id[:12]} is using it",
                )
            index = self.images.index(image)
            if not last:
                self.images[index] = replace(
                    image, repo_tags=tuple(t for t in image.tags if t != reference)
                )
                report = [("Untagged", reference)]
            else:
                del self.images[index]
                self.removed.append(image.id)
                report = [("Untagged", reference)] if reference in image.tags else []
                report.append(("Deleted", image.id))
        self.emit("image", "delete", image.id)
        return report

    def list_containers(
        self, *, sizes: bool = True, image_id: str | None = None
    ) -> list[Container]:
        """As ImageService.list_containers."""
        self._check()
        found = list(self.containers)
        return [c for c in found if image_id is None or c.image_id == image_id]

    def remove_container(self, container_id: str, *, name: str = "") -> None:
        """As ImageService.remove_container (running ones refused)."""
        for c in self.containers:
            if c.id == container_id:
                if c.running:
                    raise Conflict(f"Container {c.name} is running; stop it first.")
                self.containers.remove(c)
                self.emit("container", "destroy", c.id)
                return
        raise NotFound(f"No such container: {name or container_id}")

    def _layers(self, image: Image) -> ImageLayers:
        # Every image sits on the shared base; images 3 and 4 also share a middle layer that
        # nothing else has, so deleting both frees it once.
        chain = [BASE_LAYER]
        sizes = [image.size - (image.unique_size or 0)]
        if image.id in (self.images_by_n(3), self.images_by_n(4)):
            chain.append("sha256:" + "c" * 64)
            sizes.append(5_000)
            sizes[0] -= 5_000
        chain.append("sha256:" + image.id[7:15] * 8)
        sizes.append(image.unique_size or 0)
        return ImageLayers(image.id, tuple(chain), tuple(sizes))

    @staticmethod
    def images_by_n(n: int) -> str:
        """The ID make_image(n) gives."""
        return "sha256:" + f"{n:04x}" * 16

    def layers_for(self, images: list[Image], sized: Any) -> dict[str, ImageLayers]:
        """As ImageService.layers_for."""
        self._check()
        return {i.id: self._layers(i) for i in images}

    def child_images(self, image_id: str) -> list[str]:
        """As ImageService.child_images."""
        return [", ".join(i.tags) for i in self.images if i.parent_id == image_id]

    def plan_prune(self, options: PruneOptions, now: datetime | None = None) -> PrunePlan:
        """As ImageService.plan_prune."""
        self._check()
        with self._lock:
            images = list(self.images)
        used = {c.image_id for c in self.containers}
        picked = select_candidates(options, images, used, now or EPOCH)
        # Every fake image is built on the base, which therefore always stays (as the service
        # spares images that kept images are built on).
        base = self.images_by_n(1)
        spared = tuple(", ".join(i.tags) for i in picked if i.id == base)
        picked = [i for i in picked if i.id != base]
        layers = self.layers_for(images, ())
        freed = freed_space([i.id for i in picked], images, layers)
        return PrunePlan(
            options,
            tuple(PruneCandidate(i) for i in picked),
            freed,
            spared,
            0,
            tuple(images),
            layers,
        )


# -- helpers ----------------------------------------------------------------------------------


async def go_to(pilot: Any, screen: ImagesScreen, reference: str) -> None:
    """Put the cursor on ``reference`` the way a person would: filter, Enter, Esc."""
    assert screen.model.select_reference(reference), reference
    screen.query_one("#table").refresh()
    await pilot.pause()


def text(widget: Any) -> str:
    """What a Static shows."""
    return str(widget.render())


# -- tests ------------------------------------------------------------------------------------


async def test_delete_dialog_focuses_cancel_and_escape_keeps_everything() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/app:1.2")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "the dialog")
        dialog = pilot.app.screen
        assert dialog.focused is not None and dialog.focused.id == "cancel"
        assert "delete demo/app:1.2" in text(dialog.query_one("#delete-plan"))
        await pilot.press("enter")  # Enter on the focused Cancel deletes nothing
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "the dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")
        assert fake.removed == []


async def test_delete_lists_untag_versus_delete_and_shared_layers_count_once() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        for ref in ("demo/app:1.2", "demo/app:2.0", "demo/alias:one"):
            await go_to(pilot, screen, ref)
            await pilot.press("space")
        # 1.2 and 2.0 share a 5 kB layer only with each other: unique 100 kB each + 5 kB once.
        await wait_for(
            pilot, lambda: "frees 205.0 kB" in text(screen.query_one("#summary")), "exact frees"
        )
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "the dialog")
        dialog = pilot.app.screen
        plan = text(dialog.query_one("#delete-plan"))
        assert "untag  demo/alias:one" in plan and "image stays as" in plan
        assert "delete demo/app:1.2" in plan and "delete demo/app:2.0" in plan
        await wait_for(
            pilot,
            lambda: text(dialog.query_one("#delete-freed")).endswith("205.0 kB"),
            "the exact space",
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")
        assert sorted(fake.removed) == sorted([fake.images_by_n(3), fake.images_by_n(4)])
        assert "demo/multi:latest" in fake.find(fake.images_by_n(6)).tags
        assert "demo/alias:one" not in fake.find(fake.images_by_n(6)).tags


async def test_bulk_delete_goes_past_a_conflict_and_the_log_reopens() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        for ref in ("demo/app:1.2", "demo/stopped:latest", "demo/app:2.0"):
            await go_to(pilot, screen, ref)
            await pilot.press("space")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "the dialog")
        assert "used by 1 container" in text(pilot.app.screen.query_one("#delete-plan"))
        await pilot.press("y")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")
        assert len(fake.removed) == 2
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultsLogScreen), "the log")
        log = pilot.app.screen
        lines = [
            str(log.query_one("#results-list").get_option_at_index(i).prompt) for i in range(4)
        ]
        assert "2 deleted, 1 failed" in lines[0]
        failed = [line for line in lines if "failed" in line and "stopped" in line]
        assert failed and "ideck-stopped" in failed[0]


async def test_conflict_offers_containers_then_image_and_force_is_never_default() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/stopped:latest")
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictDialog), "conflict")
        dialog = pilot.app.screen
        assert dialog.focused is not None and dialog.focused.id == "cancel"
        body = text(dialog.query_one("#conflict-text"))
        assert "ideck-stopped" in body and "5709" * 3 in body and "exited" in body
        await pilot.press("enter")  # Cancel: nothing happens
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")
        assert fake.containers[0].name == "ideck-stopped"
        # f asks again, with focus on Cancel; Esc there keeps everything.
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictDialog), "conflict")
        await pilot.press("f")
        await wait_for(pilot, lambda: "Force" in getattr(pilot.app.screen, "title_text", ""), "ask")
        assert pilot.app.screen.focused.id == "cancel"
        assert "bare image ID" in text(pilot.app.screen.query_one(".confirm-body"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")
        assert fake.images_by_n(9) not in fake.removed
        # r: the container, then the image, in one flow.
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictDialog), "conflict")
        await pilot.press("r")
        await wait_for(pilot, lambda: fake.images_by_n(9) in fake.removed, "the removal")
        assert [c.name for c in fake.containers] == ["ideck-running"]


async def test_running_container_gets_no_way_out_but_the_reason() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/running:latest")
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictDialog), "conflict")
        dialog = pilot.app.screen
        assert not dialog.query("#containers") and not dialog.query("#force")
        assert "is running" in text(dialog.query_one("#conflict-text"))
        await pilot.press("r", "f")  # not offered: nothing happens
        assert isinstance(pilot.app.screen, ConflictDialog)
        await pilot.press("escape")
        assert fake.images_by_n(10) not in fake.removed


async def test_tag_validates_as_you_type_and_selects_the_new_row() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/app:1.2")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TagDialog), "tag dialog")
        dialog = pilot.app.screen
        verdict = dialog.query_one("#tag-verdict")
        assert dialog.query_one("#tag-input").value == "demo/app:1.2"
        await pilot.press(*["backspace"] * 3, *"-bad")
        assert "starts with '-'" in text(verdict)
        await pilot.press(*["backspace"] * 4, *"V1")
        assert "demo/app:V1" in text(verdict)  # tags may hold uppercase
        await pilot.press("ctrl+a", *"Demo/app:v1")
        await pilot.press("enter")  # invalid: nothing happens
        assert isinstance(pilot.app.screen, TagDialog)
        dialog.query_one("#tag-input").value = ""
        await pilot.press(*"localhost:5000/team/app:v1", "enter")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")
        await wait_for(
            pilot,
            lambda: (
                (row := screen.current_row()) is not None
                and row.reference == "localhost:5000/team/app:v1"
            ),
            "the new row selected",
        )


async def test_untag_keeps_an_image_with_other_tags_and_asks_on_the_last() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/alias:two")
        await pilot.press("u")
        await wait_for(
            pilot, lambda: "demo/alias:two" not in fake.find(fake.images_by_n(6)).tags, "untag"
        )
        assert fake.removed == []
        await go_to(pilot, screen, "demo/app:1.2")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DeleteDialog), "confirm")
        assert "deletes the image" in pilot.app.screen.title_text
        await pilot.press("escape")
        assert fake.removed == []


async def test_wizard_previews_then_removes_exactly_that() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        wizard = await open_cleanup_wizard(pilot)
        screen = pilot.app.images_screen
        await pilot.press("p")
        await wait_for(pilot, lambda: wizard.stage == "preview", "the preview")
        assert "1 image will be removed" in text(wizard.query_one("#prune-summary"))
        # The list about to go has focus (it scrolls at once); nothing destructive is focused.
        assert wizard.focused.id == "prune-preview"
        await pilot.press("y")
        await wait_for(pilot, lambda: wizard.stage == "done", "the outcome")
        assert fake.removed == [fake.images_by_n(7)]
        assert "1 image removed" in text(wizard.query_one("#prune-summary"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the list again")


async def test_containers_screen_of_an_image_and_remove_rules() -> None:
    fake = CleanupFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, "demo/running:latest")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ContainersScreen), "screen")
        containers = pilot.app.screen
        await wait_for(pilot, lambda: containers.loaded, "the list")
        assert [c.name for c in containers.shown()] == ["ideck-running"]
        await pilot.press("d")  # running: refused with the reason, no dialog
        assert pilot.app.screen is containers
        assert len(fake.containers) == 2
        await pilot.press("a")
        assert len(containers.shown()) == 2
        # The cursor stayed on ideck-running; the stopped one is above it.
        assert containers.current_container().name == "ideck-running"
        await pilot.press("up", "d")
        await wait_for(pilot, lambda: pilot.app.screen is not containers, "confirm")
        assert pilot.app.screen.focused.id == "cancel"
        await pilot.press("y")
        await wait_for(pilot, lambda: len(fake.containers) == 1, "the removal")
        assert fake.containers[0].name == "ideck-running"
