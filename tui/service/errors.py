"""Errors the service layer raises.

Every error's ``str()`` is a sentence a person can act on; screens show it as it is. docker-py
exceptions never leave ``tui.service``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ImagedeckError(Exception):
    """Base class of every error the service layer raises."""


class DaemonUnreachable(ImagedeckError):
    """The Docker daemon cannot be reached (not running, wrong host, TLS or ssh failure)."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"Cannot reach the Docker daemon at {host}: {reason}")


class NotFound(ImagedeckError):
    """An image, container or registry repository does not exist."""


class InvalidReference(ImagedeckError, ValueError):
    """A text is not a valid image reference; the message says why."""


@dataclass(frozen=True)
class Holder:
    """A container that keeps an image from being removed."""

    id: str
    name: str
    status: str
    running: bool

    @property
    def short_id(self) -> str:
        """The 12-character ID the Docker CLI shows."""
        return self.id[:12]


class Conflict(ImagedeckError):
    """The daemon refused a removal because something still uses the image.

    ``holders`` names the containers using it (when known); ``children`` is True when the
    image has dependent child images instead.
    """

    def __init__(
        self,
        message: str,
        *,
        reference: str = "",
        holders: Sequence[Holder] = (),
        children: bool = False,
        daemon_message: str = "",
    ) -> None:
        self.reference = reference
        self.holders = tuple(holders)
        self.children = children
        self.daemon_message = daemon_message
        super().__init__(message)


class RegistryError(ImagedeckError):
    """A registry refused or failed a pull, push or search."""


class Cancelled(ImagedeckError):
    """A long operation (pull, push, build, save) was cancelled by the user."""

    def __init__(self, what: str = "Operation") -> None:
        super().__init__(f"{what} cancelled")


class BuildFailed(ImagedeckError):
    """A build stopped with an error from the daemon (a failing step, a missing base image)."""

    def __init__(self, message: str, step: str | None = None) -> None:
        self.step = step
        super().__init__(message)


class DaemonError(ImagedeckError):
    """Any other error the daemon answered with; the message is the daemon's, in full."""


class NotConnected(ImagedeckError):
    """A screen asked for the service before the app connected (or after it lost it)."""

    def __init__(self) -> None:
        super().__init__("Not connected to a Docker daemon yet.")


class ArchiveError(ImagedeckError):
    """An image archive or root filesystem tarball that cannot be used (not a tar, cut short,
    a manifest naming a blob that is missing); nothing was sent to the daemon."""


class FileExists(ImagedeckError):
    """The file to write exists; the caller asks before overwriting it."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} exists; it was not overwritten")
