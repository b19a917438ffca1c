"""The layer analysis engine and `imagedeck layers`, without a daemon."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from tests.tarfiles import tar_bytes
from tui.analysis import (
    AnalysisCancelled,
    ChangeKind,
    LayerAnalysisError,
    analyze_path,
    analyze_stream,
)
from tui.layers_cli import UsageError, main, parse_size
from tui.service.errors import NotFound

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The project's shared/ folder: IMAGEDECK_SHARED_DIR, else beside the checkout (as CI lays
    it out), else beside the local checkout this one was cloned from (``git clone . /tmp/x``
    has no shared/ beside it; its origin, a path, does)."""
    if os.environ.get("IMAGEDECK_SHARED_DIR"):
        return Path(os.environ["IMAGEDECK_SHARED_DIR"])
    beside = PROJECT_ROOT / "../shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if origin and Path(origin).is_dir() and (Path(origin) / "../shared").is_dir():
        return Path(origin) / "../shared"
    return beside


DIVE_ARCHIVE = shared_dir() / "fixtures/dive/test-docker-image.tar"


@pytest.fixture
def dive_archive() -> Path:
    """dive's test archive; a missing shared/ is a failure that says where it looked."""
    if not DIVE_ARCHIVE.is_file():
        pytest.fail(
            f"dive's test archive is not at {DIVE_ARCHIVE.resolve()}: shared/ must lie beside "
            "the checkout or the checkout it was cloned from, or set IMAGEDECK_SHARED_DIR",
            pytrace=False,
        )
    return DIVE_ARCHIVE


