"""Dockerfile builds."""

from __future__ import annotations

from tui.service.core import ServiceBase


class BuildMixin(ServiceBase):
    """Dockerfile builds."""
