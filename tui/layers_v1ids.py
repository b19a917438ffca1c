"""moby's v1 layer IDs, re-done: the names of Engine 20.10-24's legacy ``docker save`` layout.

Before Engine 25 an archive names each layer ``<v1 id>/layer.tar``, where the daemon computes
the v1 ID (moby ``image/v1.CreateID``) as a SHA-256 of Go's JSON encoding of a V1Image made
from the image config. tui/layers_storage.py reads the layers from the daemon's storage and
needs those names to match what the archive (and so dive) would say; this module re-encodes
the config exactly as Go's ``encoding/json`` would, field by field, and raises Unreproducible
for anything it cannot reproduce byte for byte (the caller then streams the archive).
Apart from layers_storage.py because it is its own small world (Go's JSON rules), while that
file is the storage proof and the pieces alone.
"""

from __future__ import annotations

import re
import time
from typing import Any

try:
    # The built-in SHA-256 (hashlib loads OpenSSL's libcrypto; see layers_storage.py).
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python builds without it
    from hashlib import sha256

__all__ = ["Unreproducible", "legacy_v1_ids"]


class Unreproducible(ValueError):
    """The config holds something whose Go encoding this module cannot reproduce exactly."""


# --- moby's v1 IDs (Engine < 25: the legacy archive's <v1 id>/layer.tar) ---------------------

_CONFIG_FIELDS: list[tuple[str, str]] = [
    # container.Config of Engine 20.10, in declaration order: (name, kind); kinds ending in
    # "?" are omitempty.
    ("Hostname", "str"),
    ("Domainname", "str"),
    ("User", "str"),
    ("AttachStdin", "bool"),
    ("AttachStdout", "bool"),
    ("AttachStderr", "bool"),
    ("ExposedPorts", "set?"),
    ("Tty", "bool"),
    ("OpenStdin", "bool"),
    ("StdinOnce", "bool"),
    ("Env", "list"),
    ("Cmd", "strslice"),
    ("Healthcheck", "health?"),
    ("ArgsEscaped", "bool?"),
    ("Image", "str"),
    ("Volumes", "set"),
    ("WorkingDir", "str"),
    ("Entrypoint", "strslice"),
    ("NetworkDisabled", "bool?"),
    ("MacAddress", "str?"),
    ("OnBuild", "list"),
    ("Labels", "map"),
    ("StopSignal", "str?"),
    ("StopTimeout", "intptr?"),
    ("Shell", "strslice?"),
]
_HEALTH_FIELDS = ["Test", "Interval", "Timeout", "StartPeriod", "Retries"]
_V1_FIELDS = {
    "id",
    "parent",
    "comment",
    "created",
    "container",
    "container_config",
    "docker_version",
    "author",
    "config",
    "architecture",
    "variant",
    "os",
    "Size",
}
_IMAGE_FIELDS = {"rootfs", "history", "os.version", "os.features"}
_ZERO_CONFIG = (
    '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,'
    '"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,'
    '"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,'
    '"Labels":null}'
)
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z")


