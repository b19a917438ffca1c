"""Layer analysis of seeded images through the service, checked against `docker save` archives.

The expected figures are computed here from the archive with tarfile and plain dicts (dive's
rules, written out independently of the engine's trees).
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tui.analysis import AnalysisCancelled, ChangeKind
from tui.layers_cli import main as layers_main
from tui.service.errors import NotFound

DockerCli = Callable[..., subprocess.CompletedProcess[str]]
WASTED = "demo/wasted:latest"


@dataclass
class Entry:
    path: str  # no leading slash, no trailing slash
    size: int
    is_dir: bool


@dataclass
class ArchiveFacts:
    layers: list[list[Entry]]
    commands: list[str] = field(default_factory=list)


def read_archive(path: Path) -> ArchiveFacts:
    """Every layer's entries, in manifest order, read with tarfile (legacy or OCI layout)."""
    with tarfile.open(path) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        layers: list[list[Entry]] = []
        for name in manifest[0]["Layers"]:
            member = outer.getmember(name)
            while member.issym() or member.islnk():  # newer docker links <id>/layer.tar to blobs
                target = member.linkname
                if member.issym():
                    target = str(Path(name).parent / target)
                name = str(Path(*[p for p in Path(target).parts if p != ".."]))
                member = outer.getmember(name)
            data = outer.extractfile(member).read()  # type: ignore[union-attr]
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as layer:
                layers.append(
                    [
                        Entry(m.name.lstrip("./").rstrip("/"), m.size, m.isdir())
                        for m in layer.getmembers()
                        if m.name.lstrip("./")
                    ]
                )
        config = json.load(outer.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
    commands = [
        h.get("created_by", "") for h in config.get("history", []) if not h.get("empty_layer")
    ]
    return ArchiveFacts(layers, commands)


def dive_figures(layers: list[list[Entry]]) -> tuple[float, int, dict[str, tuple[int, int]]]:
    """(efficiency, wasted bytes, {path: (copies, cumulative size)} for copies >= 2).

    dive counts the leaves of each layer's own tree; a whiteout of a file counts 0, of a
    directory the sizes of everything under it in the layers below; opaque markers vanish.
    """
    below: dict[str, tuple[int, bool]] = {}  # the stacked file system before the layer
    stats: dict[str, list[int]] = {}  # path -> [cumulative, minimum, copies]
    for entries in layers:
        names = {e.path for e in entries if not Path(e.path).name.startswith(".wh..wh..")}
        parents = {str(Path(n).parent) for n in names}
        for entry in entries:
            if entry.path not in names or entry.path in parents:
                continue  # not a leaf of this layer's tree
            base = Path(entry.path).name
            if base.startswith(".wh."):
                target = str(Path(entry.path).parent / base[len(".wh.") :]).lstrip("./")
                if below.get(target, (0, False))[1]:
                    size = sum(
                        s
                        for p, (s, _) in below.items()
                        if p == target or p.startswith(target + "/")
                    )
                else:
                    size = 0
                key = "/" + target
            else:
                size, key = entry.size, "/" + entry.path
            data = stats.setdefault(key, [0, -1, 0])
            data[0] += size
            data[1] = size if data[1] < 0 else min(data[1], size)
            data[2] += 1
        for entry in entries:  # stack the layer
            base = Path(entry.path).name
            if base.startswith(".wh..wh.."):
                continue
            if base.startswith(".wh."):
                target = str(Path(entry.path).parent / base[len(".wh.") :]).lstrip("./")
                for p in [p for p in below if p == target or p.startswith(target + "/")]:
                    del below[p]
            else:
                below[entry.path] = (entry.size, entry.is_dir)
    minimum = sum(d[1] for d in stats.values())
    cumulative = sum(d[0] for d in stats.values())
    wasted = {p: (d[2], d[0]) for p, d in stats.items() if d[2] >= 2}
    return minimum / cumulative, sum(c for _, c in wasted.values()), wasted


@pytest.fixture
def wasted_archive(tmp_path: Path, docker_cli: DockerCli) -> ArchiveFacts:
    """demo/wasted:latest as `docker save` wrote it, read back with tarfile."""
    path = tmp_path / "wasted.tar"
    docker_cli("save", "-o", str(path), WASTED, check=True)
    return read_archive(path)


@pytest.mark.daemon
def test_wasted_image_figures_equal_the_archive(service: Any, wasted_archive: ArchiveFacts) -> None:
    progress: list[tuple[int, int | None]] = []
    analysis = service.analyze_layers(WASTED, progress=lambda d, t: progress.append((d, t)))

    layers = wasted_archive.layers
    assert len(analysis.layers) == len(layers) == 5
    for info, entries in zip(analysis.layers, layers, strict=True):
        assert info.size_bytes == sum(e.size for e in entries)
    efficiency, wasted, offenders = dive_figures(layers)
    assert analysis.efficiency == pytest.approx(efficiency, abs=1e-12)
    assert analysis.wasted_bytes == wasted
    assert {i.path: (i.count, i.cumulative_size) for i in analysis.inefficiencies} == offenders
    assert analysis.user_size_bytes == sum(e.size for entries in layers[1:] for e in entries)
    # What the fixture's Dockerfile did, in the archive's own numbers.
    blob = [e.size for entries in layers for e in entries if e.path == "data/blob.bin"]
    notes = [e.size for entries in layers for e in entries if e.path == "data/notes.bin"]
    assert offenders == {"/data/blob.bin": (2, sum(blob)), "/data/notes.bin": (2, sum(notes))}
    assert wasted == sum(blob) + sum(notes) == 307_200 * 2 + 204_800

    # Progress counted up to the whole archive; the estimate is the image size.
    inspect_size = service.inspect_image(WASTED)["Size"]
    assert progress and all(total == inspect_size for _, total in progress)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


@pytest.mark.daemon
def test_wasted_image_changes_per_layer(service: Any, wasted_archive: ArchiveFacts) -> None:
    analysis = service.analyze_layers(WASTED)
    files = {
        index: {(c.path, c.kind, c.size) for c in layer.changes if c.entry_kind.value != "dir"}
        for index, layer in enumerate(analysis.layers)
    }
    sizes = {e.path: e.size for entries in wasted_archive.layers[1:2] for e in entries}
    assert files[1] == {
        ("/data/blob.bin", ChangeKind.ADDED, sizes["data/blob.bin"]),
        ("/data/cache/one.bin", ChangeKind.ADDED, sizes["data/cache/one.bin"]),
        ("/data/cache/two.bin", ChangeKind.ADDED, sizes["data/cache/two.bin"]),
        ("/data/notes.bin", ChangeKind.ADDED, sizes["data/notes.bin"]),
    }
    assert files[2] == {("/data/blob.bin", ChangeKind.MODIFIED, 307_200)}
    removed_cache = {(c.path, c.kind, c.size) for c in analysis.layers[3].changes}
    assert removed_cache == {
        (
            "/data/cache",
            ChangeKind.REMOVED,
            sizes["data/cache/one.bin"] + sizes["data/cache/two.bin"],
        )
    }
    assert files[4] == {
        ("/data/notes.bin", ChangeKind.REMOVED, 204_800),
        ("/data/kept.txt", ChangeKind.ADDED, 5),
    }
    assert analysis.layers[4].command == wasted_archive.commands[4].replace(
        "/bin/sh -c ", "RUN ", 1
    )
    # The aggregated trees: a layer's removals stay visible (marked) in its own view only.
    assert analysis.aggregated_tree(3).find("/data/cache").change is ChangeKind.REMOVED
    final = analysis.aggregated_tree(4)  # the image's final file system
    assert final.find("/data/cache") is None
    assert final.find("/data/notes.bin").change is ChangeKind.REMOVED
    assert final.find("/data/blob.bin").size == 307_200
    assert final.find("/data").size == 307_200 + 5


@pytest.mark.daemon
def test_cancel_stops_the_stream(service: Any) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        cancel.set()  # after the first block

    with pytest.raises(AnalysisCancelled):
        service.analyze_layers("imagedeck/busybox:latest", progress=progress, cancel=cancel)
    assert len(seen) == 1
    service.ping()  # the client is still usable


@pytest.mark.daemon
def test_missing_image_is_not_found(service: Any) -> None:
    with pytest.raises(NotFound):
        service.analyze_layers("demo/nope:missing")


@pytest.mark.daemon
def test_layers_cli_uses_the_service(
    service: Any, sandbox: Any, wasted_archive: ArchiveFacts, capsys: pytest.CaptureFixture[str]
) -> None:
    # No opener given: the CLI connects like `imagedeck` does (--host) and streams
    # ImageService.save_stream; its JSON equals the service's analysis.
    assert layers_main([WASTED, "--json", "--host", sandbox.docker_host]) == 0
    document = json.loads(capsys.readouterr().out)
    expected = service.analyze_layers(WASTED).to_dict()
    assert document == expected
    _, wasted, _ = dive_figures(wasted_archive.layers)
    assert document["wasted_bytes"] == wasted

    assert (
        layers_main([WASTED, "--ci", "--lowest-efficiency", "0.99", "--host", sandbox.docker_host])
        == 1
    )
    assert "FAIL: lowestEfficiency" in capsys.readouterr().out
    assert layers_main(["demo/nope:missing", "--host", sandbox.docker_host]) == 2
    assert "demo/nope:missing" in capsys.readouterr().err
