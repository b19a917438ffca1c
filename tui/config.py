"""The user's configuration file: ``$XDG_CONFIG_HOME/imagedeck/config.toml``.

Every setting is optional; a missing file is an empty configuration. Nothing is silently
ignored: a wrong type, an unknown setting, an unknown binding id or a key Textual cannot bind
becomes a *problem*, and the app lists the problems in a notification at start.

.. code-block:: toml

    theme = "textual-light"          # any Textual theme name (ctrl+p, "Theme" lists them)
    default_sort = "size"            # size | unique | created | repository
    hidden_columns = ["shared"]      # any of: id created size unique shared containers last_used
    confirm_untag = true             # ask before `u` removes a tag that is not the last one
    fleet = ["build-1", "ci=tcp://ci:2376"]   # open the fleet view over these daemons at start

    [prune]                          # retention rules of `imagedeck prune` and the wizard
    keep_last = 3                    # the newest 3 tags of each repository stay
    unused_for = "30d"               # images used in the last 30 days stay
    below = "20GB"                   # least recently used go until the images use < 20 GB
    keep = ["imagedeck/*", "*:release-*"]   # never touched (repository or repository:tag)
    dangling = true                  # dangling images are candidates too

    [keys]                           # binding id = key(s); `?` lists the ids of the list
    "images.delete" = "x"
    "images.context" = "ctrl+o"
    "table.down" = "down,j,n"
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.xdg import config_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SORTS = ("size", "unique", "created", "repository")
HIDEABLE_COLUMNS = ("id", "created", "size", "unique", "shared", "containers", "last_used")
SETTINGS = ("theme", "default_sort", "hidden_columns", "confirm_untag", "fleet", "keys", "prune")
PRUNE_SETTINGS = ("keep_last", "unused_for", "below", "keep", "dangling")
MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
# Where the classes with BINDINGS live (their ids are what [keys] may name).
BINDING_PACKAGES = ("tui.screens", "tui.modals", "tui.widgets")


@dataclass(frozen=True)
class Config:
    """The settings of one config file, with the problems found while reading it."""

    path: Path
    keys: Mapping[str, str] = field(default_factory=dict)
    theme: str | None = None
    default_sort: str | None = None
    hidden_columns: frozenset[str] = frozenset()
    confirm_untag: bool = False
    # [prune]: the retention rules, checked (see prune_problems); RetentionPolicy's fields.
    prune: Mapping[str, Any] = field(default_factory=dict)
    # fleet: the daemons the fleet view opens over at start (context names or host addresses;
    # checked: at least two usable entries, else empty). The command line's --host wins.
    fleet: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    exists: bool = False


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/imagedeck/config.toml`` (default ``~/.config/imagedeck/config.toml``)."""
    return config_file(environ)


