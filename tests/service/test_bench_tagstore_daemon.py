"""The bench's tag store writer against a real Docker 20.10 daemon (benchmarks/tagstore.py).

It stops a daemon, so it runs on a throwaway sandbox of its own (``bench-tagstore-<pid>``,
Docker 20.10 with the classic overlay2 store whatever engine the session tests: the benchmark
writes only that store), purged at the end. The truth is the docker CLI: the daemon must serve
every written tag after its restart, untag one itself (so the tags are in its reference store,
not only in the file), and serve none after they are dropped.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.tagstore import BenchSandbox, drop_tags, seed_tags, served_tags

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sandbox"

pytestmark = pytest.mark.daemon


@pytest.fixture(scope="module")
def bench_env() -> Iterator[dict[str, str]]:
    """A sandbox of this test's own, started unseeded; its environment as `exec` exports it."""
    name = f"bench-tagstore-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEDECK_SANDBOX")}
    env.pop("DOCKER_HOST", None)
    env.update(
        IMAGEDECK_SANDBOX_NAME=name,
        IMAGEDECK_SANDBOX_ENGINE="docker-20.10",
        IMAGEDECK_SANDBOX_STORE="overlay2",
        IMAGEDECK_SANDBOX_SEED="0",
    )
    try:
        started = subprocess.run(
            [str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=600
        )
        assert started.returncode == 0, started.stderr[-2000:]
        exported = subprocess.run(
            [str(SCRIPT), "env"], env=env, capture_output=True, text=True, check=True
        ).stdout
        for line in exported.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
        yield env
    finally:
        subprocess.run(
            [str(SCRIPT), "stop", "--purge"], env=env, capture_output=True, text=True, timeout=300
        )


def _docker(env: dict[str, str], *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["docker", "-H", env["DOCKER_HOST"], *args],
        input=stdin,
        capture_output=True,
        env=env,
        check=True,
        timeout=120,
    )
    return done.stdout.decode()


def _tiny_image(env: dict[str, str], reference: str) -> str:
    """An image imported from a one-file tar (the reference as content); returns its full ID."""
    content = reference.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    _docker(env, "import", "-", reference, stdin=buffer.getvalue())
    return _docker(env, "image", "inspect", "--format", "{{.Id}}", reference).strip()


def test_written_tags_are_served_untagged_and_dropped_by_the_daemon(
    bench_env: dict[str, str],
) -> None:
    first = _tiny_image(bench_env, "keep/base:1")
    second = _tiny_image(bench_env, "keep/other:1")
    assert first != second
    tags = {f"bench/app{n % 3:02d}:{n}": (first if n % 2 else second) for n in range(2000)}
    sandbox = BenchSandbox(bench_env)
    host = bench_env["DOCKER_HOST"]

    seed_tags(sandbox, tags)

    served, lines = served_tags("bench/", docker_host=host)
    assert served == set(tags)
    assert lines == 1 + len(tags) + 2  # the header, the bench tags and the two imports
    for reference in ("bench/app01:1", "bench/app00:0"):
        shown = _docker(bench_env, "image", "inspect", "--format", "{{.Id}}", reference).strip()
        assert shown == tags[reference]
    # The daemon untags one itself and rewrites the file: the tags are in its reference store.
    _docker(bench_env, "rmi", "bench/app01:1")
    rewritten = json.loads(sandbox.store_path.read_text())["Repositories"]
    assert "bench/app01:1" not in rewritten["bench/app01"]
    assert (
        len(rewritten["bench/app01"]) == len([t for t in tags if t.startswith("bench/app01:")]) - 1
    )
    assert rewritten["keep/base"] == {"keep/base:1": first}

    drop_tags(sandbox, ["bench/"])

    served, lines = served_tags("bench/", docker_host=host)
    assert served == set()
    assert lines == 1 + 2
    assert served_tags("keep/", docker_host=host)[0] == {"keep/base:1", "keep/other:1"}
