"""What the cleanup controller and the disk map need of the image list, as a Protocol.

The images screen opens the delete flow (``tui/screens/cleanup_controller.py``)
and the disk map (``tui/screens/diskmap.py``); both read the list's images, usage and marks,
and ask it to redraw its summary or reload. Typed against this Protocol rather than against
``ImagesScreen``, they no longer import the images screen, so the UI modules import each
other one way only (``tests/unit/test_architecture.py`` checks there is no cycle).
``ImagesScreen`` satisfies it structurally; mypy checks that where the screen hands itself
over (``cleanup_controller(self)``, ``DiskMapScreen(self)``).

Every member is public: the images (``images`` and ``usage`` as loaded, ``listed_images()``
as shown), the marks (``model``), and what the helpers ask back (``refresh_summary()`` after
the freed figures or the marks change, ``reload()`` after a removal); the rest is Textual's
own ``query``/``query_one``/``mount``. Nothing here names the screen's internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from textual.css.query import DOMQuery
    from textual.widget import AwaitMount, Widget

    from tui.listmodel import ImageListModel
    from tui.service.models import DiskUsage, Image, ImageRow

QueryType = TypeVar("QueryType", bound="Widget")


class ImageListHost(Protocol):
    """The image list as its helpers see it (``ImagesScreen`` is the one implementation)."""

    @property
    def model(self) -> ImageListModel:
        """The list's rows, filter, sort and marks."""

    @property
    def images(self) -> list[Image]:
        """The images as last listed."""

    @property
    def usage(self) -> DiskUsage | None:
        """The daemon's disk usage (shared/unique sizes), once it has arrived."""

    def listed_images(self) -> list[Image]:
        """The images as the list shows them, with their disk usage merged in."""

    def reload(self) -> None:
        """List the images again."""

    def marked_frees(self, rows: list[ImageRow]) -> int:
        """What deleting ``rows`` frees, in bytes."""

    def refresh_summary(self) -> None:
        """Redraw the summary line (marks, reclaimable): the helpers' changed-callback."""

    def query(self, selector: type[QueryType]) -> DOMQuery[QueryType]:
        """Textual's query (the controller looks for itself among the screen's children)."""

    def query_one(self, selector: type[QueryType]) -> QueryType:
        """Textual's query_one (the disk map redraws the list's table after a mark)."""

    def mount(self, *widgets: Widget) -> AwaitMount:
        """Textual's mount (the controller is mounted on the screen on first use)."""
