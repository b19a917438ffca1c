"""Layer contents and wasted space: a streaming analysis of a `docker save` archive.

A library of its own: it needs neither Docker nor Textual (the service feeds it `docker save`'s
stream, ``imagedeck layers`` a file), so it can be tested and benchmarked on archives alone.

The archive is read once, front to back, from any object with ``read()`` (a pipe, an HTTP
stream, a file): each layer tar is walked as a nested stream the moment it turns up in the
outer tar, and only a compact list of its entries (path, size, type) is kept. Layers may come
in any order and ``manifest.json`` may come last, so layers are put in manifest order at the
end. Memory grows with the number of file entries, never with the bytes of the image.

The efficiency figures replicate dive (``filetree/efficiency.go``, ``image/analysis.go``,
``image/docker/image_archive.go``) quirk for quirk, so a CI gate written for dive gives the same
verdict here. The per-layer change lists and trees are our own, cleaner model (see
``LayerInfo.changes``); they never feed the dive figures.

Modules, in the order the data flows:

- ``tarstream``: blocks from any ``read()``, decompression, the tar walker, one layer's entries;
- ``archive``: one pass over the outer tar, then manifest/index order (platforms, links);
- ``changes``: the change model, a file system state replayed layer by layer;
- ``efficiency``: dive's efficiency score and inefficiencies;
- ``model`` and ``result``: the data types (``FileEntry`` ... ``ImageAnalysis``);
- ``analyze``: the entry points ``analyze_stream`` and ``analyze_path``.
"""

from __future__ import annotations

from tui.analysis.analyze import analyze_layers, analyze_path, analyze_stream
from tui.analysis.archive import platform_text
from tui.analysis.model import (
    AnalysisCancelled,
    Change,
    ChangeKind,
    EntryKind,
    FileEntry,
    FileNode,
    Inefficiency,
    LayerAnalysisError,
    ProgressCallback,
    clean_command,
)
from tui.analysis.result import ImageAnalysis, LayerInfo

__all__ = [
    "AnalysisCancelled",
    "Change",
    "ChangeKind",
    "EntryKind",
    "FileEntry",
    "FileNode",
    "ImageAnalysis",
    "Inefficiency",
    "LayerAnalysisError",
    "LayerInfo",
    "ProgressCallback",
    "analyze_layers",
    "analyze_path",
    "analyze_stream",
    "clean_command",
    "platform_text",
]
