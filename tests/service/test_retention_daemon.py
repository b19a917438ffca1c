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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tui.diskmap_model import build_map
from tui.service import ImageService
from tui.service.lastused import daemon_id, record_path
from tui.service.models import with_usage

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sandbox"
# What a seeded sandbox holds stays, should one be used: these patterns protect it.
SEEDED = ("imagedeck/*", "demo/*", "127.0.0.1:5000/*", "hostile/*")
KEEP_ARGS = [arg for pattern in SEEDED for arg in ("--keep", pattern)]
# du counts directories and the daemon's per-image metadata besides the layers' files.
SLACK = 256 * 1024


@dataclass(frozen=True)
class Private:
    """The private daemon: address, data root, and the docker CLI against it."""

    host: str
    data_root: Path
    docker: Callable[..., subprocess.CompletedProcess[str]]


def _sandbox_env(name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEDECK_SANDBOX_")}
    for key in ("IMAGEDECK_SANDBOX_ENGINE", "IMAGEDECK_SANDBOX_STORE"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.pop("DOCKER_HOST", None)
    env["IMAGEDECK_SANDBOX_NAME"] = name
    return env


@pytest.fixture(scope="module")
def private(sandbox: Sandbox) -> Iterator[Private]:
    """A sandbox of this test session's own, same engine and store as the shared one.

    Named after the process, so two test sessions (two people running the suite) never measure
    each other's deletes; unseeded (the tests make their images), purged at the end.
    """
    name = f"retention-{os.getpid()}"
    env = _sandbox_env(name)
    env["IMAGEDECK_SANDBOX_SEED"] = "0"

    def script(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout
        )

    state = Path(f"/var/tmp/imagedeck-sandbox/{name}")
    host = f"unix://{state}/docker.sock"

    def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "-H", host, *args],
            capture_output=True,
            text=True,
            check=check,
            env={**os.environ, "DOCKER_HOST": host, "DOCKER_BUILDKIT": "0"},
            timeout=300,
        )

    try:
        result = script("start")
        assert result.returncode == 0, result.stderr[-2000:]
        yield Private(host, state / "data", docker)
    finally:
        script("stop", "--purge", timeout=300)


