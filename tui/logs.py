"""The log file: ``$XDG_STATE_HOME/imagedeck/imagedeck.log`` (default ``~/.local/state``).

The directory is created 0700 and the file 0600: host names, image names and error texts are
nobody else's business. Credentials never reach it: every record passes :class:`Scrubber`,
which hides URL passwords, HTTP auth headers (``Authorization``, ``X-Registry-Auth``), JSON
``password``/``auth``/``identitytoken`` fields and PEM private keys.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

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


def log_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/imagedeck/imagedeck.log`` (default ``~/.local/state/imagedeck/``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or ""
    root = (
        Path(base) if os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".local/state"
    )
    return root / "imagedeck" / "imagedeck.log"


def setup_logging(level: str = "info", path: Path | None = None) -> Path | None:
    """Send imagedeck's (and docker-py's, paramiko's) records to the private log file.

    Returns the file's path, or None when it cannot be created (logging is then off: a
    read-only home must not stop the UI).
    """
    path = path or log_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        # Created with 0600 from the start (not chmod-ed after), so it is never readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        if path.stat().st_size > MAX_BYTES:
            path.replace(path.with_suffix(".log.1"))
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
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
