"""Typed messages that carry results from thread workers and the events thread to screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from tui.service.errors import ImagedeckError
from tui.service.models import DaemonEvent, DaemonInfo, DiskUsage, Image

if TYPE_CHECKING:
    from tui.service import ImageService


@dataclass
class Connected(Message):
    """The service connected; ``info`` says which daemon it is."""

    info: DaemonInfo
    service: ImageService


@dataclass
class ConnectFailed(Message):
    """The first connection failed."""

    host: str
    error: ImagedeckError


@dataclass
class ImagesLoaded(Message):
    """A fresh image list arrived (without disk usage)."""

    images: list[Image]


@dataclass
class EarlyLoaded(Message):
    """The first image list, asked for without docker-py (None when that failed)."""

    images: list[Image] | None


@dataclass
class UsageLoaded(Message):
    """Disk usage arrived (shared sizes, container counts, real layer size)."""

    usage: DiskUsage


@dataclass
class LoadFailed(Message):
    """Loading the list failed."""

    error: ImagedeckError


class ImagesChanged(Message):
    """Something changed in the daemon; coalesced, so a burst of events is one message.

    ``can_replace`` lets a newer one replace a queued one instead of piling up.
    """

    def __init__(self, events: tuple[DaemonEvent, ...] = ()) -> None:
        super().__init__()
        self.events = events

    def can_replace(self, message: Message) -> bool:
        """A queued ImagesChanged is superseded by a newer one."""
        return isinstance(message, ImagesChanged)


@dataclass
class DaemonLost(Message):
    """The daemon stopped answering mid-session; reconnecting with back-off."""

    reason: str
    retry_in: float


class DaemonBack(Message):
    """The daemon answers again after DaemonLost."""


class LastUsedChanged(Message):
    """The last-used record was loaded or moved forward (tui/service/lastused.py)."""

    def can_replace(self, message: Message) -> bool:
        """One redraw is enough for several changes."""
        return isinstance(message, LastUsedChanged)


class ImageArrived(Message):
    """A new image is on the daemon (built, pulled, committed): the list selects it.

    Posted by the screen or dialog that made it; it bubbles to the App, which hands it to the
    image list, so no feature module reaches into the list's screen.
    """

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference


class ImagesNeedReload(Message):
    """A feature changed the daemon's images: the list reloads (handled by the App)."""


class BackToImageList(Message):
    """Close every screen above the image list (handled by the App)."""


class RetryConnect(Message):
    """The user asked to connect again (the daemon-down screen's `r`); handled by the App."""
