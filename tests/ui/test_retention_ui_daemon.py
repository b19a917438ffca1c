"""The disk map and the retention rules, driven from the keyboard against a real daemon.

Deletes happen on a private sandbox of this module (tests/retention_sandbox.py). The truths:
the docker CLI's lists before and after, and ``du -sb`` of the daemon's data root. The last-used
record follows a real container's events while the app runs, and is there after a restart.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DockerCli, Sandbox
from tests.retention_sandbox import (
    ESTIMATED,
    SEEDED,
    Private,
    close_to,
    du,
    private_sandbox,
    scratch_images,
    write_record,
)
from tests.ui.pilot import ready, wait_for
from tui.app import ImagedeckApp
from tui.service import ImageService


@pytest.fixture(scope="module")
def private(sandbox: Sandbox) -> Iterator[Private]:
    """This module's private daemon."""
    yield from private_sandbox(sandbox)


@pytest.fixture
def scratch(private: Private, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """This test's images there."""
    yield from scratch_images(private, tmp_path)


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG state directory (the last-used record lives there)."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


def app_for(host: str) -> ImagedeckApp:
    """The real app against ``host``."""
    return ImagedeckApp(lambda: ImageService.connect(host), host_hint=host)


def tags(private: Private) -> set[str]:
    """Every repository:tag the daemon lists."""
    out = private.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    return set(out.split()) - {"<none>:<none>"}


async def type_into(pilot: Any, selector: str, text: str) -> None:
    """Replace a field's text as a person would (select it, type)."""
    field = pilot.app.screen.query_one(selector)
    field.value = ""
    field.focus()
    await pilot.pause()
    await pilot.press(*list(text))


async def run_rules(pilot: Any, fields: dict[str, str], dangling: bool = False) -> Any:
    """X, r, fill the rules, p: the dialog with its preview; then y, and wait for the end."""
    await pilot.press("X")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "PruneWizard", "wizard")
    await pilot.press("r")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "RetentionDialog", "rules")
    dialog = pilot.app.screen
    for name, value in fields.items():
        await type_into(pilot, f"#retention-{name}", value)
    if dangling:
        dialog.query_one("#retention-dangling").value = True
    await pilot.press("enter")
    await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
    return dialog


async def remove_previewed(pilot: Any, dialog: Any) -> Any:
    """y, then wait for the outcome."""
    dialog.query_one("#cancel").focus()
    await pilot.press("y")
    await wait_for(pilot, lambda: dialog.stage == "done", "the removal")
    return dialog.result


KEEP_OTHERS = " ".join(SEEDED)


@pytest.mark.parametrize("rule", ["keep-last", "unused-for", "below", "dangling"])
async def test_each_rule_removes_exactly_its_preview(
    private: Private,
    scratch: tuple[str, dict[str, str]],
    state_home: Path,
    rule: str,
) -> None:
    prefix, ids = scratch
    protect = f"{KEEP_OTHERS} {prefix}/base {prefix}/a {prefix}/b"
    fields = {"keep": protect}
    if rule == "keep-last":
        fields["keep-last"] = "1"
    elif rule == "unused-for":
        app_ids = [ids[f"{prefix}/app:{n}"] for n in range(1, 5)]
        uses = {app_ids[0]: 40, app_ids[1]: 1, app_ids[2]: 2, app_ids[3]: 50}
        write_record(private, state_home, {i: timedelta(days=d) for i, d in uses.items()})
        fields["unused-for"] = "30d"
    elif rule == "below":
        app_ids = [ids[f"{prefix}/app:{n}"] for n in range(1, 5)]
        uses = {app_ids[0]: 5, app_ids[1]: 50, app_ids[2]: 10, app_ids[3]: 45}
        write_record(private, state_home, {i: timedelta(days=d) for i, d in uses.items()})
    else:
        private.docker("tag", f"{prefix}/app:1", f"{prefix}/app:2")  # old app:2 now dangles
    before_tags = tags(private)
    before_du = du(private.data_root)
    app = app_for(private.host)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: app.last_used is not None, "the last-used record")
        if rule == "below":
            # The images' disk use, from the preview of a target that is already met.
            dialog = await run_rules(pilot, {**fields, "below": "1TB"})
            assert not dialog.plan.delete.items
            total = dialog.plan.disk_before
            # The least recently used image alone is not enough: it and the next one must go.
            for target in (total - 1, None):
                if target is None:
                    target = total - dialog.plan.freed.bytes - 1
                fields["below"] = str(target)
                await pilot.press("b")
                await type_into(pilot, "#retention-below", fields["below"])
                await pilot.press("enter")
                await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        else:
            dialog = await run_rules(pilot, fields, dangling=rule == "dangling")
        plan = dialog.plan
        previewed = [(i.action, i.reference) for i in plan.delete.items]
        assert previewed
        log = await remove_previewed(pilot, dialog)
        assert [o.subject for o in log.outcomes] == [ref for _, ref in previewed]
        assert all(o.status in ("deleted", "untagged") for o in log.outcomes)
        # Esc closes the report, and the wizard with it; the results log (L) keeps it.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.images_screen, "back on the list")
    gone = before_du - du(private.data_root)
    removed_tags = {ref for _, ref in previewed if ":" in ref}
    assert tags(private) == before_tags - removed_tags
    for image_id in plan.removed_ids:
        assert private.docker("image", "inspect", image_id, check=False).returncode != 0
    assert log.freed == plan.freed.bytes
    assert close_to(plan.freed.bytes, gone), (plan.freed.bytes, gone)
    if rule == "keep-last":
        assert removed_tags == {f"{prefix}/app:{n}" for n in (1, 2, 3)}
    elif rule == "unused-for":
        assert removed_tags == {f"{prefix}/app:1", f"{prefix}/app:4"}
    elif rule == "below":
        assert [ref for _, ref in previewed] == [f"{prefix}/app:2", f"{prefix}/app:4"]


