"""``ImageService``: every mixin of the service layer in one class (imports docker-py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.service.api import ImageServiceAPI
from tui.service.archives import ArchivesMixin
from tui.service.build import BuildMixin
from tui.service.buildkit import BuildKitMixin
from tui.service.cleanup import CleanupMixin
from tui.service.containers import ContainersMixin
from tui.service.history import HistoryMixin
from tui.service.images import ImagesMixin
from tui.service.prune import PruneMixin
from tui.service.transfers import TransfersMixin


class ImageService(
    ImagesMixin,
    ContainersMixin,
    TransfersMixin,
    BuildMixin,
    BuildKitMixin,
    HistoryMixin,
    CleanupMixin,
    PruneMixin,
    ArchivesMixin,
    ImageServiceAPI,
):
    """Everything imagedeck asks of a Docker daemon. Create it with ``ImageService.connect``.

    It declares ``ImageServiceAPI`` (what the UI calls), so mypy checks every mixin's method
    against the Protocol the screens are typed with.
    """


if TYPE_CHECKING:
    import docker

    from tui.service.connection import Endpoint

    def _implements_every_method(endpoint: Endpoint, api: docker.APIClient) -> ImageServiceAPI:
        # mypy refuses to instantiate a class that leaves a Protocol method unimplemented
        # (it would inherit the Protocol's empty body): this line is that check.
        return ImageService(endpoint, api)
