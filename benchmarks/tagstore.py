"""Many tags at once: written into a stopped bench daemon's own tag store (issue 15).

Tagging through the API costs the daemon a rewrite of its whole tag store
(``<data root>/image/<driver>/repositories.json``) per tag: 10,000 tags take one to two minutes
and 50,000 far longer (each rewrite grows with the store). A classic-store Docker Engine
(20.10, overlay2) reads that file once, at start, into its reference store, so a benchmark
sandbox can be given its tags by stopping its dockerd, writing the file in the daemon's own
format, atomically::

    {"Repositories": {"bench/app00": {"bench/app00:1": "sha256:ID", ...}, ...}}

and starting the daemon again; what the daemon then serves (``docker images``, through the
CLI) is the check that it read them. Removing them again the same way spares the daemon the
same rewrite per untag.

Only ever on a benchmark sandbox of its own (``IMAGEDECK_SANDBOX_NAME`` starting with ``bench``,
never a test sandbox's name), with the classic store: it stops that sandbox's daemon.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The tests' sandboxes (scripts/sandbox's default name per engine and store): never these.
TEST_SANDBOXES = frozenset({"imagedeck", "imagedeck-d26", "imagedeck-d26c", "imagedeck-podman"})
# What the bench writes: its own names only (lower case, digits, dots, dashes; a number tag).
_REFERENCE = re.compile(
    r"(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*):(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
)
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")

Store = dict[str, dict[str, dict[str, str]]]


def add_tags(store: Mapping[str, object], tags: Mapping[str, str]) -> Store:
    """``store`` (a parsed repositories.json) with ``tags`` (``repo:tag`` -> image ID) added.

    The daemon keys each repository by its familiar name and each reference by its familiar
    string (``bench/app00`` and ``bench/app00:1``), the value the image's full ID. Existing
    entries stay (digests too); a tag already there is pointed at the given image, as
    ``docker tag`` would.
    """
    repositories = store.get("Repositories") or {}
    if not isinstance(repositories, dict):
        raise ValueError("repositories.json: Repositories is not an object")
    merged: dict[str, dict[str, str]] = {
        repo: dict(refs) for repo, refs in repositories.items() if isinstance(refs, dict)
    }
    for reference, image_id in tags.items():
        match = _REFERENCE.fullmatch(reference)
        if match is None:
            raise ValueError(f"not a plain repo:tag reference: {reference!r}")
        if _IMAGE_ID.fullmatch(image_id) is None:
            raise ValueError(f"not a full image ID: {image_id!r}")
        merged.setdefault(match["repo"], {})[reference] = image_id
    return {"Repositories": merged}


def drop_repositories(store: Mapping[str, object], prefix: str) -> Store:
    """``store`` without the repositories whose name starts with ``prefix`` (``bench/``)."""
    repositories = store.get("Repositories") or {}
    if not isinstance(repositories, dict):
        raise ValueError("repositories.json: Repositories is not an object")
    return {
        "Repositories": {
            repo: dict(refs)
            for repo, refs in repositories.items()
            if isinstance(refs, dict) and not repo.startswith(prefix)
        }
    }


def read_store(path: Path) -> Store:
    """The parsed tag store (an empty one when the daemon has not written it yet)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"Repositories": {}}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return add_tags(data, {})


