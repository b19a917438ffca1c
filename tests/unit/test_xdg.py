"""Every file imagedeck keeps is placed by tui/xdg.py, and the modules that use them agree."""

from __future__ import annotations

from pathlib import Path

from tui import xdg
from tui.config import config_path
from tui.logs import log_path
from tui.service.lastused import record_path, state_dir

ENV = {"XDG_CONFIG_HOME": "/x/cfg", "XDG_STATE_HOME": "/x/state", "HOME": "/h"}


def test_absolute_xdg_values_are_used() -> None:
    """$XDG_CONFIG_HOME and $XDG_STATE_HOME, each with imagedeck's own directory below."""
    assert xdg.config_file(ENV) == Path("/x/cfg/imagedeck/config.toml")
    assert xdg.log_file(ENV) == Path("/x/state/imagedeck/imagedeck.log")
    assert xdg.builds_dir(ENV) == Path("/x/state/imagedeck/builds")
    assert xdg.last_used_dir(ENV) == Path("/x/state/imagedeck/last-used")


def test_unset_or_relative_values_fall_back_to_home() -> None:
    """The spec: a relative XDG_* value is invalid and ignored, as an unset one."""
    for env in ({"HOME": "/h"}, {"XDG_CONFIG_HOME": "rel", "XDG_STATE_HOME": "rel", "HOME": "/h"}):
        assert xdg.config_file(env) == Path("/h/.config/imagedeck/config.toml")
        assert xdg.app_state_dir(env) == Path("/h/.local/state/imagedeck")


def test_the_users_of_each_path_ask_xdg() -> None:
    """Config, log and last-use record are where tui/xdg.py says (one place to change)."""
    assert config_path(ENV) == xdg.config_file(ENV)
    assert log_path(ENV) == xdg.log_file(ENV)
    assert state_dir(ENV) == xdg.last_used_dir(ENV)
    assert record_path("ABC", ENV).parent == xdg.last_used_dir(ENV)
