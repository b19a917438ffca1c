"""visible / safe / scrub: control characters from outside text are shown, never kept raw."""

from __future__ import annotations

from dataclasses import dataclass

from tui.safe_text import has_controls, safe, scrub, visible, visible_log_line


def test_escape_sequences_are_shown_in_caret_notation() -> None:
    assert visible("\x1b]52;c;Zm9v\x07") == "^[]52;c;Zm9v^G"
    assert visible("\x1b[2J\x1b[?1049l") == "^[[2J^[[?1049l"
    assert visible("a\x00b\x7fc") == "a^@b^?c"


def test_c1_controls_and_bidi_overrides_are_shown() -> None:
    assert visible("\x9b31m") == "\\x9b31m"
    assert visible("\x85") == "\\x85"
    assert visible("abc\u202edef\u2066") == "abc<U+202E>def<U+2066>"


def test_newlines_and_tabs_only_where_asked() -> None:
    assert visible("a\nb\tc\rd") == "a^Jb^Ic^Md"
    assert visible("a\nb\tc\rd", keep_newlines=True) == "a\nb^Ic^Md"
    assert visible("a\nb\tc\rd", keep_tabs=True) == "a^Jb\tc^Md"


def test_plain_and_non_latin_text_is_untouched() -> None:
    for text in ("busybox:latest", "镜像 列表", "naïve — ok", "[bold]x[/x]", "\u200bzero"):
        assert visible(text) == text
        assert not has_controls(text)


def test_log_lines_drop_colours_and_show_the_rest() -> None:
    assert visible_log_line("\x1b[91merror\x1b[0m\tx") == "error\tx"
    assert visible_log_line("\x1b]0;title\x07") == "^[]0;title^G"
    assert visible_log_line(" 10%\r 50%\r100%\r") == "100%"


def test_safe_is_text_with_the_controls_in_reverse() -> None:
    text = safe("a\x1bb[/x]", style="bold")
    assert text.plain == "a^[b[/x]"
    assert any(
        span.style == "reverse" and text.plain[span.start : span.end] == "^[" for span in text.spans
    )
    assert safe("a\nb", keep_newlines=True).plain == "a\nb"


@dataclass(frozen=True)
class _Entry:
    name: str
    values: tuple[str, ...]
    size: int


def test_scrub_walks_dataclasses_dicts_and_lists() -> None:
    entry = _Entry("x\x1b]0;t\x07", ("ok", "\x9b"), 3)
    clean = scrub(entry)
    assert clean == _Entry("x^[]0;t^G", ("ok", "\\x9b"), 3)
    doc = {"K\x1b": ["v\x1b", {"n": 1}], "plain": "line\nline"}
    assert scrub(doc) == {"K^[": ["v^[", {"n": 1}], "plain": "line\nline"}


def test_scrub_returns_clean_values_themselves() -> None:
    entry = _Entry("clean", ("a",), 1)
    assert scrub(entry) is entry
    doc = {"a": ["b"]}
    assert scrub(doc) is doc
