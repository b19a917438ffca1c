"""Layer history and layer contents."""

from __future__ import annotations

from tui.service.core import ServiceBase


class HistoryMixin(ServiceBase):
    """Layer history and layer contents."""
