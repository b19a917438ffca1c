"""BuildKit's rawjson stream, parsed from real recordings (tests/fixtures/rawjson/README.md).

What the parser must find is checked against the recording itself (the JSON objects read with
the standard library, the text lines buildx printed), not against numbers copied from it.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tui.service.build import BuildError, VertexLog, VertexUpdate, check_build_request
from tui.service.buildkit import (
    BuildCacheUsage,
    BuilderInfo,
    CacheRecord,
    RawJsonDecoder,
    RawJsonParser,
    buildkit_features,
    explain_buildkit_error,
    plan_cache_prune,
)
from tui.service.connection import Endpoint
from tui.service.facade import ImageService
from tui.widgets.build_log import FAILED, BuildLogModel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RAW = FIXTURES / "rawjson"


def recording(name: str) -> str:
    return (RAW / f"{name}.txt").read_text("utf-8")


def objects_of(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a recording, read independently of our decoder (stdlib only)."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    pos = text.find("{")
    while pos != -1:
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        nxt = text.find("\n{", end)
        pos = nxt + 1 if nxt != -1 else -1
    return out


def parse(name: str, dockerfile: str = "", chunk: int = 0) -> tuple[RawJsonParser, list[Any]]:
    text = recording(name)
    decoder = RawJsonDecoder()
    parser = RawJsonParser(dockerfile)
    events: list[Any] = []
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)] if chunk else [text]
    for piece in pieces:
        for item in decoder.feed(piece):
            events += parser.feed(item)
    for item in decoder.flush():
        events += parser.feed(item)
    events += parser.finish()
    return parser, events


def logged_lines(objects: list[dict[str, Any]], vertex: str) -> list[str]:
    data = b"".join(
        base64.b64decode(log["data"])
        for obj in objects
        for log in obj.get("logs") or []
        if log["vertex"] == vertex
    )
    return data.decode().splitlines()


@pytest.mark.parametrize("chunk", [0, 1, 7, 4096])
@pytest.mark.parametrize("name", ["d26-fail", "d26-modern-target-final", "d20-heredoc"])
def test_decoder_finds_every_object_and_the_text_whatever_the_chunks(name: str, chunk: int) -> None:
    text = recording(name)
    expected = objects_of(text)
    decoder = RawJsonDecoder()
    items: list[Any] = []
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)] if chunk else [text]
    for piece in pieces:
        items += decoder.feed(piece)
    items += decoder.flush()
    assert [i for i in items if isinstance(i, dict)] == expected
    text_lines = [i for i in items if isinstance(i, str)]
    tail = text[text.rfind("\n}") + 2 :].splitlines()
    assert text_lines == [line for line in tail if line]


def test_every_vertex_becomes_a_step_with_its_name_and_logs() -> None:
    objects = objects_of(recording("d26-modern-target-final"))
    names = {v["digest"]: v["name"] for o in objects for v in o.get("vertexes") or []}
    parser, events = parse("d26-modern-target-final")
    assert {k: v.name for k, v in parser.vertices.items()} == names
    # Every vertex completed; none failed.
    assert {v.state for v in parser.vertices.values()} <= {"done", "cached"}
    # The output of `RUN cat` is under that step, line by line: what the heredoc wrote.
    cat = next(k for k, n in names.items() if "RUN cat /heredoc" in n)
    lines = [line for e in events if isinstance(e, VertexLog) and e.key == cat for line in e.lines]
    assert lines == logged_lines(objects, cat)
    assert lines[:2] == ["heredoc line one", "heredoc line two"]
    assert any("RUN <<EOT" in n for n in names.values())
    # The stage the target does not need is not built at all.
    assert not any("skipped" in n for n in names.values())
    assert any("--mount=type=cache" in n for n in names.values())


def test_each_step_times_itself_with_the_daemons_clock() -> None:
    objects = objects_of(recording("d26-fail"))
    parser, _ = parse("d26-fail")
    for obj in objects:
        for raw in obj.get("vertexes") or []:
            if raw.get("started") and raw.get("completed"):
                vertex = parser.vertices[raw["digest"]]
                assert vertex.duration is not None and vertex.duration >= 0


def test_failing_step_with_excerpt_on_engine_26() -> None:
    text = recording("d26-fail")
    parser, events = parse("d26-fail", (FIXTURES / "build-fail" / "Dockerfile").read_text())
    error = parser.failure(1)
    assert "[3/4] RUN echo" in error.message and "exit" in error.message
    assert error.code == 3
    failed = parser.vertices[error.vertex]
    assert failed.state == "error" and failed.name.startswith("[3/4]")
    # The excerpt is buildx's own block: the header, then the numbered lines with the marker.
    assert error.excerpt[0] == "Dockerfile:4"
    assert any(line.startswith("   4 | >>> RUN") for line in error.excerpt)
    assert all(line in text for line in error.excerpt)
    # The step that never ran stays waiting.
    assert any(
        v.state == "waiting" and v.name.startswith("[4/4]") for v in parser.vertices.values()
    )
    updates = [e for e in events if isinstance(e, VertexUpdate) and e.key == error.vertex]
    assert updates[-1].state == "error"


def test_failing_step_on_engine_20_has_no_excerpt_but_a_reason() -> None:
    parser, _ = parse("d20-fail")
    error = parser.failure(1)
    assert error.excerpt == ()
    assert error.message.startswith('[3/4] RUN echo "about to fail"')
    assert error.code == 3


def test_heredoc_on_engine_20_is_explained() -> None:
    dockerfile = (FIXTURES / "buildkit-modern" / "Dockerfile").read_text()
    parser, _ = parse("d20-heredoc", dockerfile)
    message = parser.failure(1).message
    assert "heredoc" in message and "Engine 23" in message


def test_unreachable_syntax_frontend_is_explained() -> None:
    parser, _ = parse("d26-syntax-offline")
    error = parser.failure(1)
    assert "# syntax=" in error.message and "cannot be reached" in error.message
    assert error.excerpt and ">>> # syntax=" in error.excerpt[1]


def test_unreachable_base_image_is_explained() -> None:
    parser, _ = parse("d20-tutorial-offline")
    message = parser.failure(1).message
    assert message.startswith("Cannot pull docker.io/library/centos:6.7")
    assert "cannot be reached" in message


def test_a_cancelled_step_is_cancelled_not_failed() -> None:
    parser, _ = parse("d26-cancel")
    states = {v.name.split("]")[0] + "]": v.state for v in parser.vertices.values()}
    assert states["[3/3]"] == "cancelled"
    assert parser.failed_vertex is None


def test_control_characters_reach_the_log_only_visibly() -> None:
    # The parser keeps bytes as text; the log model shows them visibly (safe_text), so an
    # OSC 52 in a RUN step's output or a vertex name cannot write the user's clipboard.
    line = "evil \x1b]52;c;aGk=\x07 done\n"
    data = base64.b64encode(line.encode()).decode()
    parser = RawJsonParser()
    events = parser.feed(
        {
            "vertexes": [{"digest": "sha256:x", "name": "[1/1] RUN \x1b[2J"}],
            "logs": [{"vertex": "sha256:x", "stream": 1, "data": data}],
        }
    )
    assert events[-1] == VertexLog("sha256:x", ("evil \x1b]52;c;aGk=\x07 done",))
    error = BuildError("failed", vertex="sha256:x", excerpt=("   1 | >>> RUN \x1b[31m",))
    model = BuildLogModel(0.0)
    model.apply([(float(i), e) for i, e in enumerate([*events, error])])
    step = model.by_key["sha256:x"]
    shown = [step.header, *step.lines, *step.excerpt, model.text()]
    assert not any("\x1b" in text or "\x07" in text for text in shown)
    assert list(step.lines) == ["evil ^[]52;c;aGk=^G done"]


def test_the_log_model_groups_lines_by_vertex_and_counts_steps() -> None:
    parser, events = parse("d26-fail", (FIXTURES / "build-fail" / "Dockerfile").read_text())
    error = parser.failure(1)
    model = BuildLogModel(0.0)
    model.apply([(float(i), e) for i, e in enumerate([*events, error])])
    assert model.status == FAILED
    step = model.failed_step
    assert step is not None and step.header.startswith("[3/4]")
    assert list(step.lines) == ["about to fail"]
    assert step.excerpt == list(error.excerpt)
    finished, known, _cached = model.counter()
    assert known == len(parser.vertices)
    assert finished == sum(1 for v in parser.vertices.values() if v.state != "waiting")
    # The step that never started is counted but not shown.
    assert not any(s.header.startswith("[4/4]") for s in model.steps)
    text = model.text()
    assert "   4 | >>> RUN" in text and "ERROR: [3/4]" in text


def test_buildkit_features_are_found_with_their_lines() -> None:
    text = (FIXTURES / "buildkit-modern" / "Dockerfile").read_text()
    found = buildkit_features(text)
    lines = text.splitlines()
    assert any(f.startswith("RUN --mount") for f in found)
    assert any(f.startswith("a heredoc") for f in found)
    for feature in found:
        number = int(feature.rsplit("line ", 1)[1].rstrip(")"))
        assert "--mount" in lines[number - 1] or "<<" in lines[number - 1]
    assert buildkit_features((FIXTURES / "build-fail" / "Dockerfile").read_text()) == []
    assert buildkit_features("# syntax=docker/dockerfile:1\nFROM x\n")[0].startswith("a '# syntax")


def test_explain_keeps_unknown_errors_whole() -> None:
    assert explain_buildkit_error("failed to solve: something odd", "") == (
        "The build failed: something odd"
    )


def _service() -> ImageService:
    return ImageService(Endpoint(host="unix:///tmp/x.sock", source="test"), api=None)  # type: ignore[arg-type]


def test_form_fields_map_to_buildx_flags(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    request = check_build_request(
        tmp_path,
        tags=["a/b:1", "a/b:2", "localhost:5000/a/b"],
        buildargs={"X": "1 2"},
        labels={"l": "v"},
        target="final",
        nocache=True,
        pull=True,
        platform="linux/amd64",
    )
    argv, env = _service().buildx_argv(request, BuilderInfo(True, driver="docker"), "/tmp/iid")
    assert argv[1:3] == ["--host", "unix:///tmp/x.sock"]
    assert "DOCKER_HOST" not in env and "DOCKER_CONTEXT" not in env
    pairs = list(itertools.pairwise(argv))
    for pair in [
        ("--tag", "a/b:1"),
        ("--tag", "a/b:2"),
        ("--tag", "localhost:5000/a/b:latest"),
        ("--build-arg", "X=1 2"),
        ("--label", "l=v"),
        ("--target", "final"),
        ("--platform", "linux/amd64"),
        ("--iidfile", "/tmp/iid"),
        ("--file", str(tmp_path / "Dockerfile")),
    ]:
        assert pair in pairs
    assert "--no-cache" in argv and "--pull" in argv and "--progress=rawjson" in argv
    assert "--load" not in argv  # the docker driver loads by itself
    assert argv[-2:] == ["--", str(tmp_path)]
    container, _ = _service().buildx_argv(
        request, BuilderInfo(True, driver="docker-container"), "/tmp/iid"
    )
    assert "--load" in container


def test_a_context_is_passed_by_name() -> None:
    service = ImageService(
        Endpoint(host="tcp://10.0.0.1:2376", source="context", context="remote"),
        api=None,  # type: ignore[arg-type]
    )
    flags, _ = service.cli_connection()
    assert flags == ["--context", "remote"]


def test_legacy_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEDECK_BUILDER", "legacy")
    info = _service().builder_info(refresh=True)
    assert not info.buildkit and "legacy" in info.description


def test_buildkit_without_buildx_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMAGEDECK_DOCKER_CLI", str(tmp_path / "no-docker"))
    monkeypatch.delenv("IMAGEDECK_BUILDER", raising=False)
    info = _service().builder_info(refresh=True)
    assert not info.buildkit and info.reason == "no docker CLI on PATH"
    cancel = threading.Event()
    events = list(_service().build_buildkit(None, cancel, info))  # type: ignore[arg-type]
    assert isinstance(events[-1], BuildError) and "not available" in events[-1].message


# -- the cache prune plan ----------------------------------------------------------------------

NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)


def record(ident: str, days: int, size: int = 100, **kw: Any) -> CacheRecord:
    return CacheRecord(
        id=ident,
        type=kw.pop("type", "regular"),
        description="",
        size=size,
        in_use=kw.pop("in_use", False),
        shared=kw.pop("shared", False),
        created=NOW - timedelta(days=days + 1),
        last_used=NOW - timedelta(days=days),
        usage_count=1,
        parents=tuple(kw.pop("parents", ())),
    )


def test_cache_plan_keeps_recent_in_use_and_their_parents() -> None:
    usage = BuildCacheUsage(
        (
            record("base", 30),
            record("child-old", 20, parents=["base"]),
            record("child-new", 1, parents=["base"]),
            record("lonely", 10, size=1000),
            record("busy", 40, in_use=True),
            record("shared", 40, shared=True, size=5000),
        )
    )
    plan = plan_cache_prune(usage, timedelta(days=7), NOW)
    ids = [r.id for r in plan.records]
    # base stays: child-new (recent) still needs it.
    assert sorted(ids) == ["child-old", "lonely", "shared"]
    assert plan.kept_for_children == 1 and plan.kept_in_use == 1
    assert plan.freed == 100 + 1000  # a shared record frees nothing
    assert usage.size == 100 * 4 + 1000  # docker system df leaves shared records out
    assert usage.reclaimable == usage.size - 100
    assert usage.unused_for(timedelta(days=7), NOW) == 100 + 100 + 1000


def test_cache_plan_orders_children_before_parents() -> None:
    usage = BuildCacheUsage(
        (record("a", 9), record("b", 9, parents=["a"]), record("c", 9, parents=["b"]))
    )
    plan = plan_cache_prune(usage, None, NOW)
    assert [r.id for r in plan.records] == ["c", "b", "a"]
