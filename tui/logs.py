"""The log file: ``$XDG_STATE_HOME/imagedeck/imagedeck.log`` (default ``~/.local/state``).

The directory is created 0700 and the file 0600: host names, image names and error texts are
nobody else's business. Neither is opened through a symbolic link (:mod:`tui.safefs`): a
linked state directory or log file turns logging off, and :func:`problem` says why.

Credentials never reach it: every record passes :class:`Scrubber`, which hides URL passwords,
HTTP auth headers (``Authorization``, ``X-Registry-Auth``), JSON ``password``/``auth``/
``identitytoken`` fields and PEM private keys.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

from tui.safefs import open_log
from tui.xdg import log_file, state_home

LOGGER_NAME = "imagedeck"
LEVELS = ("debug", "info", "warning", "error")
MAX_BYTES = 1_000_000  # keep one old file beside the current one

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^:/@\s]*):([^@\s/]*)@"), r"\1\2:***@"),
    (
        re.compile(
            r"((?:proxy-)?authorization|x-registry-auth|x-registry-config)(['\"]?\s*[:=]\s*['\"]?)"
            r"(?:(?:basic|bearer)\s+)?[^\s'\",}]+",
            re.IGNORECASE,
        ),
        r"\1\2***",
    ),
    (
        re.compile(
            r"(['\"]?(?:password|passwd|secret|auth|identitytoken|registrytoken)['\"]?"
            r"\s*[:=]\s*['\"]?)[^'\"\s,}]+",
            re.IGNORECASE,
        ),
        r"\1***",
    ),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        "[private key hidden]",
    ),
)


def scrub(text: str) -> str:
    """``text`` with every credential pattern replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Scrubber(logging.Filter):
    """Rewrites each record's final message (and traceback) without credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Format the message once, scrub it, and drop the arguments that formed it."""
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            # Formatted here so the scrubbed text, not the raw exception, is what gets written.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_problem: str | None = None


def problem() -> str | None:
    """Why the last :func:`setup_logging` left logging off (None when it is on)."""
    return _problem


def log_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/imagedeck/imagedeck.log`` (default ``~/.local/state/imagedeck/``)."""
    return log_file(environ)


def setup_logging(level: str = "info", path: Path | None = None) -> Path | None:
    """Send imagedeck's (and docker-py's, paramiko's) records to the private log file.

    Returns the file's path, or None when it cannot be opened safely (logging is then off and
    :func:`problem` holds the reason: a read-only home or a planted link must not stop the UI).
    ``path`` (tests) is checked from its grandparent down, as the default is from the XDG
    state home down.
    """
    global _problem
    base = state_home() if path is None else path.parent.parent
    path = path or log_path()
    try:
        fd = open_log(path, MAX_BYTES, base)
    except OSError as exc:
        _problem = f"logging is off: {exc}"
        return None
    _problem = None
    stream = os.fdopen(fd, "a", encoding="utf-8")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Scrubber())
    numeric = getattr(logging, level.upper(), logging.INFO)
    handler.setLevel(numeric)
    for name in (LOGGER_NAME, "docker", "paramiko", "urllib3"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        # Libraries are chatty at debug; they log at our level only when asked for debug.
        logger.setLevel(
            numeric if name == LOGGER_NAME or numeric <= logging.DEBUG else logging.WARNING
        )
        logger.propagate = False
    return path


def get_logger(name: str = "") -> logging.Logger:
    """imagedeck's logger (``imagedeck`` or ``imagedeck.<name>``)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