class ReadOnly:
    """A non-seekable stream: only read(), like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)


# --- building archives in memory ---------------------------------------------------------------

# (name, size or None for a directory)
Layer = list[tuple[str, "int | None"]]

LAYERS: list[Layer] = [
    [
        ("bin/", None),
        ("bin/sh", 100),
        ("etc/", None),
        ("etc/conf", 50),
        ("data/", None),
        ("data/a", 30),
        ("data/b", 20),
        ("opt/", None),
        ("opt/x", 10),
        ("opt/y", 5),
    ],
    # overwrite etc/conf, add bin/tool
    [("etc/", None), ("etc/conf", 70), ("bin/", None), ("bin/tool", 200)],
    # delete a directory and a file
    [(".wh.data", 0), ("bin/", None), ("bin/.wh.tool", 0)],
    # opaque directory: opt's old contents go, opt/z arrives
    [("opt/", None), ("opt/.wh..wh..opq", 0), ("opt/z", 7)],
    # overwrite etc/conf again
    [("etc/", None), ("etc/conf", 90)],
]
COMMANDS = [
    "/bin/sh -c #(nop) ADD file:abc in /",
    "/bin/sh -c echo more > /etc/conf && cp /bin/sh /bin/tool",
    "/bin/sh -c rm -rf /data /bin/tool",
    "/bin/sh -c rm -rf /opt && mkdir /opt && touch /opt/z",
    "/bin/sh -c echo again > /etc/conf",
]

# Expected figures, worked out by hand from dive's rules (leaf paths only; a whiteout of a file
# counts 0, of a directory the size of the subtree it removes; opaque markers are ignored):
#   /bin/sh 100 | /etc/conf 50+70+90 (3 copies) | /data/a 30 | /data/b 20 | /opt/x 10 | /opt/y 5
#   /bin/tool 200+0 (2 copies) | /data (whiteout of a directory) 30+20 | /opt/z 7
MIN_SUM = 100 + 50 + 30 + 20 + 10 + 5 + 0 + 50 + 7
CUM_SUM = 100 + 210 + 30 + 20 + 10 + 5 + 200 + 50 + 7
LAYER_SIZES = [215, 270, 0, 7, 90]
WASTED = 210 + 200


def _tar(members: list[tuple[str, int | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, size in members:
            info = tarfile.TarInfo(name.rstrip("/"))
            if size is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = size
                tar.addfile(info, io.BytesIO(b"x" * size))
    return buffer.getvalue()


def _config(diff_ids: list[str]) -> bytes:
    history: list[dict[str, object]] = [
        {"created_by": "/bin/sh -c #(nop) LABEL a=b", "empty_layer": True}
    ]
    for command in COMMANDS:
        history.append({"created_by": command})
        history.append({"created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True})
    return json.dumps(
        {"history": history, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_archive(layout: str, gzip_layers: bool, seed: int = 0) -> bytes:
    """A `docker save` archive of LAYERS; members shuffled, manifest.json always last."""
    raw_layers = [_tar(layer) for layer in LAYERS]
    diff_ids = [f"sha256:{_sha(raw)}" for raw in raw_layers]
    blobs = [gzip.compress(raw) if gzip_layers else raw for raw in raw_layers]
    config = _config(diff_ids)
    files: list[tuple[str, bytes]] = []
    if layout == "legacy":
        layer_paths = []
        for idx, blob in enumerate(blobs):
            path = f"{idx:064x}/layer.tar{'.gz' if gzip_layers else ''}"
            layer_paths.append(path)
            files.append((path, blob))
            files.append((f"{idx:064x}/VERSION", b"1.0"))
        config_path = f"{_sha(config)}.json"
        files.append((config_path, config))
        symlinks: list[tuple[str, str]] = []
    else:
        layer_paths = [f"blobs/sha256/{_sha(blob)}" for blob in blobs]
        files.extend(zip(layer_paths, blobs, strict=True))
        config_path = f"blobs/sha256/{_sha(config)}"
        files.append((config_path, config))
        oci_manifest = json.dumps(
            {
                "schemaVersion": 2,
                "config": {"digest": f"sha256:{_sha(config)}"},
                "layers": [{"digest": f"sha256:{_sha(b)}"} for b in blobs],
            }
        ).encode()
        files.append((f"blobs/sha256/{_sha(oci_manifest)}", oci_manifest))
        index = {"manifests": [{"digest": f"sha256:{_sha(oci_manifest)}"}]}
        files.append(("index.json", json.dumps(index).encode()))
        files.append(("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'))
        # modern docker also writes <id>/layer.tar symlinks to the blobs; point the manifest at
        # one of them to exercise link resolution
        symlinks = [("0/layer.tar", f"../{layer_paths[0]}")]
        layer_paths = ["0/layer.tar", *layer_paths[1:]]
    random.Random(seed).shuffle(files)
    manifest = [{"Config": config_path, "RepoTags": ["demo/synthetic:1"], "Layers": layer_paths}]
    files.append(("manifest.json", json.dumps(manifest).encode()))
    return tar_bytes([*symlinks, *files])


# --- dive's own archive --------------------------------------------------------------------------


def test_dive_archive_figures_equal_dive(dive_archive: Path) -> None:
    analysis = analyze_path(dive_archive)
    assert analysis.efficiency == 0.9844212134184309
    assert analysis.size_bytes == 1220598
    assert analysis.user_size_bytes == 66237
    assert analysis.wasted_bytes == 32025
    assert analysis.wasted_user_percent == 0.4834911001404049
    # dive 0.13.1's own `--json` of this archive, in its order: equal sizes come out as Go's
    # sort.Sort leaves them (then reversed), not by path.
    assert [(i.path, i.count, i.cumulative_size) for i in analysis.inefficiencies] == [
        ("/root/saved.txt", 2, 12810),
        ("/root/example/somefile1.txt", 2, 12810),
        ("/root/example/somefile3.txt", 2, 6405),
    ]
    assert analysis.layers[2].command == "RUN mkdir -p /root/example/really/nested"


def test_dive_archive_json_via_cli(dive_archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(dive_archive), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["efficiency"] == 0.9844212134184309
    assert document["size_bytes"] == 1220598
    assert document["user_size_bytes"] == 66237
    assert document["wasted_bytes"] == 32025
    assert document["wasted_user_percent"] == 0.4834911001404049
    assert len(document["layers"]) == 14
    assert document["inefficiencies"][0] == {
        "path": "/root/saved.txt",
        "count": 2,
        "cumulative_size": 12810,
    }


# --- synthetic archives --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "gzip_layers"),
    [("legacy", False), ("legacy", True), ("oci", False), ("oci", True)],
)
def test_synthetic_archive_figures(layout: str, gzip_layers: bool) -> None:
    data = build_archive(layout, gzip_layers)
    analysis = analyze_stream(ReadOnly(data))
    assert [layer.size_bytes for layer in analysis.layers] == LAYER_SIZES
    assert analysis.size_bytes == sum(LAYER_SIZES)
    assert analysis.user_size_bytes == sum(LAYER_SIZES[1:])
    assert analysis.wasted_bytes == WASTED
    assert analysis.efficiency == pytest.approx(MIN_SUM / CUM_SUM, abs=1e-12)
    assert analysis.wasted_user_percent == pytest.approx(WASTED / sum(LAYER_SIZES[1:]), abs=1e-12)
    assert [(i.path, i.count, i.cumulative_size) for i in analysis.inefficiencies] == [
        ("/etc/conf", 3, 210),
        ("/bin/tool", 2, 200),
    ]
    assert analysis.image == "demo/synthetic:1"


def test_synthetic_changes_per_layer() -> None:
    analysis = analyze_stream(ReadOnly(build_archive("legacy", False, seed=3)))
    layers = analysis.layers

    def changes(index: int) -> set[tuple[str, ChangeKind, int]]:
        return {(c.path, c.kind, c.size) for c in layers[index].changes}

    assert layers[0].added == 10  # 4 directories and 6 files
    assert changes(1) == {
        ("/etc/conf", ChangeKind.MODIFIED, 70),
        ("/bin/tool", ChangeKind.ADDED, 200),
    }
    # the directory whiteout removes the whole subtree (30 + 20 bytes)
    assert changes(2) == {
        ("/data", ChangeKind.REMOVED, 50),
        ("/bin/tool", ChangeKind.REMOVED, 200),
    }
    assert changes(3) == {
        ("/opt/x", ChangeKind.REMOVED, 10),
        ("/opt/y", ChangeKind.REMOVED, 5),
        ("/opt/z", ChangeKind.ADDED, 7),
    }
    assert changes(4) == {("/etc/conf", ChangeKind.MODIFIED, 90)}
    assert (layers[1].added, layers[1].modified, layers[1].removed) == (1, 1, 0)
    assert layers[2].removed_bytes == 250
    assert layers[1].command == "RUN echo more > /etc/conf && cp /bin/sh /bin/tool"
    assert layers[0].command == "ADD file:abc in /"
    assert layers[0].diff_id is not None and layers[0].diff_id.startswith("sha256:")


def test_trees() -> None:
    analysis = analyze_stream(ReadOnly(build_archive("oci", True)))
    final = analysis.aggregated_tree(4)
    assert final.size == 100 + 90 + 7
    assert {n.path for n in final.walk() if not n.children and not n.is_dir} == {
        "/bin/sh",
        "/etc/conf",
        "/opt/z",
    }
    assert [c.name for c in final.sorted_children()] == ["bin", "etc", "opt"]
    assert [c.name for c in final.sorted_children(by="name", reverse=True)] == ["opt", "etc", "bin"]
    conf = final.find("/etc/conf")
    assert conf is not None and conf.change is ChangeKind.MODIFIED and conf.layer == 4

    after_delete = analysis.aggregated_tree(2)
    removed = after_delete.find("/data")
    assert removed is not None and removed.change is ChangeKind.REMOVED and removed.size == 50
    assert after_delete.size == 100 + 70 + 10 + 5  # removed paths do not count

    changed = analysis.layer_tree(1)
    assert changed.size == 270
    assert [c.name for c in changed.sorted_children()] == ["bin", "etc"]


def test_gzip_compressed_archive_file(tmp_path: Path) -> None:
    path = tmp_path / "image.tar.gz"
    path.write_bytes(gzip.compress(build_archive("legacy", True)))
    analysis = analyze_path(path)
    assert analysis.wasted_bytes == WASTED


def test_progress_reports_bytes_and_total(tmp_path: Path) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(build_archive("legacy", False))
    seen: list[tuple[int, int | None]] = []
    analyze_path(path, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_cancel_before_start() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(AnalysisCancelled):
        analyze_stream(ReadOnly(build_archive("legacy", False)), cancel=cancel)


def test_cancel_while_streaming() -> None:
    cancel = threading.Event()
    calls: list[int] = []

    def progress(done: int, total: int | None) -> None:
        calls.append(done)
        cancel.set()  # as if the user pressed Esc after the first block

    class Trickle(ReadOnly):
        def read(self, size: int = -1) -> bytes:
            return super().read(min(size, 4096) if size >= 0 else 4096)

    with pytest.raises(AnalysisCancelled):
        analyze_stream(Trickle(build_archive("legacy", False)), progress=progress, cancel=cancel)
    assert len(calls) == 1


def test_not_an_archive() -> None:
    with pytest.raises(LayerAnalysisError):
        analyze_stream(ReadOnly(b"this is not a tar file at all" * 40))


def test_archive_without_manifest() -> None:
    with pytest.raises(LayerAnalysisError, match="manifest"):
        analyze_stream(ReadOnly(tar_bytes([("hello.txt", b"hi")])))


# --- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def archive_file(tmp_path: Path) -> Path:
    path = tmp_path / "synthetic.tar"
    path.write_bytes(build_archive("oci", True))
    return path


def test_cli_json(archive_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(archive_file), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [layer["size_bytes"] for layer in document["layers"]] == LAYER_SIZES
    assert [
        (layer["added"], layer["modified"], layer["removed"]) for layer in document["layers"]
    ] == [(10, 0, 0), (1, 1, 0), (0, 0, 2), (1, 0, 2), (0, 1, 0)]
    assert document["wasted_bytes"] == WASTED
    assert document["size_bytes"] == sum(LAYER_SIZES)
    assert document["user_size_bytes"] == sum(LAYER_SIZES[1:])
    assert abs(document["efficiency"] - MIN_SUM / CUM_SUM) < 1e-12
    assert document["inefficiencies"] == [
        {"path": "/etc/conf", "count": 3, "cumulative_size": 210},
        {"path": "/bin/tool", "count": 2, "cumulative_size": 200},
    ]


def test_cli_text_report(archive_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(archive_file)]) == 0
    out = capsys.readouterr().out
    assert "Image efficiency score" in out and "/etc/conf" in out


def test_cli_ci_pass(
    archive_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(archive_file.parent)  # no ./.dive-ci here
    # efficiency is 272/632 = 0.43; wasted/user = 410/367 = 1.12
    code = main(
        [
            str(archive_file),
            "--ci",
            "--lowest-efficiency",
            "0.4",
            "--highest-user-wasted-percent",
            "1.0",
            "--highest-wasted-bytes",
            "1kB",
        ]
    )
    out = capsys.readouterr().out
    assert "FAIL: highestUserWastedPercent" in out
    assert code == 1
    code = main(
        [
            str(archive_file),
            "--ci",
            "--lowest-efficiency",
            "0.4",
            "--highest-user-wasted-percent",
            "disabled",
            "--highest-wasted-bytes",
            "410",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS: lowestEfficiency" in out and "PASS: highestWastedBytes" in out


def test_cli_ci_defaults_fail(archive_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(archive_file.parent)
    assert main([str(archive_file), "--ci"]) == 1  # 0.43 < dive's default 0.9


def test_cli_ci_config_file(
    archive_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(archive_file.parent)
    (archive_file.parent / ".dive-ci").write_text(
        "rules:\n  lowestEfficiency: 0.4\n  highestWastedBytes: 0.3kB\n"
        "  highestUserWastedPercent: disabled\n"
    )
    assert main([str(archive_file), "--ci"]) == 1
    assert "FAIL: highestWastedBytes" in capsys.readouterr().out
    # an option overrides the file
    assert main([str(archive_file), "--ci", "--highest-wasted-bytes", "20MB"]) == 0


def test_cli_json_with_ci_keeps_stdout_json(
    archive_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(archive_file.parent)
    assert main([str(archive_file), "--json", "--ci"]) == 1
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert {r["status"] for r in document["ci"]} >= {"FAIL"}
    assert "Result: FAIL" in captured.err


def test_cli_image_reference_uses_injected_stream(capsys: pytest.CaptureFixture[str]) -> None:
    data = build_archive("legacy", True)
    asked: list[str] = []

    def opener(reference: str) -> io.BytesIO:
        asked.append(reference)
        return io.BytesIO(data)

    assert main(["demo/wasted:latest", "--json"], open_image_stream=opener) == 0
    assert asked == ["demo/wasted:latest"]
    assert json.loads(capsys.readouterr().out)["image"] == "demo/wasted:latest"


def test_cli_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def missing(reference: str) -> io.BytesIO:
        raise NotFound(f"No such image: {reference}")

    assert main(["nope/nothing:1"], open_image_stream=missing) == 2
    err = capsys.readouterr().err
    assert "No such image: nope/nothing:1" in err and "Traceback" not in err

    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"garbage" * 300)
    assert main([str(bad)]) == 2
    assert "Cannot read the image archive: it is not a tar file" in capsys.readouterr().err

    assert main([str(bad), "--ci", "--highest-wasted-bytes", "lots"]) == 2
    assert "not a size" in capsys.readouterr().err
    assert main(["--no-such-option"]) == 2


def test_parse_size() -> None:
    assert parse_size("20MB") == 20_000_000
    assert parse_size("1.5KiB") == 1536
    assert parse_size("4096") == 4096
    with pytest.raises(UsageError, match="not a size"):
        parse_size("12 parsecs")


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names_and_link_entries_match_tarfile(fmt: int) -> None:
    deep = "/".join(["d" * 40] * 3)  # 122 characters: ustar prefix, GNU longname or PAX path
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for name, size in [(f"{deep}/file.bin", 1234), ("é/ünïcode", 3)]:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(b"\0" * size))
        link = tarfile.TarInfo(f"{deep}/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "file.bin"
        tar.addfile(link)
    layer = buffer.getvalue()
    config = b'{"history": [{"created_by": "x"}]}'
    outer = tar_bytes(
        [
            ("l/layer.tar", layer),
            ("c.json", config),
            ("manifest.json", b'[{"Config": "c.json", "Layers": ["l/layer.tar"]}]'),
        ]
    )
    analysis = analyze_stream(ReadOnly(outer))
    expected = [(m.name, m.size) for m in tarfile.open(fileobj=io.BytesIO(layer)).getmembers()]
    assert [(e.path, e.size) for e in analysis.layers[0].entries] == expected
    assert analysis.layers[0].size_bytes == 1237
