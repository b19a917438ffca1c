"""The inspect viewer's path language and search, and the history instruction cleaner."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tui.service.history import HistoryEntry, clean_instruction, split_instruction
from tui.widgets.json_tree import (
    PathError,
    format_path,
    parse_path,
    resolve,
    search,
    value_text,
)

DOC = {
    "Id": "sha256:abc",
    "Size": 3213035,
    "Config": {
        "Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"],
        "Cmd": ["ls", "-l", "/data"],
        "Labels": {"org.imagedeck.seed": "wasted"},
        "Healthcheck": None,
        "ArgsEscaped": True,
    },
    "RootFS": {"Type": "layers", "Layers": ["sha256:l0", "sha256:l1"]},
}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (".Size", ("Size",)),
        (".Config.Env", ("Config", "Env")),
        (".RootFS.Layers[0]", ("RootFS", "Layers", 0)),
        ("{{.Config.Cmd}}", ("Config", "Cmd")),
        ("{{ json .Config.Env }}", ("Config", "Env")),
        (
            '{{index .Config.Labels "org.imagedeck.seed"}}',
            ("Config", "Labels", "org.imagedeck.seed"),
        ),
        ("{{index .RootFS.Layers 1}}", ("RootFS", "Layers", 1)),
        ('.Config.Labels["org.imagedeck.seed"]', ("Config", "Labels", "org.imagedeck.seed")),
        (".", ()),
    ],
)
def test_parse_path(text: str, path: tuple[object, ...]) -> None:
    assert parse_path(text) == path


@pytest.mark.parametrize("text", ["", "Size", ".Config..Env", ".Layers[x]", "{{ }}"])
def test_parse_path_rejects_garbage(text: str) -> None:
    with pytest.raises(PathError):
        parse_path(text)


def test_format_path_round_trips() -> None:
    for path in [("Size",), ("RootFS", "Layers", 0), ("Config", "Labels", "org.imagedeck.seed")]:
        assert parse_path(format_path(path)) == path
    assert format_path(("Config", "Labels", "a.b")) == '.Config.Labels["a.b"]'


def test_resolve_values_and_spelling() -> None:
    assert resolve(DOC, parse_path(".Size")) == (("Size",), 3213035)
    assert resolve(DOC, parse_path(".RootFS.Layers[-1]")) == (("RootFS", "Layers", 1), "sha256:l1")
    # A lowercase typo is forgiven when only one key matches, and reported as spelled.
    assert resolve(DOC, parse_path(".config.env"))[0] == ("Config", "Env")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (".Nope", "has no key 'Nope'"),
        (".RootFS.Layers[5]", "has 2 items"),
        (".Size.Foo", "not a container"),
        (".Config.Env.Foo", "is a list"),
        (".Config[0]", "is an object"),
    ],
)
def test_unknown_paths_say_why(text: str, message: str) -> None:
    with pytest.raises(PathError) as info:
        resolve(DOC, parse_path(text))
    assert message in str(info.value)


def test_value_text_is_what_docker_inspect_prints() -> None:
    assert value_text(3213035) == "3213035"
    assert value_text("sha256:abc") == "sha256:abc"
    # `{{json ...}}`: compact, no HTML escaping
    assert value_text(["a<b", "c&d"]) == '["a<b","c&d"]'
    assert value_text(None) == "null"


def test_search_keys_and_values_in_document_order() -> None:
    assert search(DOC, "env") == [("Config", "Env")]
    assert search(DOC, "sha256") == [("Id",), ("RootFS", "Layers", 0), ("RootFS", "Layers", 1)]
    assert search(DOC, "WASTED") == [("Config", "Labels", "org.imagedeck.seed")]
    assert search(DOC, "") == []


@pytest.mark.parametrize(
    ("created_by", "instruction"),
    [
        ('/bin/sh -c #(nop)  CMD ["ls" "-l" "/data"]', 'CMD ["ls" "-l" "/data"]'),
        ("/bin/sh -c #(nop) ADD file:abc in / ", "ADD file:abc in /"),
        ("/bin/sh -c rm -rf /data/cache", "RUN rm -rf /data/cache"),
        ("RUN /bin/sh -c apk add curl # buildkit", "RUN apk add curl"),
        ("COPY app /app # buildkit", "COPY app /app"),
        ("|1 V=2 /bin/sh -c make", "RUN make"),
        ("", ""),
    ],
)
def test_clean_instruction(created_by: str, instruction: str) -> None:
    assert clean_instruction(created_by) == instruction


def test_empty_means_metadata_only() -> None:
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    label = HistoryEntry("", when, "/bin/sh -c #(nop)  LABEL a=b", 0, "")
    removal = HistoryEntry("", when, "/bin/sh -c rm -rf /data", 0, "")
    assert label.empty and label.keyword == "LABEL"
    assert not removal.empty  # a zero-byte RUN still makes a layer (whiteouts)
    assert split_instruction("echo hi") == ("", "echo hi")
