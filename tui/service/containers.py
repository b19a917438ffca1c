"""Containers: list, remove, commit."""

from __future__ import annotations

from tui.service.core import ServiceBase


class ContainersMixin(ServiceBase):
    """Containers: list, remove, commit."""
