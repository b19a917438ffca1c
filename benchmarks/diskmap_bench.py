"""The disk map at 10,000 tags: `D` to the first frame of bars, and to layer-exact figures.

    IMAGEDECK_SANDBOX_NAME=bench-diskmap IMAGEDECK_SANDBOX_SEED=0 scripts/sandbox start
    IMAGEDECK_SANDBOX_NAME=bench-diskmap scripts/sandbox exec .venv/bin/python \\
        benchmarks/diskmap_bench.py [--runs 5] [--images 50] [--tags 10000] [--keep]
    IMAGEDECK_SANDBOX_NAME=bench-diskmap scripts/sandbox stop --purge

It seeds the daemon in DOCKER_HOST like benchmarks/run.py (10,000 tags over 50 images in the
``bench/`` namespace, skipped when there), runs the app in-process (Textual's headless driver,
120x40) against that daemon, waits for the list and its disk usage, then times:

1. ``D`` to the disk map's first figures on screen (df estimates, from the list's images);
2. ``D`` to the layer-exact figures (inspect and history of every image; the service caches
   layers per image ID, so only the first run pays for them: reported apart);
3. the pure computation of the repository level (``build_map``) for those 10,000 rows.

Each figure is the median of ``--runs`` runs. Exit code 0; the numbers are printed, not
asserted (no timed assertion anywhere in the suite).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run import clean, seed  # noqa: E402
from tui.app import ImagedeckApp  # noqa: E402
from tui.diskmap_model import build_map  # noqa: E402
from tui.screens.diskmap import DiskMapScreen  # noqa: E402
from tui.service import ImageService  # noqa: E402
from tui.service.models import with_usage  # noqa: E402


async def measure(runs: int) -> tuple[list[float], list[float], float, int]:
    """(first frame times, exact times after the first run, first exact time, rows)."""
    host = os.environ["DOCKER_HOST"]
    app = ImagedeckApp(lambda: ImageService.connect(host), host_hint=host)
    firsts: list[float] = []
    exacts: list[float] = []
    first_exact = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.images_screen
        while not (screen.loaded and screen.usage is not None):
            await pilot.pause(0.01)
        rows = len(screen.model.rows)
        for run in range(runs):
            started = time.perf_counter()
            await pilot.press("D")
            while not isinstance(app.screen, DiskMapScreen):
                await pilot.pause(0.001)
            disk_map = app.screen
            # pilot.press returns only once the app is idle, so the screen's own clock says
            # when the first figures were drawn and when the exact ones arrived.
            while disk_map.first_content_at is None or not disk_map.final:
                await pilot.pause(0.005)
            assert disk_map.first_content_at is not None and disk_map.final_at is not None
            firsts.append(disk_map.first_content_at - started)
            exact = disk_map.final_at - started
            if run == 0:
                first_exact = exact
            else:
                exacts.append(exact)
            await pilot.press("escape")
            while app.screen is not screen:
                await pilot.pause(0.005)
    return firsts, exacts, first_exact, rows


def model_time(runs: int) -> float:
    """Median seconds of build_map over every image (layers from the service)."""
    service = ImageService.connect(os.environ["DOCKER_HOST"])
    try:
        images = with_usage(service.list_images(), service.disk_usage())
        layers = service.layers_for(images, [i.id for i in images])
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            build_map(images, layers)
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        service.close()


def main() -> int:
    """Seed, measure, print, clean up (unless --keep)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="leave the bench images")
    args = parser.parse_args()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    seed(args.images, args.tags, log)
    try:
        firsts, exacts, first_exact, rows = asyncio.run(measure(args.runs))
        model = model_time(args.runs)
    finally:
        if not args.keep:
            clean(log)
    print(f"disk map at {rows} rows ({args.images} images), median of {args.runs} runs:")
    print(f"  D to the first figures on screen:    {statistics.median(firsts) * 1000:7.0f} ms")
    print(f"  D to layer-exact figures, first run: {first_exact * 1000:7.0f} ms")
    if exacts:
        print(f"  D to layer-exact figures, later:     {statistics.median(exacts) * 1000:7.0f} ms")
    print(f"  build_map (repository level):        {model * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