def load_config(path: Path | None = None) -> Config:
    """Read the file at ``path`` (default :func:`config_path`); never raises."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(path=path)
    except OSError as exc:
        return Config(path=path, problems=(f"cannot read {path}: {exc.strerror}",))
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Config(path=path, problems=(f"{path} is not valid TOML: {exc}",), exists=True)
    return parse_config(data, path)


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Check every setting of a parsed TOML document; unusable ones become problems."""
    problems: list[str] = []
    for name in data:
        if name not in SETTINGS:
            problems.append(f"unknown setting {name!r} (known: {', '.join(SETTINGS)})")

    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        problems.append("theme must be a string (a Textual theme name)")
        theme = None

    sort = data.get("default_sort")
    if sort is not None and sort not in SORTS:
        problems.append(f"default_sort {sort!r} is not one of {', '.join(SORTS)}")
        sort = None

    hidden: set[str] = set()
    columns = data.get("hidden_columns", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        problems.append("hidden_columns must be a list of column ids")
        columns = []
    for column in columns:
        if column in HIDEABLE_COLUMNS:
            hidden.add(column)
        else:
            problems.append(
                f"hidden_columns: {column!r} cannot be hidden "
                f"(choose from {', '.join(HIDEABLE_COLUMNS)})"
            )

    confirm_untag = data.get("confirm_untag", False)
    if not isinstance(confirm_untag, bool):
        problems.append("confirm_untag must be true or false")
        confirm_untag = False

    keys: dict[str, str] = {}
    table = data.get("keys", {})
    if not isinstance(table, dict):
        problems.append('[keys] must be a table of "binding.id" = "key"')
        table = {}
    for binding_id, keyspec in table.items():
        if not isinstance(keyspec, str) or not keyspec.strip():
            problems.append(f'keys: {binding_id!r} must be a key string such as "x" or "ctrl+x"')
            continue
        bad = [k for k in split_keys(keyspec) if not valid_key(k)]
        if bad:
            problems.append(f"keys: {binding_id!r} = {keyspec!r}: not a key: {', '.join(bad)}")
            continue
        keys[binding_id] = ",".join(split_keys(keyspec))

    prune, prune_issues = parse_prune(data.get("prune", {}))
    problems.extend(prune_issues)

    fleet, fleet_issues = parse_fleet(data.get("fleet"))
    problems.extend(fleet_issues)

    return Config(
        path=path,
        keys=keys,
        prune=prune,
        fleet=fleet,
        theme=theme,
        default_sort=sort,
        hidden_columns=frozenset(hidden),
        confirm_untag=confirm_untag,
        problems=tuple(problems),
        exists=True,
    )


# -- fleet ------------------------------------------------------------------------------------


def parse_fleet(value: Any) -> tuple[tuple[str, ...], list[str]]:
    """The ``fleet`` list's usable entries and a problem for each bad one.

    Each entry is a Docker context's name, a host address or ``NAME=URL``; a bad or repeated
    entry is left out and named. Fewer than two usable entries open no fleet (said so).
    """
    if value is None:
        return (), []
    example = 'fleet = ["build-1", "ci=tcp://ci:2376"]'
    if not isinstance(value, list):
        return (), [f"fleet must be a list of context names or host addresses ({example})"]
    from tui.service.fleet import entry_problem

    found: list[str] = []
    problems: list[str] = []
    for entry in value:
        problem = entry_problem(entry)
        if problem is not None:
            problems.append(f"fleet: {problem}; left out")
        elif entry in found:
            problems.append(f"fleet: {entry!r} is listed twice; once is used")
        else:
            found.append(entry)
    if len(found) < 2:
        usable = f"{len(found)} usable entr{'y' if len(found) == 1 else 'ies'}"
        problems.append(f"fleet: {usable}; a fleet needs two daemons or more: not opened")
        return (), problems
    return tuple(found), problems


# -- prune ------------------------------------------------------------------------------------


def parse_prune(table: Any) -> tuple[dict[str, Any], list[str]]:
    """The [prune] table's usable settings (as policy_from_text takes them) and its problems."""
    if table == {}:
        return {}, []
    if not isinstance(table, dict):
        return {}, ["[prune] must be a table (keep_last, unused_for, below, keep, dangling)"]
    from tui.service.policy import parse_duration, parse_size

    found: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in table.items():
        if name not in PRUNE_SETTINGS:
            problems.append(f"prune: unknown setting {name!r} (known: {', '.join(PRUNE_SETTINGS)})")
        elif name == "keep_last":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append("prune: keep_last must be a whole number, 0 or more (e.g. 3)")
            else:
                found[name] = value
        elif name in ("unused_for", "below"):
            parse = parse_duration if name == "unused_for" else parse_size
            example = '"30d"' if name == "unused_for" else '"20GB"'
            if not isinstance(value, str):
                problems.append(f"prune: {name} must be a string such as {example}")
                continue
            try:
                parse(value)
            except ValueError as exc:
                problems.append(f"prune: {name}: {exc}")
                continue
            found[name] = value
        elif name == "keep":
            if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
                problems.append('prune: keep must be a list of patterns such as ["imagedeck/*"]')
            else:
                found[name] = tuple(value)
        elif not isinstance(value, bool):
            problems.append("prune: dangling must be true or false")
        else:
            found[name] = value
    return found, problems


# -- keys ---------------------------------------------------------------------------------------


def split_keys(keyspec: str) -> list[str]:
    """``"x, ctrl+d"`` -> ``["x", "ctrl+d"]`` (a lone ``","`` is the comma key)."""
    if keyspec.strip() == ",":
        return ["comma"]
    return [k.strip() for k in keyspec.split(",") if k.strip()]


def valid_key(key: str) -> bool:
    """Can Textual bind ``key``? A character, a key name (``f5``, ``pageup``,
    ``question_mark``), optionally with modifiers (``ctrl+shift+up``)."""
    from textual.keys import KEY_NAME_REPLACEMENTS, Keys, _character_to_key, key_to_character

    *mods, base = key.split("+")
    if not base or any(m not in MODIFIERS for m in mods):
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    if base in {k.value for k in Keys} or key_to_character(base) is not None:
        return True
    # The names Textual itself gives printable keys ("slash", "minus", "at"): some are short
    # forms that are not Unicode names, so key_to_character does not know them.
    names = {_character_to_key(chr(code)) for code in range(0x21, 0x7F)}
    return base in names or base in KEY_NAME_REPLACEMENTS.values()


def known_bindings(extra: Iterable[type] = ()) -> dict[type, list[Any]]:
    """Every class with BINDINGS in imagedeck's screens, modals and widgets, with its bindings.

    Imports those modules; called once at start, and only when the config remaps keys.
    """
    from textual.binding import Binding
    from textual.dom import DOMNode

    classes: set[type] = set(extra)
    for package_name in BINDING_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            try:
                module = importlib.import_module(f"{package_name}.{info.name}")
            except Exception:  # noqa: S112 - a broken feature module must not stop the check
                continue
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, DOMNode) and obj.__module__ == module.__name__:
                    classes.add(obj)
    found: dict[type, list[Any]] = {}
    for cls in classes:
        bindings = [b for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding)]
        if bindings:
            found[cls] = bindings
    return found