def write_store(path: Path, store: Store) -> None:
    """Write ``store`` to ``path`` atomically: a whole new file, synced, renamed over the old.

    Mode 0600, as the daemon writes it. A crash leaves either the old file or the new one.
    """
    data = json.dumps(store, separators=(",", ":")).encode()
    fd, temporary = tempfile.mkstemp(prefix=".repositories-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class BenchSandbox:
    """The benchmark's own sandbox daemon, as ``scripts/sandbox exec`` describes it.

    ``IMAGEDECK_SANDBOX_NAME``, ``IMAGEDECK_SANDBOX_STATE`` and the engine/store variables
    come from ``scripts/sandbox exec`` (or a test's own environment). Refuses anything but a
    classic-store Docker sandbox whose name starts with ``bench``.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.name = env.get("IMAGEDECK_SANDBOX_NAME", "")
        state = env.get("IMAGEDECK_SANDBOX_STATE", "")
        engine = env.get("IMAGEDECK_SANDBOX_ENGINE", "docker-20.10")
        store = env.get("IMAGEDECK_SANDBOX_STORE", "overlay2")
        if not self.name or not state:
            raise RuntimeError("not in a sandbox (run it under scripts/sandbox exec)")
        if self.name in TEST_SANDBOXES or not self.name.startswith("bench"):
            raise RuntimeError(f"sandbox {self.name!r} is not a benchmark sandbox of its own")
        if not engine.startswith("docker-") or store != "overlay2":
            raise RuntimeError(f"{engine}/{store}: the tag store file is the classic store's")
        self.state = Path(state)
        self.env = dict(env)
        driver = (self.state / "storage-driver").read_text().strip()
        self.store_path = self.state / "data" / "image" / driver / "repositories.json"

    def _pid(self) -> int | None:
        try:
            pid = int((self.state / "docker.pid").read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid or None

    def stop_daemon(self, grace: float = 60.0) -> None:
        """SIGTERM the sandbox's dockerd and wait for it to exit (it saves nothing on exit)."""
        pid = self._pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            # A zombie (its parent has not reaped it yet) has exited too.
            stat = Path(f"/proc/{pid}/stat")
            try:
                if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    return
            except (FileNotFoundError, IndexError):
                return
            time.sleep(0.1)
        raise RuntimeError(f"dockerd (pid {pid}) did not stop within {grace:.0f}s")

    def start_daemon(self) -> None:
        """Start the sandbox again through scripts/sandbox (unseeded), waiting until it answers."""
        env = {k: v for k, v in self.env.items() if k != "IMAGEDECK_SANDBOX_CLIENT"}
        env["IMAGEDECK_SANDBOX_SEED"] = "0"
        done = subprocess.run(
            [str(ROOT / "scripts" / "sandbox"), "start"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/sandbox start failed: {done.stderr[-1500:]}")

    def rewrite(self, edit: Callable[[Store], Store]) -> None:
        """Stop the daemon, apply ``edit`` to its tag store, write it, start the daemon."""
        # The sandbox's start/stop lock: nothing else starts or stops it meanwhile.
        with open(f"{self.state}.flock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.stop_daemon()
            write_store(self.store_path, edit(read_store(self.store_path)))
        self.start_daemon()


def served_tags(prefix: str = "", docker_host: str | None = None) -> tuple[set[str], int]:
    """What the daemon serves, asked through the docker CLI: the ``repo:tag`` references
    starting with ``prefix``, and the line count of plain ``docker images`` (with its header).

    ``docker_host``: that daemon instead of DOCKER_HOST's.
    """
    docker = ["docker", *(("-H", docker_host) if docker_host else ())]
    listed = subprocess.run(
        [*docker, "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    lines = subprocess.run(
        [*docker, "images"], capture_output=True, text=True, check=True
    ).stdout.count("\n")
    return {ref for ref in listed if ref.startswith(prefix)}, lines


def seed_tags(sandbox: BenchSandbox, tags: Mapping[str, str]) -> None:
    """Give the daemon ``tags`` (``repo:tag`` -> image ID) through its tag store file."""
    sandbox.rewrite(lambda store: add_tags(store, tags))


def drop_tags(sandbox: BenchSandbox, prefixes: Iterable[str]) -> None:
    """Remove every repository starting with one of ``prefixes`` from the tag store."""

    def edit(store: Store) -> Store:
        for prefix in prefixes:
            store = drop_repositories(store, prefix)
        return store

    sandbox.rewrite(edit)
