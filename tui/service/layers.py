"""The layer analysis, as the service and older imports know it: see ``tui/analysis/``.

The analysis is a library of its own (``tui.analysis``: tar stream, archive and manifest order,
change model, dive's efficiency), needing neither Docker nor Textual; this module re-exports
its public names so ``from tui.service.layers import ...`` keeps working.
"""

from __future__ import annotations

from tui.analysis import (
    AnalysisCancelled,
    Change,
    ChangeKind,
    EntryKind,
    FileEntry,
    FileNode,
    ImageAnalysis,
    Inefficiency,
    LayerAnalysisError,
    LayerInfo,
    ProgressCallback,
    analyze_path,
    analyze_stream,
    clean_command,
    platform_text,
)

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
    "analyze_path",
    "analyze_stream",
    "clean_command",
    "platform_text",
]