def keymap_problems(keys: Mapping[str, str], bindings: Mapping[type, list[Any]]) -> list[str]:
    """Unknown binding ids, and remaps that give one key two actions on the same screen."""
    from textual.keys import _normalize_key_list

    problems: list[str] = []
    known = {b.id for group in bindings.values() for b in group if b.id}
    for binding_id in keys:
        if binding_id not in known:
            problems.append(f"keys: no binding has the id {binding_id!r}")
    for cls, group in bindings.items():
        owners: dict[str, list[str]] = {}
        for binding in group:
            spec = keys.get(binding.id, binding.key) if binding.id else binding.key
            for key in _normalize_key_list(spec).split(","):
                owners.setdefault(key, []).append(binding.id or binding.action)
        for key, ids in owners.items():
            remapped = [i for i in ids if i in keys]
            if len(ids) > 1 and remapped:
                problems.append(
                    f"keys: {key!r} would do two things on {cls.__name__}: {', '.join(ids)}"
                )
    return problems


def accepted_keymap(
    keys: Mapping[str, str], bindings: Mapping[type, list[Any]]
) -> tuple[dict[str, str], list[str]]:
    """The remaps that can be applied, and why each other one is refused.

    A remap that would give a key two actions on one screen is refused as a whole: that
    binding keeps its default key, and the problem says so (applying it would make the key do
    something the user did not ask for, e.g. `i` deleting instead of inspecting). Unknown ids
    are reported and left out. Entries are taken in file order; one that clashes with an
    earlier accepted entry is the one refused.
    """
    from textual.keys import _normalize_key_list

    def key_list(spec: str) -> set[str]:
        return set(_normalize_key_list(spec).split(","))

    known = {b.id: b for group in bindings.values() for b in group if b.id}
    accepted: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, spec in keys.items():
        default = known.get(binding_id)
        if default is None:
            problems.append(f"keys: no binding has the id {binding_id!r}")
            continue
        wanted = key_list(spec)
        clash: tuple[str, str, str] | None = None
        for cls, group in bindings.items():
            if not any(b.id == binding_id for b in group):
                continue
            for other in group:
                if other.id == binding_id:
                    continue
                other_spec = accepted.get(other.id, other.key) if other.id else other.key
                shared = wanted & key_list(other_spec)
                if shared:
                    clash = (sorted(shared)[0], other.id or other.action, cls.__name__)
                    break
            if clash:
                break
        if clash is None:
            accepted[binding_id] = spec
            continue
        key, other_id, screen = clash
        problems.append(
            f"keys: {binding_id!r} = {spec!r} refused: {key!r} already does {other_id} on "
            f"{screen}; {binding_id} keeps its default key {default.key!r}"
        )
    return accepted, problems
