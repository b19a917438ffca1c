"""Pull, push and search."""

from __future__ import annotations

from tui.service.core import ServiceBase


class TransfersMixin(ServiceBase):
    """Pull, push and search."""
