"""``ImageService``: every mixin of the service layer in one class (imports docker-py)."""

from __future__ import annotations

from tui.service.build import BuildMixin
from tui.service.buildkit import BuildKitMixin
from tui.service.cleanup import CleanupMixin
from tui.service.containers import ContainersMixin
from tui.service.history import HistoryMixin
from tui.service.images import ImagesMixin
from tui.service.transfers import TransfersMixin


class ImageService(
    ImagesMixin,
    ContainersMixin,
    TransfersMixin,
    BuildMixin,
    BuildKitMixin,
    HistoryMixin,
    CleanupMixin,
):
    """Everything imagedeck asks of a Docker daemon. Create it with ``ImageService.connect``."""
