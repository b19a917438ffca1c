"""The filter field of the image list: an Input that filters in the keystroke's own frame."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input


class FilterInput(Input):
    """An Input tuned for filtering a large list as you type.

    - ``on_value`` is called as soon as the value changes, in the same step as the keystroke.
      The ``Changed`` message reaches the screen only after the field has repainted, so the
      list it filters would repaint one frame (up to 16 ms) later.
    - Textual's Input sets its virtual width to the length of its text on every change, and
      virtual size is a layout reactive: each keystroke re-laid out the whole screen, which
      cost more than filtering 10,000 rows. Here the virtual width never drops below the
      visible width, so a layout happens only once the text is longer than the field, where
      horizontal scrolling needs it.
    - The cursor does not blink: a blink timer redraws twice a second forever, and idle must
      stay idle (and quiet on an SSH link).
    """

    def __init__(
        self, *args: object, on_value: Callable[[str], None] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._on_value = on_value
        self.cursor_blink = False

    def watch_value(self, value: str) -> None:
        """Tell the owner at once (runs beside Input's own watcher)."""
        if self._on_value is not None:
            self._on_value(value)

    @property
    def content_width(self) -> int:
        """The text's width plus the cursor cell, but at least the field's own width."""
        return max(super().content_width, self.scrollable_content_region.width)
