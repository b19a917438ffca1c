"""The entry points: ``analyze_stream`` (any ``read()``) and ``analyze_path`` (a file)."""

from __future__ import annotations

import contextlib
import gc
import gzip
import io
import lzma
import math
import tarfile
import threading
from pathlib import Path
from typing import Any

from tui.analysis.archive import (
    layer_commands,
    layer_id,
    manifest_layers,
    read_archive,
    resolve_link,
)
from tui.analysis.changes import FsState
from tui.analysis.efficiency import LayerTree, dive_efficiency, layer_tree
from tui.analysis.model import FileEntry, LayerAnalysisError, ProgressCallback, Readable
from tui.analysis.result import ImageAnalysis, LayerInfo
from tui.analysis.tarstream import BlockReader, CountingReader, read_layer


def analyze_stream(
    stream: Readable,
    *,
    name: str = "",
    total: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    platform: str | None = None,
) -> ImageAnalysis:
    """Analyse a `docker save` archive read once from ``stream`` (needs only ``read()``).

    The archive may be plain or gzip-compressed, in the legacy or the OCI layout, with plain or
    gzip layers. ``progress(bytes_read, total)`` is called as blocks arrive; setting ``cancel``
    stops the analysis with AnalysisCancelled at the next block. Raises LayerAnalysisError
    when the stream is not a usable archive. The caller closes ``stream``.
    """
    # The analysis makes hundreds of thousands of small objects and no reference cycles: the
    # cyclic collector would only walk them again and again (a fifth of the CPU time of a
    # 50,000-file image). Reference counting still frees everything.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _analyze(stream, name, total, progress, cancel, platform)
    finally:
        if collecting:
            gc.enable()


def _analyze(
    stream: Readable,
    name: str,
    total: int | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    platform: str | None,
) -> ImageAnalysis:
    counter = CountingReader(stream, total, progress, cancel)
    try:
        archive = read_archive(counter)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, OSError, lzma.LZMAError) as exc:
        raise LayerAnalysisError(f"Cannot read the image archive: {exc}") from exc
    counter.check_cancel()
    # A multi-platform archive: the chosen platform, else the first one that is all there.
    layer_paths, config, image_name = manifest_layers(archive, platform)
    ordered: list[list[FileEntry]] = []
    resolved_paths: list[str] = []
    for path in layer_paths:
        resolved = resolve_link(archive, path)
        if resolved not in archive.layers:
            reason = archive.unsupported.get(resolved, "it is missing from the archive")
            raise LayerAnalysisError(f"Cannot read layer {path}: {reason}")
        ordered.append(archive.layers[resolved])
        resolved_paths.append(resolved)

    trees = [archive.trees.get(path) for path in resolved_paths]
    return _result(layer_paths, resolved_paths, ordered, trees, config, name or image_name, counter)


def analyze_layers(
    layers: list[tuple[str, Readable]],
    config: Any,
    *,
    name: str,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ImageAnalysis:
    """Analyse an image given as its layer tars (path in the archive, tar) and config document.

    The same figures as ``analyze_stream`` of the `docker save` archive that lists these
    layers under these paths (a path listed twice is one tar, read once, as in an archive);
    ``tui.layers_storage`` feeds it the daemon's own layer metadata. ``progress`` and
    ``cancel`` as for ``analyze_stream`` (the bytes are the layer tars').
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        counter = CountingReader(io.BytesIO(), total, progress, cancel)
        read: dict[str, list[FileEntry]] = {}
        trees: dict[str, LayerTree] = {}
        for path, tar in layers:
            if path not in read:
                done = counter.count
                counter = CountingReader(tar, total, progress, cancel)
                counter.count = done
                entries = read_layer(BlockReader(counter), counter.check_cancel, path)
                read[path] = entries
                trees[path] = layer_tree(entries)
        paths = [path for path, _ in layers]
        return _result(
            paths,
            paths,
            [read[path] for path in paths],
            [trees[path] for path in paths],
            config,
            name,
            counter,
        )
    finally:
        if collecting:
            gc.enable()


def _result(
    layer_paths: list[str],
    resolved_paths: list[str],
    ordered: list[list[FileEntry]],
    trees: list[LayerTree | None],
    config: Any,
    name: str,
    counter: CountingReader,
) -> ImageAnalysis:
    commands = layer_commands(config, len(ordered))
    diff_ids: list[Any] = []
    if isinstance(config, dict):
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])

    state = FsState()
    layers: list[LayerInfo] = []
    for index, entries in enumerate(ordered):
        counter.check_cancel()
        changes = state.apply(index, entries)
        layers.append(
            LayerInfo(
                index=index,
                tar_path=layer_paths[index],
                id=layer_id(resolved_paths[index]),
                diff_id=str(diff_ids[index]) if index < len(diff_ids) else None,
                # dive's layer size: the sum of the tar header sizes of its entries.
                size_bytes=sum(entry.size for entry in entries),
                created_by=commands[index],
                entries=tuple(entries),
                changes=tuple(changes),
            )
        )
    del state

    efficiency, inefficiencies = dive_efficiency(ordered, trees)
    size_bytes = sum(layer.size_bytes for layer in layers)
    user_size = sum(layer.size_bytes for layer in layers[1:])
    wasted = sum(item.cumulative_size for item in inefficiencies)
    if user_size:
        wasted_percent = wasted / user_size
    else:
        # dive divides by zero here (NaN or +Inf in Go); keep that meaning without raising.
        wasted_percent = 0.0 if wasted == 0 else math.inf
    return ImageAnalysis(
        image=name,
        layers=tuple(layers),
        efficiency=efficiency,
        size_bytes=size_bytes,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        wasted_user_percent=wasted_percent,
        inefficiencies=tuple(inefficiencies),
    )


def analyze_path(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ImageAnalysis:
    """Analyse a `docker save` archive file (plain or gzip-compressed)."""
    archive_path = Path(path)
    try:
        handle = archive_path.open("rb")
    except OSError as exc:
        raise LayerAnalysisError(f"Cannot open {archive_path}: {exc.strerror or exc}") from exc
    with contextlib.closing(handle):
        total = archive_path.stat().st_size
        return analyze_stream(
            handle, name=str(archive_path), total=total, progress=progress, cancel=cancel
        )
