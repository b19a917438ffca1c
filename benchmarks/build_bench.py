#!/usr/bin/env python3
"""Build log benchmark: a build printing 100,000 lines, in imagedeck vs `docker build`.

Run inside the sandbox namespace:

    scripts/sandbox exec .venv/bin/python benchmarks/build_bench.py [--rounds N]

Each round builds ``tests/fixtures/build-flood`` (one RUN step echoing 100,000 lines) twice
with fresh NONCE build args, so nothing comes from the cache:

- ``docker build`` (classic builder, output to a pipe that is read to the end): the time until
  the CLI exits;
- imagedeck, headless (``run_test``): `b` is skipped, the log screen is pushed with the same
  request, and the time is taken when the flood's last line has been applied to the log *and*
  the log widget, following the output, renders it on its last visible row; then when the build
  succeeded.

``--builder buildkit`` does the same with BuildKit: ``docker buildx build --progress=plain``
(read to the end) against imagedeck's BuildKit build (``buildx --progress=rawjson`` parsed into
the same log). BuildKit clips a step's log at 2 MiB ("output clipped, log limit 2MiB
reached"), so there the last line is the last one BuildKit sent, not line 99,999; the
benchmark says how many arrived. Needs the buildx plugin (DOCKER_CONFIG's cli-plugins).

Peak memory is the process's maximum RSS (``ru_maxrss``), reported with the RSS before the
first build so the cost of the log itself is visible; ``tracemalloc`` would slow the run down.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.app import ImagedeckApp  # noqa: E402
from tui.screens import build_run as build_screen  # noqa: E402
from tui.screens.build_log import BuildLogScreen  # noqa: E402
from tui.screens.build_run import BuildRun  # noqa: E402
from tui.service import ImageService  # noqa: E402
from tui.service.build import check_build_request  # noqa: E402
from tui.service.buildkit import BuilderInfo  # noqa: E402
from tui.widgets.build_log import RUNNING, BuildLog, BuildLogModel  # noqa: E402

CONTEXT = ROOT / "tests" / "fixtures" / "build-flood"
LINES = 100_000


def rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def docker_build(tag: str, nonce: str, buildkit: bool = False) -> float:
    """Seconds for `docker build` of the flood context, its output read to the end."""
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    start = time.perf_counter()
    if buildkit:
        argv = ["docker", "buildx", "build", "--progress=plain", "--build-arg", f"NONCE={nonce}"]
        argv += ["-t", tag, str(CONTEXT)]
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        took = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"docker buildx build failed: {result.stderr[-2000:]}")
        if f"of the flood {nonce}" not in result.stderr:
            raise SystemExit("docker buildx build printed none of the flood")
        return took
    result = subprocess.run(
        [
            "docker",
            "build",
            "--rm",
            "--force-rm",
            "--build-arg",
            f"NONCE={nonce}",
            "-t",
            tag,
            str(CONTEXT),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"docker build failed: {result.stderr[-2000:]}")
    if f"line {LINES - 1} of the flood {nonce}" not in result.stdout:
        raise SystemExit("docker build did not print the last line")
    return took


async def imagedeck_build(
    tag: str, nonce: str, builder: BuilderInfo | None = None
) -> tuple[float, float, int, int]:
    """(seconds to the last line on screen, seconds to success, lines kept, last line number).

    With BuildKit the last line is the last one BuildKit sent (it clips long step logs).
    """
    app = ImagedeckApp(ImageService.connect)
    last_line = f"line {LINES - 1} of the flood {nonce}"
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(400):
            await pilot.pause(0.025)
            if app.images_screen.loaded:
                break
        request = check_build_request(CONTEXT, tags=[tag], buildargs={"NONCE": nonce})
        run = BuildRun(
            request,
            BuildLogModel(build_screen.clock()),
            build_screen.wall_clock(),
            builder=builder or BuilderInfo(False, reason="benchmark"),
        )
        start = time.perf_counter()
        await app.push_screen(BuildLogScreen(run, start=True))
        log = app.screen.query_one(BuildLog)
        on_screen: float | None = None
        while run.model.status == RUNNING or on_screen is None:
            await asyncio.sleep(0.005)
            if builder is not None and run.model.status != RUNNING and on_screen is None:
                # BuildKit: the last flood line that arrived is the one to wait for.
                last_line = _last_flood_line(run.model, nonce) or last_line
            if on_screen is None and _visible(log, last_line):
                on_screen = time.perf_counter() - start
            if run.model.status not in (RUNNING, "succeeded"):
                raise SystemExit(f"imagedeck build failed: {run.model.error}")
            if time.perf_counter() - start > 300:
                raise SystemExit("imagedeck build took over 5 minutes")
        done = time.perf_counter() - start
        kept = run.model.line_count
        number = int(last_line.split()[1])
    return on_screen, done, kept, number


def _last_flood_line(model: BuildLogModel, nonce: str) -> str:
    for step in reversed(model.steps):
        for line in reversed(step.lines):
            if line.endswith(f"of the flood {nonce}"):
                return line
    return ""


def _visible(log: BuildLog, text: str) -> bool:
    """True when ``text`` is on one of the rows the log shows right now."""
    height = log.scrollable_content_region.height
    for y in range(height):
        strip = log.render_line(y)
        if text in "".join(segment.text for segment in strip):
            return True
    return False


def main() -> None:
    """Rounds of docker build vs imagedeck; print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--builder", choices=("legacy", "buildkit"), default="legacy")
    args = parser.parse_args()
    builder: BuilderInfo | None = None
    if args.builder == "buildkit":
        service = ImageService.connect()
        builder = service.builder_info()
        service.close()
        if not builder.buildkit:
            raise SystemExit(f"BuildKit is not available: {builder.reason}")
    baseline = rss_mib()
    repo = f"bench/build-{uuid.uuid4().hex[:8]}"
    tags: list[str] = []
    rows = []
    try:
        for round_ in range(args.rounds):
            cli_tag, app_tag = f"{repo}:cli{round_}", f"{repo}:app{round_}"
            tags += [cli_tag, app_tag]
            cli = docker_build(cli_tag, uuid.uuid4().hex, builder is not None)
            on_screen, done, kept, number = asyncio.run(
                imagedeck_build(app_tag, uuid.uuid4().hex, builder)
            )
            rows.append((cli, on_screen, done, kept))
            name = "docker buildx build" if builder is not None else "docker build"
            print(
                f"round {round_ + 1}: {name} {cli:.2f}s · imagedeck last line (line {number:,}) "
                f"on screen {on_screen:.2f}s (ratio {on_screen / cli:.2f}x), build done "
                f"{done:.2f}s, {kept:,} lines kept"
            )
    finally:
        if tags:
            subprocess.run(["docker", "rmi", *tags], capture_output=True, check=False)
    best_cli = min(r[0] for r in rows)
    best_app = min(r[1] for r in rows)
    print(
        f"best: docker build {best_cli:.2f}s, imagedeck {best_app:.2f}s "
        f"({best_app / best_cli:.2f}x); peak RSS {rss_mib():.0f} MiB "
        f"(before the first build {baseline:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
