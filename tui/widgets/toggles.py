"""Checkboxes and radio buttons whose state reads without colour.

Textual draws a toggle's inner glyph (``●`` for a radio button, ``X`` for a checkbox) whether
it is on or off and tells the two apart by colour alone: under NO_COLOR, on a 16-colour
terminal or for a colour-blind user, "official only" on and off look the same. Here an off
toggle draws a blank inside its brackets, so on is ``▐●▌`` / ``▐X▌`` and off is ``▐ ▌``.
"""

from __future__ import annotations

from typing import Any

from textual.widgets._toggle_button import ToggleButton

OFF_INNER = " "
_installed = False


def install() -> None:
    """Patch ToggleButton's drawing once (every Checkbox and RadioButton of the app)."""
    global _installed
    if _installed:
        return
    _installed = True
    drawn = ToggleButton._button.fget  # type: ignore[attr-defined]

    def _button(self: ToggleButton) -> Any:
        # An instance attribute shadows the class's glyph only while the toggle is off.
        if self.value:
            self.__dict__.pop("BUTTON_INNER", None)
        else:
            self.BUTTON_INNER = OFF_INNER
        return drawn(self)

    ToggleButton._button = property(_button)  # type: ignore[method-assign,assignment]
