"""The configuration file: parsing, problems reported at start, keymap, theme, sort, columns,
confirm_untag, the help screen's paths; and the private, credential-free log file."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.ui.fake import FakeService, make_app
from tests.ui.test_images_screen import ready, wait_for
from tui.config import (
    Config,
    config_path,
    keymap_problems,
    known_bindings,
    load_config,
    valid_key,
)
from tui.logs import get_logger, log_path, scrub, setup_logging
from tui.modals.confirm import ConfirmDialog
from tui.modals.delete import DeleteDialog
from tui.screens.help import HelpScreen
from tui.screens.images import ImagesScreen


def write(tmp_path: Path, text: str) -> Config:
    """Write a config file and load it."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


# -- reading ------------------------------------------------------------------------------------


def test_path_follows_xdg() -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/h"}) == Path(
        "/x/cfg/imagedeck/config.toml"
    )
    assert config_path({"HOME": "/h"}) == Path("/h/.config/imagedeck/config.toml")
    # A relative XDG_CONFIG_HOME is invalid by the spec and ignored.
    assert config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}).parts[:3] == ("/", "h", ".config")


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(tmp_path / "none.toml")
    assert (config.exists, config.problems, dict(config.keys)) == (False, (), {})


def test_every_setting_read(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        'theme = "textual-light"\ndefault_sort = "size"\nhidden_columns = ["shared", "id"]\n'
        'confirm_untag = true\n[keys]\n"images.delete" = "x"\n"table.down" = "down, j, n"\n',
    )
    assert config.problems == ()
    assert config.theme == "textual-light"
    assert config.default_sort == "size"
    assert config.hidden_columns == frozenset({"shared", "id"})
    assert config.confirm_untag is True
    assert dict(config.keys) == {"images.delete": "x", "table.down": "down,j,n"}


def test_bad_entries_are_problems_not_silence(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        'colour = "red"\ndefault_sort = "name"\nhidden_columns = ["repository"]\n'
        'confirm_untag = "yes"\n[keys]\n"images.delete" = "notakey"\n"images.tag" = 3\n',
    )
    text = "\n".join(config.problems)
    assert "unknown setting 'colour'" in text
    assert "default_sort 'name' is not one of" in text
    assert "'repository' cannot be hidden" in text
    assert "confirm_untag must be true or false" in text
    assert "'images.delete' = 'notakey': not a key: notakey" in text
    assert "'images.tag' must be a key string" in text
    assert config.keys == {}


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    config = write(tmp_path, "[keys\n")
    assert len(config.problems) == 1
    assert "is not valid TOML" in config.problems[0]


@pytest.mark.parametrize("key", ["x", "X", "ctrl+x", "f5", "pageup", "question_mark", "space"])
def test_valid_keys(key: str) -> None:
    assert valid_key(key)


@pytest.mark.parametrize("key", ["foo", "ctrl+", "hyperx+a", "", "ctrl+bogus"])
def test_invalid_keys(key: str) -> None:
    assert not valid_key(key)


def test_unknown_ids_and_clashes_found() -> None:
    bindings = known_bindings(extra=(ImagesScreen,))
    problems = keymap_problems({"images.nope": "z", "images.delete": "t"}, bindings)
    assert "keys: no binding has the id 'images.nope'" in problems
    assert any("'t' would do two things on ImagesScreen" in p for p in problems)
    # Every binding of the image list has an id the keymap can name.
    ids = {b.id for b in bindings[ImagesScreen]}
    assert "images.context" in ids and None not in ids


# -- applied in the app -------------------------------------------------------------------------


async def test_remapped_key_opens_the_delete_dialog(tmp_path: Path) -> None:
    config = write(tmp_path, '[keys]\n"images.delete" = "x"\n')
    app = make_app(config=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("d")  # no longer the delete key
        await pilot.pause()
        assert not isinstance(app.screen, DeleteDialog)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog), "the delete dialog")
        await pilot.press("escape")


async def test_bad_config_reported_at_start(tmp_path: Path) -> None:
    config = write(
        tmp_path, 'theme = "no-such-theme"\n[keys]\n"images.nope" = "z"\n"images.tag" = "bogus"\n'
    )
    app = make_app(config=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        notes = [n for n in app._notifications if "Problems in" in (n.title or "")]
        assert len(notes) == 1
        message = notes[0].message
        assert str(config.path) in (notes[0].title or "")
        assert "no binding has the id 'images.nope'" in message
        assert "'images.tag' = 'bogus': not a key" in message
        assert "theme 'no-such-theme' is not a Textual theme" in message


async def test_theme_sort_and_hidden_columns_applied(tmp_path: Path) -> None:
    config = write(
        tmp_path, 'theme = "textual-light"\ndefault_sort = "repository"\nhidden_columns = ["id"]\n'
    )
    app = make_app(config=config)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await ready(pilot)
        assert app.theme == "textual-light"
        assert screen.model.sort.id == "repository"
        header = str(screen.query_one("#table-header").render())
        assert "REPOSITORY" in header and "IMAGE ID" not in header
        assert "sort repository" in str(screen.query_one("#summary").render())


class UntagFake(FakeService):
    """Records untags."""

    def remove_reference(self, item: Any) -> Any:
        """As ImageService.remove_reference (not reached in these tests)."""
        raise AssertionError("untag must wait for the confirmation")


async def test_confirm_untag_asks_first(tmp_path: Path) -> None:
    config = write(tmp_path, "confirm_untag = true\n")
    app = make_app(UntagFake(), config=config)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot)
        assert screen.model.select_reference("demo/alias:one")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list again")


async def test_help_shows_config_and_log_paths(tmp_path: Path) -> None:
    config = load_config(tmp_path / "config.toml")
    app = make_app(config=config)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        body = str(app.screen.query_one("#help-body").render())
        assert f"Config: {tmp_path / 'config.toml'} (not created yet)" in body
        assert "Log:" in body and "Switch Docker context" in body
        # Every remappable id of the list, in binding order (Enter in the filter is filter_done;
        # S/I/E are the archive keys save, load, copy_to).
        assert "Binding ids here: images.<name>, names: filter filter_done escape sort" in body
        assert " copy save load copy_to reload help quit" in body


# -- the log file -------------------------------------------------------------------------------


def test_log_file_is_private_and_scrubbed(tmp_path: Path) -> None:
    path = tmp_path / "state" / "imagedeck" / "imagedeck.log"
    assert log_path({"XDG_STATE_HOME": str(tmp_path / "state")}) == path
    logger = logging.getLogger("imagedeck")
    saved = list(logger.handlers)
    names = ("imagedeck", "docker", "paramiko", "urllib3")
    before = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names}
    try:
        assert setup_logging("debug", path) == path
        log = get_logger("test")
        log.info("connecting to %s", "tcp://me:hunter2@box:2376")
        log.info("headers {'X-Registry-Auth': 'eyJwYXNzd29yZCI6Imh1bnRlcjIifQ=='}")
        log.info('login {"username": "me", "password": "hunter2"}')
        log.info("Authorization: Bearer abc.def.ghi")
        for handler in logger.handlers:
            handler.flush()
    finally:
        for name in names:
            other = logging.getLogger(name)
            for handler in list(other.handlers):
                if handler not in saved:
                    other.removeHandler(handler)
                    handler.close()
            other.setLevel(before[name][0])
            other.propagate = before[name][1]
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "tcp://me:***@box:2376" in text
    for secret in ("hunter2", "eyJwYXNzd29yZCI6", "abc.def.ghi"):
        assert secret not in text
    assert scrub("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----") == (
        "[private key hidden]"
    )
