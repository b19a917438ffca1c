"""The docker-py service layer: the only package that imports docker; it never imports Textual.

``ImageService`` is assembled from one mixin per concern so each lives in its own module.

The package loads lazily (PEP 562): importing ``tui.service.errors`` or ``tui.service.models``
does not import docker-py, so the UI can draw the first image list before docker-py (about a
fifth of a second) has loaded. ``ImageService`` and ``Endpoint`` import it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.service.errors import (
    BuildFailed,
    Cancelled,
    Conflict,
    DaemonError,
    DaemonUnreachable,
    Holder,
    ImagedeckError,
    InvalidReference,
    NotFound,
    RegistryError,
)

if TYPE_CHECKING:
    from tui.service.connection import Endpoint
    from tui.service.facade import ImageService


def __getattr__(name: str) -> Any:
    if name == "ImageService":
        from tui.service.facade import ImageService

        return ImageService
    if name == "Endpoint":
        from tui.service.connection import Endpoint

        return Endpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BuildFailed",
    "Cancelled",
    "Conflict",
    "DaemonError",
    "DaemonUnreachable",
    "Endpoint",
    "Holder",
    "ImageService",
    "ImagedeckError",
    "InvalidReference",
    "NotFound",
    "RegistryError",
]
