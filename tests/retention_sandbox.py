"""A private sandbox daemon for tests that delete and measure (issue 16), and its images.

Named after the test process (``retention-<pid>``), so two test sessions never measure each
other's deletes; the same engine and store as the shared sandbox; unseeded (the tests make
their images); started by the ``private`` fixture and purged at the end of the module that
uses it. A test module makes its fixtures from ``private_sandbox`` (module scope) and
``scratch_images``.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.conftest import Sandbox, settled_du

ROOT = Path(__file__).resolve().parents[1]
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


def private_sandbox(sandbox: Sandbox) -> Iterator[Private]:
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
        # Podman keeps its images in containers/storage under "storage"; dockerd in "data".
        podman = os.environ.get("IMAGEDECK_SANDBOX_ENGINE") == "podman"
        yield Private(host, state / ("storage" if podman else "data"), docker)
    finally:
        script("stop", "--purge", timeout=300)


def du(path: Path) -> int:
    """Apparent bytes under ``path`` once settled (``settled_du``): what a delete gave back."""
    return settled_du(path)


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


def scratch_images(private: Private, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """This test's images on the private daemon (removed after, whatever the test did)."""
    prefix = f"rt{uuid.uuid4().hex[:6]}"
    ids = make_images(private, tmp_path, prefix)
    yield prefix, ids
    for ref in reversed(list(ids)):
        private.docker("rmi", ref, check=False)
    private.docker("image", "prune", "-f", check=False)


def write_record(private: Private, state: Path, uses: dict[str, timedelta]) -> None:
    """A last-used record begun 60 days ago with these uses (image ID -> how long ago)."""
    from tui.service import ImageService
    from tui.service.lastused import daemon_id, record_path

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


# On the containerd image store an image's space is its compressed blobs plus its unpacked
# snapshots, worked out from image totals: the figures are estimates there (Freed.exact False).
ESTIMATED = os.environ.get("IMAGEDECK_SANDBOX_STORE") == "containerd"


def close_to(figure: int, measured: int) -> bool:
    """``du``'s measure of what a delete gave back against the figure: on exact stores the
    figure plus the daemon's metadata slack; on the containerd store within a tenth."""
    if ESTIMATED:
        return abs(measured - figure) <= SLACK + figure // 10
    return figure <= measured <= figure + SLACK
