"""Where imagedeck keeps its files (the XDG base directory spec): every path in one place.

========  ===============================================  ==================================
config    ``$XDG_CONFIG_HOME/imagedeck/config.toml``        read only (:mod:`tui.config`)
state     ``$XDG_STATE_HOME/imagedeck/imagedeck.log``       the log (:mod:`tui.logs`)
          ``$XDG_STATE_HOME/imagedeck/builds/``             saved build logs (the default name)
          ``$XDG_STATE_HOME/imagedeck/last-used/<id>.json``  last use per daemon
                                                            (:mod:`tui.service.lastused`)
========  ===============================================  ==================================

The defaults are ``~/.config`` and ``~/.local/state``. A relative ``XDG_*`` value is invalid
per the spec and ignored. The base directories are trusted as the user set them up (a link
there is the user's own choice); what imagedeck creates below them is private (directories
0700, files 0600) and opened without following links: :mod:`tui.safefs` does that.

Every function takes an optional environment mapping (tests pass one; None reads
``os.environ``). This module imports neither Textual nor docker-py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP = "imagedeck"


def _base(variable: str, default: str, environ: Mapping[str, str] | None) -> Path:
    """``$variable`` when absolute, else ``$HOME/<default>``."""
    env = os.environ if environ is None else environ
    value = env.get(variable) or ""
    if os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / default


def config_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME`` when absolute, else ``~/.config``."""
    return _base("XDG_CONFIG_HOME", ".config", environ)


def state_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME`` when absolute, else ``~/.local/state``."""
    return _base("XDG_STATE_HOME", ".local/state", environ)


def app_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``<state home>/imagedeck``: the log, saved build logs and last-use records."""
    return state_home(environ) / APP


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/imagedeck/config.toml``."""
    return config_home(environ) / APP / "config.toml"


def log_file(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/imagedeck/imagedeck.log``."""
    return app_state_dir(environ) / "imagedeck.log"


def builds_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/imagedeck/builds``: where a build log is saved unless told otherwise."""
    return app_state_dir(environ) / "builds"


def last_used_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/imagedeck/last-used``: one last-use record per daemon."""
    return app_state_dir(environ) / "last-used"