def du(path: Path) -> int:
    """Apparent bytes under ``path`` (``du -sb``), as the truth for what a delete gave back."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def _blob(directory: Path, name: str, size: int) -> None:
    (directory / name).write_bytes(os.urandom(size))


def make_images(private: Private, tmp: Path, prefix: str) -> dict[str, str]:
    """A base imported from a tar, and images on it with layers of their own (random bytes).

    ``{prefix}/base:1`` (3 MB), ``{prefix}/a:1`` (+1 MB), ``{prefix}/a:2`` (+1.5 MB),
    ``{prefix}/b:1`` (+2 MB), and ``{prefix}/app:1..4`` (0.5 MB each, loaded with old
    creation times).
    Returns reference -> image ID.
    """
    import tarfile

    root = tmp / "rootfs"
    root.mkdir()
    _blob(root, "base.bin", 3_000_000)
    archive = tmp / "base.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root / "base.bin", arcname="base.bin")
    private.docker("import", str(archive), f"{prefix}/base:1")
    built: dict[str, int] = {"a:1": 1_000_000, "a:2": 1_500_000, "b:1": 2_000_000}
    for name, size in built.items():
        context = tmp / name.replace(":", "-")
        context.mkdir()
        _blob(context, "blob", size)
        (context / "Dockerfile").write_text(f"FROM {prefix}/base:1\nCOPY blob /blob\n")
        private.docker("build", "-q", "-t", f"{prefix}/{name}", str(context))
    # app:1..4 were "created" 90, 89, 88 and 87 days ago: images loaded from an archive keep
    # the creation time their config says (a build would say now).
    now = datetime.now(timezone.utc)
    for n in range(1, 5):
        load_image(private, tmp, f"{prefix}/app:{n}", now - timedelta(days=91 - n), 500_000)
        built[f"app:{n}"] = 500_000
    ids = {}
    for ref in [f"{prefix}/base:1", *(f"{prefix}/{n}" for n in built)]:
        ids[ref] = private.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
    return ids


def load_image(private: Private, tmp: Path, reference: str, created: datetime, size: int) -> None:
    """`docker load` of a one-layer image whose config says it was created at ``created``."""
    import hashlib
    import io
    import tarfile

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = os.urandom(size)
        info = tarfile.TarInfo("blob")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": stamp,
            "config": {"Cmd": ["/blob"]},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()],
            },
            "history": [{"created": stamp, "created_by": "imagedeck retention test"}],
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [reference], "Layers": ["layer/layer.tar"]}]
    ).encode()
    archive = tmp / f"{hashlib.sha256(reference.encode()).hexdigest()[:8]}.tar"
    with tarfile.open(archive, "w") as tar:
        for name, body in (
            (config_name, config),
            ("layer/layer.tar", layer_bytes),
            ("manifest.json", manifest),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    private.docker("load", "-q", "-i", str(archive))


@pytest.fixture
def scratch(private: Private, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """This test's images on the private daemon (removed after, whatever the test did)."""
    prefix = f"rt{uuid.uuid4().hex[:6]}"
    ids = make_images(private, tmp_path, prefix)
    yield prefix, ids
    for ref in reversed(list(ids)):
        private.docker("rmi", ref, check=False)
    private.docker("image", "prune", "-f", check=False)


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
        assert a.exact and b.exact and a.count == 2
        # Sorted by what deleting frees: a (2.5 MB of its own) before b (2 MB).
        names = [e.name for e in disk_map.repositories]
        assert names.index(f"{prefix}/a") < names.index(f"{prefix}/b")
        assert a.logical == sum(
            int(private.docker("image", "inspect", "-f", "{{.Size}}", ref).stdout)
            for ref in (f"{prefix}/a:1", f"{prefix}/a:2")
        )

        for entry, refs in ((a, [f"{prefix}/a:1", f"{prefix}/a:2"]), (b, [f"{prefix}/b:1"])):
            before = du(private.data_root)
            private.docker("rmi", *refs)
            gone = before - du(private.data_root)
            assert entry.frees <= gone <= entry.frees + SLACK, (entry.name, entry.frees, gone)

        # With every image on it gone the base is its own: its figure is its 3 MB layer.
        apps = [f"{prefix}/app:{n}" for n in range(1, 5)]
        private.docker("rmi", *apps)
        base = {e.name: e for e in current_map().repositories}[f"{prefix}/base"]
        assert base.frees >= 3_000_000
        before = du(private.data_root)
        private.docker("rmi", f"{prefix}/base:1")
        gone = before - du(private.data_root)
        assert base.frees <= gone <= base.frees + SLACK
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


def _write_record(private: Private, state: Path, uses: dict[str, timedelta]) -> None:
    service = ImageService.connect(private.host)
    try:
        ident = daemon_id(service)
    finally:
        service.close()
    path = record_path(ident, {"XDG_STATE_HOME": str(state)})
    path.parent.mkdir(parents=True, mode=0o700)
    now = datetime.now(timezone.utc)
    data = {
        "version": 1,
        "daemon_id": ident,
        "since": (now - timedelta(days=60)).isoformat(),
        "images": {image_id: (now - ago).isoformat() for image_id, ago in uses.items()},
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


def test_unused_for_preview_is_what_runs(
    private: Private, scratch: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    prefix, ids = scratch
    app = [ids[f"{prefix}/app:{n}"] for n in range(1, 5)]
    # The record began 60 days ago. app:1 was last used 40 days ago, app:2 yesterday; 3 and 4
    # (created 88 and 87 days ago) were not seen in use since the record began.
    _write_record(private, tmp_path, {app[0]: timedelta(days=40), app[1]: timedelta(days=1)})
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
    _write_record(private, tmp_path, {i: timedelta(days=d) for i, d in uses.items()})
    keep = [*KEEP_ARGS, "--keep", f"{prefix}/base"]
    _, first = prune(private.host, tmp_path, "--below", "1TB", *keep)
    total = first["disk_before_bytes"]
    assert first["items"] == []  # already below a terabyte
    target = total - 600_000  # more than one 0.5 MB layer must go
    before = du(private.data_root)
    preview, done = _check_run(private, tmp_path, "--below", str(target), *keep)
    gone = before - du(private.data_root)
    # Least recently used first: app:3 (50 days), then app:1 (45 days).
    assert [i["reference"] for i in preview["items"]] == [f"{prefix}/app:3", f"{prefix}/app:1"]
    assert preview["disk_after_bytes"] < target
    assert done["freed_bytes_done"] <= gone <= done["freed_bytes_done"] + SLACK


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
        return images, containers.stdout

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
