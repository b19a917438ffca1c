"""Start connecting and listing images before Textual is even imported.

Cold start is dominated by imports; the first daemon requests overlap with them. The result is
picked up by the app's first load, which then has nothing to wait for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.service import ImageService
    from tui.service.models import DaemonInfo, DiskUsage, Image


class Prefetch:
    """Futures for the connected service, its info, the image list and disk usage."""

    def __init__(self, factory: Callable[[], ImageService]) -> None:
        self.service: Future[ImageService] = Future()
        self.info: Future[DaemonInfo] = Future()
        self.images: Future[list[Image]] = Future()
        self.usage: Future[DiskUsage] = Future()
        self._factory = factory

    def start(self) -> Prefetch:
        """Run the requests on daemon threads; returns self."""
        threading.Thread(target=self._run, name="prefetch", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            service = self._factory()
            self.service.set_result(service)
        except BaseException as exc:
            for future in (self.service, self.info, self.images, self.usage):
                future.set_exception(exc)
            return
        # Usage (df) is slower than the list; run it alongside so the list does not wait.
        usage_thread = threading.Thread(
            target=_fill, args=(self.usage, service.disk_usage), daemon=True
        )
        usage_thread.start()
        _fill(self.info, service.info)
        _fill(self.images, service.list_images)


def _fill(future: Future[Any], call: Callable[[], Any]) -> None:
    try:
        future.set_result(call())
    except BaseException as exc:
        future.set_exception(exc)
