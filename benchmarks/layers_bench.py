"""How long the layer analysis takes next to `docker save IMAGE > /dev/null`, and its peak memory.

    DOCKER_HOST=unix:///path/to/docker.sock python benchmarks/layers_bench.py [IMAGE] [--runs 5]

Both sides read the same `docker save` stream (the analysis reads it from the docker CLI's
stdout), so the ratio is the analysis' own cost. The aim (issue 4) is a ratio within 1.5x.
Peak memory: the process' maximum RSS (getrusage) and Python's own allocations (tracemalloc,
measured on a separate run because tracing slows the analysis down).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.analysis import ImageAnalysis, analyze_stream


def _save_argv(image: str) -> list[str]:
    return ["docker", "save", image]


def time_docker_save(image: str) -> float:
    """Seconds for `docker save IMAGE > /dev/null`."""
    start = time.perf_counter()
    with open("/dev/null", "wb") as sink:
        subprocess.run(_save_argv(image), stdout=sink, check=True)
    return time.perf_counter() - start


def analyse(image: str) -> tuple[float, ImageAnalysis]:
    """Seconds for the analysis of the `docker save IMAGE` stream, and its result."""
    start = time.perf_counter()
    proc = subprocess.Popen(_save_argv(image), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        result = analyze_stream(proc.stdout, name=image)
    finally:
        proc.stdout.close()
        code = proc.wait()
    if code != 0:
        raise SystemExit(f"docker save {image} failed with exit status {code}")
    return time.perf_counter() - start, result


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default="demo/wasted:latest")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    save_times = [time_docker_save(args.image) for _ in range(args.runs)]
    analysis_times: list[float] = []
    result: ImageAnalysis | None = None
    for _ in range(args.runs):
        seconds, result = analyse(args.image)
        analysis_times.append(seconds)
    assert result is not None
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    tracemalloc.start()
    analyse(args.image)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    save = statistics.median(save_times)
    analysis = statistics.median(analysis_times)
    entries = sum(len(layer.entries) for layer in result.layers)
    print(f"image:                 {args.image}")
    print(f"layers / entries:      {len(result.layers)} / {entries}")
    print(f"image size (dive):     {result.size_bytes} bytes")
    print(f"efficiency / wasted:   {result.efficiency:.4f} / {result.wasted_bytes} bytes")
    print(f"docker save > null:    {save:.3f} s (median of {args.runs})")
    print(f"analysis of stream:    {analysis:.3f} s (median of {args.runs})")
    print(f"ratio:                 {analysis / save:.2f}x (aim: <= 1.5x)")
    print(f"peak RSS (process):    {max_rss_kib / 1024:.1f} MiB")
    print(f"peak Python heap:      {traced_peak / (1 << 20):.1f} MiB (tracemalloc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