def _go_string(value: Any) -> str:
    """Go encoding/json's string (HTML-safe, Go 1.19: no \\b or \\f short forms)."""
    if not isinstance(value, str):
        raise Unreproducible("a string field is not a string")
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or ch in "<>&" or code in (0x2028, 0x2029):
            short = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
            out.append(short or f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise Unreproducible("a string holds a lone surrogate")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _go_strings(value: Any) -> str:
    if value is None:
        return "null"
    if not isinstance(value, list):
        raise Unreproducible("a list field is not a list")
    return "[" + ",".join(_go_string(item) for item in value) + "]"


def _go_int(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unreproducible("an integer field is not an integer")
    return str(value)


def _go_bool(value: Any) -> str:
    if not isinstance(value, bool):
        raise Unreproducible("a boolean field is not a boolean")
    return "true" if value else "false"


def _known_keys(doc: dict[str, Any], names: set[str]) -> None:
    """Go matches field names case-insensitively: a near miss is a doubt, not a drop."""
    lower = {name.lower() for name in names}
    for key in doc:
        if key not in names and key.lower() in lower:
            raise Unreproducible(f"field {key!r} differs from Go's only in case")


def _go_config(doc: Any) -> str:
    """json.Marshal of a container.Config unmarshalled from ``doc``."""
    if doc is None:
        return _ZERO_CONFIG
    if not isinstance(doc, dict):
        raise Unreproducible("a container config is not an object")
    _known_keys(doc, {name for name, _ in _CONFIG_FIELDS})
    parts: list[str] = []
    for name, kind in _CONFIG_FIELDS:
        value = doc.get(name)
        omitempty = kind.endswith("?")
        kind = kind.rstrip("?")
        if kind == "str":
            value = "" if value is None else value
            if omitempty and value == "":
                continue
            text = _go_string(value)
        elif kind == "bool":
            value = False if value is None else value
            if omitempty and value is False:
                continue
            text = _go_bool(value)
        elif kind in ("list", "strslice"):
            if kind == "strslice" and isinstance(value, str):
                value = [value]
            if omitempty and not value:
                continue
            text = _go_strings(value)
        elif kind in ("set", "map"):
            if value is not None and not isinstance(value, dict):
                raise Unreproducible(f"{name} is not an object")
            if omitempty and not value:
                continue
            if value is None:
                text = "null"
            elif kind == "set":
                keys = sorted(value, key=lambda k: k.encode())
                if any(v is not None and v != {} for v in value.values()):
                    raise Unreproducible(f"{name} values are not empty objects")
                text = "{" + ",".join(f"{_go_string(k)}:{{}}" for k in keys) + "}"
            else:
                keys = sorted(value, key=lambda k: k.encode())
                text = (
                    "{"
                    + ",".join(
                        f"{_go_string(k)}:{_go_string('' if value[k] is None else value[k])}"
                        for k in keys
                    )
                    + "}"
                )
        elif kind == "health":
            if value is None:
                continue
            text = _go_health(value)
        elif kind == "intptr":
            if value is None:
                continue
            text = _go_int(value)
        else:  # pragma: no cover - the table above has no other kinds
            raise Unreproducible(kind)
        parts.append(f"{_go_string(name)}:{text}")
    return "{" + ",".join(parts) + "}"


def _go_health(value: Any) -> str:
    if not isinstance(value, dict):
        raise Unreproducible("Healthcheck is not an object")
    _known_keys(value, set(_HEALTH_FIELDS) | {"StartInterval"})
    parts: list[str] = []
    if value.get("Test"):
        parts.append(f'"Test":{_go_strings(value["Test"])}')
    for name in _HEALTH_FIELDS[1:]:
        if value.get(name):
            parts.append(f'"{name}":{_go_int(value[name])}')
    return "{" + ",".join(parts) + "}"


def _go_time(value: Any) -> str:
    if value is None:
        return '"0001-01-01T00:00:00Z"'
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise Unreproducible(f"created {value!r} is not a UTC time Go would print back as is")
    fraction = (match.group(2) or "").rstrip("0")
    return f'"{match.group(1)}{"." + fraction if fraction else ""}Z"'


def _create_id(fields: dict[str, str]) -> str:
    """moby image/v1.CreateID: the V1Image's JSON re-marshalled as a map (keys sorted)."""
    text = "{" + ",".join(f"{_go_string(k)}:{fields[k]}" for k in sorted(fields)) + "}"
    return str(sha256(text.encode()).hexdigest())


def legacy_v1_ids(config: dict[str, Any], chains: list[str]) -> list[str]:
    """The v1 IDs of Engine 20.10's `docker save` (image/tarexport/save.go), bottom first.

    Every layer but the top one is an empty V1Image created at the Unix epoch in the daemon's
    local time: that is only reproducible when this machine's zone is UTC at the epoch (the
    daemon runs here; a different TZ of its own would give other IDs, a risk stated in
    benchmarks/README.md). The top layer's V1Image is the image config's.
    """

    if time.localtime(0).tm_gmtoff != 0:
        raise Unreproducible("the local zone is not UTC at the epoch")
    _known_keys(config, _V1_FIELDS | _IMAGE_FIELDS)
    ids: list[str] = []
    parent = ""
    for index, chain in enumerate(chains):
        if index < len(chains) - 1:
            fields = {
                "created": '"1970-01-01T00:00:00Z"',
                "container_config": _ZERO_CONFIG,
            }
        else:
            fields = _top_fields(config)
        fields["layer_id"] = _go_string(chain)
        if parent:
            fields["parent"] = _go_string(parent)
        v1 = _create_id(fields)
        ids.append(v1)
        parent = "sha256:" + v1
    return ids


def _top_fields(config: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name in ("comment", "container", "docker_version", "author", "architecture", "variant"):
        value = config.get(name)
        if value not in (None, ""):
            fields[name] = _go_string(value)
    fields["created"] = _go_time(config.get("created"))
    fields["container_config"] = _go_config(config.get("container_config"))
    if config.get("config") is not None:
        fields["config"] = _go_config(config["config"])
    if config.get("os") not in (None, ""):
        fields["os"] = _go_string(config["os"])
    if config.get("Size"):
        fields["Size"] = _go_int(config["Size"])
    return fields
