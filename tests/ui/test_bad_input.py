"""Bad input from a clumsy user: ages out of range, Textual's own key names."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tui.config import known_bindings, split_keys, valid_key
from tui.service.cleanup import MAX_AGE, parse_age


def shown(widget: Any) -> str:
    return str(widget.render())


# -- point 13: the cleanup wizard's age ------------------------------------------------------


@pytest.mark.parametrize("text", ["99999999999999w", "2000000d", "1" + "0" * 400 + "s", "5300w"])
def test_ages_beyond_a_century_are_refused_in_words(text: str) -> None:
    with pytest.raises(ValueError, match="more than 100 years"):
        parse_age(text)


@pytest.mark.parametrize("text", ["36500d", "5200w", "7d", "0.5h"])
def test_ages_within_range_are_taken(text: str) -> None:
    age = parse_age(text)
    assert age is not None and age <= MAX_AGE


@pytest.mark.parametrize("text", ["99999999999999w", "2000000d"])
async def test_wizard_refuses_an_out_of_range_age_and_stays_usable(text: str) -> None:
    from tui.modals.prune import PruneWizard

    async with make_app(CleanupFake()).run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PruneWizard), "the wizard")
        wizard = pilot.app.screen
        wizard.query_one("#prune-age", Input).focus()
        await pilot.press(*text, "enter")
        await pilot.pause(0.1)
        assert wizard.stage == "options"  # not stuck on "Working out what would go…"
        assert "more than 100 years" in shown(wizard.query_one("#prune-error"))
        # A sensible age then previews.
        await pilot.press("ctrl+a", "ctrl+k", *"7d", "enter")
        await wait_for(pilot, lambda: wizard.stage == "preview", "the preview")


# -- point 14: key names Textual itself uses -------------------------------------------------


@pytest.mark.parametrize("key", ["slash", "ctrl+slash", "minus", "plus", "at", "backslash"])
def test_textual_key_names_are_valid(key: str) -> None:
    assert valid_key(key)


def test_every_key_imagedeck_binds_is_valid_in_the_config() -> None:
    """Whatever name a binding of ours uses, the config accepts it for a remap."""
    keys = {
        key
        for group in known_bindings().values()
        for binding in group
        for key in split_keys(binding.key)
    }
    assert "slash" in keys
    assert [k for k in sorted(keys) if not valid_key(k)] == []


@pytest.mark.parametrize("text", ["99999999999999w", "2000000d", "101y"])
def test_config_prune_durations_beyond_a_century_are_a_problem_not_a_crash(
    text: str, tmp_path: Any
) -> None:
    from tui.config import load_config

    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[prune]\nunused_for = "{text}"\n')
    config = load_config(config_file)  # an OverflowError here ended imagedeck at start
    assert any("more than 100 years" in problem for problem in config.problems)
