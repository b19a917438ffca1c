"""Retention, headless and measured: on a private sandbox daemon (deletes happen there only).

Figures are checked against the truth: what ``du -sb`` of the daemon's data root loses when the
images go, and what the docker CLI lists before and after. The private sandbox
(``IMAGEDECK_SANDBOX_NAME=retention-<pid>``) runs the same engine and store as the shared one;
this module starts it and stops (and purges) it at its end. The shared sandbox is not touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.retention_sandbox import (
    ESTIMATED,
    KEEP_ARGS,
    Private,
    close_to,
    du,
    private_sandbox,
    scratch_images,
    write_record,
)
from tui.diskmap_model import build_map
from tui.service import ImageService
from tui.service.models import with_usage


@pytest.fixture(scope="module")
def private(sandbox: Sandbox) -> Iterator[Private]:
    """This module's private daemon."""
    yield from private_sandbox(sandbox)


@pytest.fixture
def scratch(private: Private, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """This test's images there."""
    yield from scratch_images(private, tmp_path)


def prune(
    host: str, state: Path, *args: str, config: Path | None = None
) -> tuple[int, dict[str, Any]]:
    """`imagedeck prune --json ...`: exit code and the JSON document."""
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(state),
        "XDG_CONFIG_HOME": str(state / "config"),
    }
    command = [sys.executable, "-m", "tui", "prune", "-H", host, "--json", *args]
    if config is not None:
        command += ["--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def tags(private: Private) -> set[str]:
    """Every repository:tag the daemon lists."""
    out = private.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    return set(out.split()) - {"<none>:<none>"}


def image_exists(private: Private, image_id: str) -> bool:
    """True when the daemon still has the image."""
    return private.docker("image", "inspect", image_id, check=False).returncode == 0


# -- the disk map's figures against du ------------------------------------------------------------


def test_disk_map_figures_equal_what_deletes_free(
    private: Private, scratch: tuple[str, dict[str, str]]
) -> None:
    prefix, _ = scratch
    service = ImageService.connect(private.host)
    try:

        def current_map() -> Any:
            images = with_usage(service.list_images(), service.disk_usage())
            layers = service.layers_for(images, [i.id for i in images])
            return build_map(images, layers)

        disk_map = current_map()
        entries = {e.name: e for e in disk_map.repositories}
        a, b = entries[f"{prefix}/a"], entries[f"{prefix}/b"]
        assert (a.exact and b.exact) or ESTIMATED
        assert a.count == 2
        # Sorted by what deleting frees: a (2.5 MB of its own) before b (2 MB).
        names = [e.name for e in disk_map.repositories]
        assert names.index(f"{prefix}/a") < names.index(f"{prefix}/b")
        # LOGICAL adds up what `docker images` lists as SIZE (the daemon's /images/json).
        listed = {i["Id"]: int(i["Size"]) for i in service.api.images()}
        assert a.logical == sum(listed[r.image.id] for r in a.rows)

        for entry, refs in ((a, [f"{prefix}/a:1", f"{prefix}/a:2"]), (b, [f"{prefix}/b:1"])):
            before = du(private.data_root)
            private.docker("rmi", *refs)
            gone = before - du(private.data_root)
            assert close_to(entry.frees, gone), (entry.name, entry.frees, gone)

        # With every image on it gone the base is its own: its figure is its 3 MB layer.
        apps = [f"{prefix}/app:{n}" for n in range(1, 5)]
        private.docker("rmi", *apps)
        base = {e.name: e for e in current_map().repositories}[f"{prefix}/base"]
        assert base.frees >= 3_000_000
        before = du(private.data_root)
        private.docker("rmi", f"{prefix}/base:1")
        gone = before - du(private.data_root)
        assert close_to(base.frees, gone), (base.frees, gone)
    finally:
        service.close()


# -- each policy: the preview is what runs ------------------------------------------------------


def _check_run(private: Private, state: Path, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Dry run, then --yes: the references run are the ones previewed; the daemon agrees."""
    before_tags = tags(private)
    code, preview = prune(private.host, state, *args)
    assert code == 0 and preview["dry_run"] is True
    assert tags(private) == before_tags  # the dry run changed nothing
    code, done = prune(private.host, state, *args, "--yes")
    assert code == 0, done["outcomes"]
    planned = [(i["action"], i["reference"]) for i in preview["items"]]
    assert [(i["action"], i["reference"]) for i in done["items"]] == planned
    assert [o["subject"] for o in done["outcomes"]] == [ref for _, ref in planned]
    assert all(o["status"] in ("deleted", "untagged") for o in done["outcomes"])
    removed_tags = {ref for _, ref in planned if ":" in ref}
    assert tags(private) == before_tags - removed_tags
    for item in preview["items"]:
        if item["action"] == "delete":
            assert not image_exists(private, item["image_id"]), item
    assert done["freed_bytes_done"] == preview["freed_bytes"]
    return preview, done


def test_keep_last_preview_is_what_runs(
    private: Private, scratch: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    prefix, _ = scratch
    keep = [
        *KEEP_ARGS,
        "--keep",
        f"{prefix}/a",
        "--keep",
        f"{prefix}/b",
        "--keep",
        f"{prefix}/base",
    ]
    preview, _ = _check_run(private, tmp_path, "--keep-last", "2", *keep)
    assert [i["reference"] for i in preview["items"]] == [f"{prefix}/app:2", f"{prefix}/app:1"]
    assert {f"{prefix}/app:3", f"{prefix}/app:4"} <= tags(private)


def test_unused_for_preview_is_what_runs(
    private: Private, scratch: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    prefix, ids = scratch
    app = [ids[f"{prefix}/app:{n}"] for n in range(1, 5)]
    # The record began 60 days ago. app:1 was last used 40 days ago, app:2 yesterday; 3 and 4
    # (created 88 and 87 days ago) were not seen in use since the record began.
    write_record(private, tmp_path, {app[0]: timedelta(days=40), app[1]: timedelta(days=1)})
    keep = [
        *KEEP_ARGS,
        "--keep",
        f"{prefix}/a",
        "--keep",
        f"{prefix}/b",
        "--keep",
        f"{prefix}/base",
    ]
    preview, _ = _check_run(private, tmp_path, "--unused-for", "30d", *keep)
    assert sorted(i["reference"] for i in preview["items"]) == [
        f"{prefix}/app:1",
        f"{prefix}/app:3",
        f"{prefix}/app:4",
    ]
    # The record's start is reported, and entries older than it stay (a restart keeps them).
    assert preview["record_since"] is not None


def test_below_preview_is_what_runs_and_frees_what_du_sees(
    private: Private, scratch: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    prefix, ids = scratch
    app = [ids[f"{prefix}/app:{n}"] for n in range(1, 5)]
    uses = {app[2]: 50, app[0]: 45, app[1]: 10, app[3]: 5}  # days since each was last used
    write_record(private, tmp_path, {i: timedelta(days=d) for i, d in uses.items()})
    keep = [*KEEP_ARGS, "--keep", f"{prefix}/base"]
    _, first = prune(private.host, tmp_path, "--below", "1TB", *keep)
    total = first["disk_before_bytes"]
    assert first["items"] == []  # already below a terabyte
    # The least recently used image alone is not enough: it and the next one must go.
    _, one = prune(private.host, tmp_path, "--below", str(total - 1), *keep)
    target = total - one["freed_bytes"] - 1
    before = du(private.data_root)
    preview, done = _check_run(private, tmp_path, "--below", str(target), *keep)
    gone = before - du(private.data_root)
    # Least recently used first: app:3 (50 days), then app:1 (45 days).
    assert [i["reference"] for i in preview["items"]] == [f"{prefix}/app:3", f"{prefix}/app:1"]
    assert preview["disk_after_bytes"] < target
    assert close_to(done["freed_bytes_done"], gone), (done["freed_bytes_done"], gone)


def test_dangling_preview_is_what_runs(
    private: Private, scratch: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    prefix, _ = scratch
    # Retag app:1 to app:2's image: the old app:2 image has no tag left, so it dangles.
    private.docker("tag", f"{prefix}/app:1", f"{prefix}/app:2")
    dangling = set(
        private.docker("images", "-q", "--no-trunc", "-f", "dangling=true").stdout.split()
    )
    assert dangling
    preview, _ = _check_run(private, tmp_path, "--dangling", *KEEP_ARGS)
    assert {i["image_id"] for i in preview["items"]} == dangling - _used_ids(private)


def _used_ids(private: Private) -> set[str]:
    out = private.docker("ps", "-a", "--no-trunc", "--format", "{{.Image}}").stdout.split()
    return {private.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() for ref in out}


# -- dry runs and exit codes ----------------------------------------------------------------


def test_dry_run_changes_nothing(
    private: Private, scratch: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    def state() -> tuple[str, str]:
        # `docker images -a --no-trunc`, with absolute times (its CREATED column is relative).
        images = private.docker(
            "images",
            "-a",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Repository}}:{{.Tag}} {{.CreatedAt}} {{.Size}}",
        ).stdout
        containers = private.docker("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Image}}")
        # Sorted: the daemon lists images created in the same second in no fixed order.
        return "\n".join(sorted(images.splitlines())), "\n".join(
            sorted(containers.stdout.splitlines())
        )

    before = state()
    code, plan = prune(
        private.host,
        tmp_path,
        "--keep-last",
        "0",
        "--unused-for",
        "0s",
        "--below",
        "1",
        "--dangling",
    )
    assert code == 0 and plan["dry_run"] and len(plan["items"]) >= 8  # it would remove a lot
    assert state() == before


def test_exit_codes(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui", "prune", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    no_rule = run("-H", sandbox.docker_host)
    assert no_rule.returncode == 2 and "no rule" in no_rule.stderr
    bad = run("-H", sandbox.docker_host, "--below", "lots")
    assert bad.returncode == 2 and "not a size" in bad.stderr
    (tmp_path / "bad.toml").write_text('[prune]\nunused_for = "soon"\n')
    config = run("-H", sandbox.docker_host, "--dangling", "--config", str(tmp_path / "bad.toml"))
    assert config.returncode == 2 and "soon" in config.stderr
    down = run("-H", f"unix://{tmp_path}/nothing.sock", "--dangling")
    assert down.returncode == 3 and "Cannot reach" in down.stderr
    text = run("-H", sandbox.docker_host, "--keep-last", "0", *KEEP_ARGS)
    assert text.returncode == 0 and "dry run" in text.stdout


def test_watch_applies_below_again_when_an_image_arrives(
    private: Private, scratch: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """docuum's way: a new image pushes the disk over the target; the least recently used goes."""
    import signal
    import time

    from tests.retention_sandbox import load_image

    prefix, _ = scratch
    keep = [*KEEP_ARGS, *(x for r in ("base", "a", "b") for x in ("--keep", f"{prefix}/{r}"))]
    _, first = prune(private.host, tmp_path, "--below", "1TB", *keep)
    target = first["disk_before_bytes"] + 250_000  # fits now; one more 0.5 MB image does not
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "tui", "prune", "-H", private.host, "--below", str(target)]
    watcher = subprocess.Popen(
        [*command, "--yes", "--watch", *keep],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    # Everything it prints is read all along: each pass prints its plan, and a pipe left full
    # (64 kB) would block the watcher in a write, deaf to the image and to the interrupt.
    lines: list[str] = []
    assert watcher.stdout is not None
    reader = threading.Thread(
        target=lambda: lines.extend(line.strip() for line in watcher.stdout or ()), daemon=True
    )
    reader.start()
    try:
        for _ in range(600):
            if "nothing to remove." in lines or watcher.poll() is not None:
                break
            time.sleep(0.1)
        assert "nothing to remove." in lines, "\n".join(lines)
        time.sleep(1)  # let it subscribe to the events after its first pass
        now = datetime.now(timezone.utc)
        load_image(private, tmp_path, f"{prefix}/new:1", now - timedelta(days=1), 500_000)
        # Nobody used anything since the record began: the oldest image, app:1, goes first.
        for _ in range(600):
            if f"{prefix}/app:1" not in tags(private):
                break
            time.sleep(0.1)
        assert f"{prefix}/app:1" not in tags(private), "\n".join(lines)
        assert f"{prefix}/new:1" in tags(private)
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            code: int | None = watcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watcher.kill()
            code = None
        private.docker("rmi", f"{prefix}/new:1", check=False)
    output = "\n".join(lines)
    assert code == 0, f"the watch did not end on an interrupt (exit {code}); it printed:\n{output}"
