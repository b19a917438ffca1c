"""The docker-py service layer: the only package that imports docker; it never imports Textual.

``ImageService`` is assembled from one mixin per concern so each lives in its own module.
"""

from __future__ import annotations

from tui.service.build import BuildMixin
from tui.service.cleanup import CleanupMixin
from tui.service.connection import Endpoint
from tui.service.containers import ContainersMixin
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
from tui.service.history import HistoryMixin
from tui.service.images import ImagesMixin
from tui.service.transfers import TransfersMixin


class ImageService(
    ImagesMixin, ContainersMixin, TransfersMixin, BuildMixin, HistoryMixin, CleanupMixin
):
    """Everything imagedeck asks of a Docker daemon. Create it with ``ImageService.connect``."""


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