async def test_disk_map_marks_and_deletes_what_it_says(
    private: Private, scratch: tuple[str, dict[str, str]], state_home: Path
) -> None:
    prefix, _ = scratch
    app = app_for(private.host)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: getattr(app.screen, "final", False), "exact figures")
        disk_map = app.screen
        bars = disk_map.query_one("#diskmap-list")
        entries = bars.level.entries
        repo = next(e for e in entries if e.name == f"{prefix}/a")
        assert (repo.exact or ESTIMATED) and repo.frees >= 2_500_000
        # Sorted by what deleting frees, largest first.
        assert [e.frees for e in entries] == sorted((e.frees for e in entries), reverse=True)
        bars.level.cursor = entries.index(repo)
        await pilot.press("enter")  # its tags
        assert {e.name for e in bars.level.entries} == {"1", "2"}
        await pilot.press("enter")  # the first tag's layers: the base is shared
        layers = bars.level.entries
        assert layers[0].shared_with and not layers[-1].shared_with
        await pilot.press("backspace", "backspace")
        bars.level.cursor = bars.level.entries.index(repo)
        await pilot.press("space")  # marks both tags, on the list too
        marked = screen.model.marked_rows()
        assert {r.reference for r in marked} == {f"{prefix}/a:1", f"{prefix}/a:2"}
        await wait_for(
            pilot, lambda: screen.marked_frees(marked) == repo.frees, "the list's figure"
        )
        before = du(private.data_root)
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DeleteDialog", "delete dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DiskMapScreen", "back")
        await wait_for(
            pilot,
            lambda: private.docker("image", "inspect", f"{prefix}/a:2", check=False).returncode,
            "the delete",
        )
    gone = before - du(private.data_root)
    assert close_to(repo.frees, gone), (repo.frees, gone)


async def test_last_used_follows_container_events_and_survives_a_restart(
    sandbox: Sandbox, docker_cli: DockerCli, state_home: Path, tmp_path: Path
) -> None:
    """On the shared sandbox: an image and a container of this test's own, removed after."""
    token = uuid.uuid4().hex[:8]
    scratch_image = f"test/lastused-{token}:v1"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM imagedeck/busybox:latest\n")
    # A label of its own gives it an ID no other container ever used.
    docker_cli(
        "build",
        "-q",
        "--label",
        f"test={token}",
        "-t",
        scratch_image,
        str(tmp_path / "ctx"),
        check=True,
    )
    image_id = docker_cli("image", "inspect", "-f", "{{.Id}}", scratch_image).stdout.strip()
    name = f"ideck-lastused-{token}"
    app = app_for(sandbox.docker_host)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            await wait_for(pilot, lambda: app.last_used is not None, "the record")
            assert app.last_used is not None
            assert app.last_used.record.get(image_id) is None
            docker_cli("create", "--name", name, scratch_image, "true", check=True)
            docker_cli("start", name, check=True)
            await wait_for(
                pilot, lambda: app.last_used.record.get(image_id) is not None, "the start event"
            )
            started = docker_cli("inspect", "-f", "{{.State.StartedAt}}", name).stdout.strip()
            when = app.last_used.record.get(image_id)
            assert when is not None
            truth = datetime.fromisoformat(started[:19]).replace(tzinfo=timezone.utc)
            assert abs((when - truth).total_seconds()) < 2  # the event's time, to the second
            # The LAST USED column shows the day for that image's row.
            screen = app.images_screen
            await wait_for(pilot, lambda: screen.model.select_reference(scratch_image), "row")
            table = screen.query_one("#table")
            await wait_for(
                pilot,
                lambda: when.strftime("%Y-%m-%d") in table._cells(screen.model.current(), 118),
                "the LAST USED cell",
            )
        since = app.last_used.record.since
        # The container goes, so only the record file can know; then a restart loads it.
        docker_cli("rm", "-f", name, check=True)
        again = app_for(sandbox.docker_host)
        async with again.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            await wait_for(pilot, lambda: again.last_used is not None, "the record")
            assert again.last_used.record.get(image_id) == when
            assert again.last_used.record.since == since
        files = list((state_home / "imagedeck" / "last-used").iterdir())
        assert len(files) == 1 and oct(os.stat(files[0]).st_mode & 0o777) == "0o600"
    finally:
        docker_cli("rm", "-f", name)
        docker_cli("rmi", scratch_image)
