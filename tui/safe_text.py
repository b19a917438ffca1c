"""Outside text made safe to draw: control characters are shown, never sent to the terminal.

Image metadata (ENV, labels, RUN commands), file names inside layers, build output, registry
answers and config values are written by whoever published them. Drawn raw, an ``ESC ] 52``
in an ENV value writes the user's clipboard, ``ESC ] 0`` sets the window title, ``ESC [ 2 J``
clears the screen. Textual and Rich strip only BEL, BS, VT, FF and CR; ESC, the other C0
controls, DEL and C1 pass straight through to the terminal. So every piece of outside text goes
through :func:`visible` (or :func:`safe`, its Rich ``Text`` form) where it enters the UI:

- C0 controls (U+0000-U+001F) in caret notation, ESC as ``^[``, NUL as ``^@``; tab and newline
  are kept only where the caller asks (a log keeps its lines), else ``^I`` and ``^J``;
- DEL (U+007F) as ``^?``;
- C1 controls (U+0080-U+009F) as ``\\x9b``: some terminals take U+009B as CSI, like ``ESC [``;
- bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) as ``<U+202E>``: they do
  not program the terminal, but they reorder what is drawn after them, so a file name or a
  command could read differently from what it is ("Trojan Source"). Other invisible characters
  (zero-width spaces, joiners) are left alone: they change no following text and scripts need
  them.

Markup is a separate matter: text shown with ``markup=False`` or as ``Text`` is never parsed.
This module does not import Textual, so ``imagedeck layers`` uses :func:`visible` too.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["DANGEROUS", "has_controls", "safe", "scrub", "visible"]

# Every code point this module replaces: C0, DEL, C1, bidi overrides and isolates.
DANGEROUS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# SGR colour sequences (ESC [ ... m): build steps' stderr comes wrapped in them (the classic
# builder colours it red). They are dropped from a log rather than shown as ^[[91m noise; any
# other sequence is shown.
SGR = re.compile("\x1b\\[[0-9;]*m")

T = TypeVar("T")


def _shown(char: str) -> str:
    """The visible form of one dangerous character."""
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)  # ESC -> ^[, NUL -> ^@, TAB -> ^I
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


_TABLE: dict[int, str] = {
    code: _shown(chr(code))
    for code in [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
}


def visible(text: str, *, keep_newlines: bool = False, keep_tabs: bool = False) -> str:
    """``text`` with every control character (and bidi override) in a visible form.

    ``keep_newlines`` keeps ``\\n`` (a multi-line value or a log); ``keep_tabs`` keeps ``\\t``.
    A carriage return is always shown (``^M``): drawn raw it would move the cursor.
    """
    if not DANGEROUS.search(text):
        return text  # the common case: nothing to copy
    table = _TABLE
    if keep_newlines or keep_tabs:
        table = dict(_TABLE)
        if keep_newlines:
            del table[0x0A]
        if keep_tabs:
            del table[0x09]
    return text.translate(table)


def visible_log_line(text: str) -> str:
    """A line of build or container output: colour sequences dropped, the rest shown, tabs kept.

    A carriage return inside a line (progress output redrawing itself) keeps what a terminal
    would show: the text after the last one.
    """
    if "\r" in text:
        text = text.rstrip("\r").rsplit("\r", 1)[-1]
    if "\x1b" in text:
        text = SGR.sub("", text)
    return visible(text, keep_tabs=True)


def has_controls(text: str) -> bool:
    """True when ``text`` holds something :func:`visible` would replace."""
    return DANGEROUS.search(text) is not None


def safe(
    text: str, style: str = "", *, keep_newlines: bool = False, keep_tabs: bool = False
) -> Text:
    """``text`` as a Rich ``Text`` (never parsed as markup), controls shown in reverse video.

    The reverse video tells a shown ``^[`` apart from the two characters ``^`` and ``[``.
    """
    from rich.text import Text

    out = Text(style=style)
    position = 0
    for match in DANGEROUS.finditer(text):
        char = match.group()
        if (char == "\n" and keep_newlines) or (char == "\t" and keep_tabs):
            continue
        out.append(text[position : match.start()])
        out.append(_shown(char), style="reverse")
        position = match.end()
    out.append(text[position:])
    return out


def scrub(value: T, *, keep_newlines: bool = True, keep_tabs: bool = True) -> T:
    """A copy of ``value`` with :func:`visible` applied to every string inside it.

    Walks dicts (keys and values), lists, tuples, frozensets and dataclasses (frozen ones are
    copied with ``dataclasses.replace``), so a whole result from the service (a history, an
    inspect document, a layer analysis) is made safe where it arrives, in one call. Newlines
    and tabs are kept by default: screens lay lines out themselves and never send them raw.
    Values that hold nothing to replace are returned as they are (no copy).
    """
    result: T = _scrub(value, keep_newlines, keep_tabs)
    return result


def _scrub(value: Any, keep_newlines: bool, keep_tabs: bool) -> Any:
    if isinstance(value, str):
        return visible(value, keep_newlines=keep_newlines, keep_tabs=keep_tabs)
    if isinstance(value, (int, float, bool, type(None), bytes)):
        return value
    if isinstance(value, dict):
        items = [
            (_scrub(k, keep_newlines, keep_tabs), _scrub(v, keep_newlines, keep_tabs))
            for k, v in value.items()
        ]
        if all(a is k and b is v for (a, b), (k, v) in zip(items, value.items(), strict=True)):
            return value
        return type(value)(items) if type(value) is not dict else dict(items)
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [_scrub(v, keep_newlines, keep_tabs) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*items)  # a named tuple
        return type(value)(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            if not field.init:
                continue
            old = getattr(value, field.name)
            new = _scrub(old, keep_newlines, keep_tabs)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value
