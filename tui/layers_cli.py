"""`imagedeck layers IMAGE_OR_ARCHIVE`: the layer analysis without the UI, and a CI gate.

Exit codes: 0 analysed (and every CI rule passed), 1 a CI rule failed, 2 an error (no such
image, unreadable archive, bad option); errors are one readable line, never a traceback.

This module is the command: its options, the CI rules (dive's ``.dive-ci``) and the reports;
where the image's bytes come from (a local socket, the service, `docker save`) is
``tui.layers_source``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tui.layers_source import OpenImageStream, default_open_image_stream, storage_analysis
from tui.safe_text import visible
from tui.service.errors import ImagedeckError, InvalidReference
from tui.service.reference import parse

if TYPE_CHECKING:
    from tui.analysis import ImageAnalysis

# The analysis itself (tui.analysis) is imported only once the daemon has been asked for the
# image: the daemon prepares the archive while Python imports the modules that read it.

__all__ = ["CiRule", "evaluate_rules", "main", "parse_size"]

DEFAULT_CI_CONFIG = ".dive-ci"
# dive's defaults when neither an option nor the config file sets a rule.
DEFAULT_RULES: dict[str, str] = {
    "lowestEfficiency": "0.9",
    "highestWastedBytes": "disabled",
    "highestUserWastedPercent": "0.1",
}

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


class UsageError(Exception):
    """A bad option or config value; reported with exit code 2."""


def parse_size(text: str) -> int:
    """Bytes from ``20MB`` (SI, like dive's humanize.ParseBytes), ``20MiB`` (binary) or ``123``."""
    match = _SIZE_RE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise UsageError(f"{text!r} is not a size (examples: 20MB, 1.5GiB, 4096)")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


@dataclass(frozen=True)
class CiRule:
    """One evaluated dive CI rule."""

    name: str
    threshold: str
    actual: str
    passed: bool | None  # None: the rule is disabled

    @property
    def status(self) -> str:
        """PASS, FAIL or SKIP."""
        if self.passed is None:
            return "SKIP"
        return "PASS" if self.passed else "FAIL"


def _read_ci_config(path: Path) -> dict[str, str]:
    """The ``rules:`` of a ``.dive-ci`` file (a tiny YAML subset: ``key: value`` lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot read CI config {path}: {exc.strerror or exc}") from exc
    rules: dict[str, str] = {}
    in_rules = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indented = line[:1] in (" ", "\t")
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise UsageError(f"{path}: cannot read the line {raw.strip()!r}")
        if not indented:
            in_rules = key.strip() == "rules"
            continue
        if in_rules:
            rules[key.strip()] = value.strip().strip("'\"")
    unknown = set(rules) - set(DEFAULT_RULES)
    if unknown:
        raise UsageError(f"{path}: unknown rule(s): {', '.join(sorted(unknown))}")
    return rules


def _ratio(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name}: {text!r} is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{name}: {text!r} is not a number between 0 and 1")
    return value


def evaluate_rules(analysis: ImageAnalysis, rules: dict[str, str]) -> list[CiRule]:
    """Apply dive's three CI rules; a value of ``disabled`` (or empty) turns a rule off."""
    merged = {**DEFAULT_RULES, **rules}
    results: list[CiRule] = []

    value = merged["lowestEfficiency"]
    if value.lower() in ("", "disabled"):
        results.append(CiRule("lowestEfficiency", "disabled", f"{analysis.efficiency:.4f}", None))
    else:
        threshold = _ratio("lowestEfficiency", value)
        results.append(
            CiRule(
                "lowestEfficiency",
                value,
                f"{analysis.efficiency:.4f}",
                analysis.efficiency >= threshold,
            )
        )

    value = merged["highestWastedBytes"]
    if value.lower() in ("", "disabled"):
        results.append(CiRule("highestWastedBytes", "disabled", str(analysis.wasted_bytes), None))
    else:
        limit = parse_size(value)
        results.append(
            CiRule(
                "highestWastedBytes",
                f"{value} ({limit} bytes)",
                f"{analysis.wasted_bytes} bytes",
                analysis.wasted_bytes <= limit,
            )
        )

    value = merged["highestUserWastedPercent"]
    percent = analysis.wasted_user_percent
    if value.lower() in ("", "disabled"):
        results.append(CiRule("highestUserWastedPercent", "disabled", f"{percent:.4f}", None))
    else:
        threshold = _ratio("highestUserWastedPercent", value)
        # NaN/inf (no user layers) fails like it does in dive: the comparison is not true.
        passed = math.isfinite(percent) and percent <= threshold
        results.append(CiRule("highestUserWastedPercent", value, f"{percent:.4f}", passed))
    return results


# --------------------------------------------------------------------------------------------
# Reports


def _human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


class _Visible:
    """A text stream whose writes show control characters (``ESC`` as ``^[``).

    The report prints file names, RUN commands and daemon errors: anyone's text, which must
    not program the terminal that shows it. (``--json`` needs no help: ``json.dump`` escapes
    every control and non-ASCII character.)
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` with its controls (newlines and tabs aside) made visible."""
        return self.stream.write(visible(text, keep_newlines=True, keep_tabs=True))


def _text_report(analysis: ImageAnalysis, raw_out: TextIO, limit: int = 20) -> None:
    write = _Visible(raw_out).write
    write(f"Image: {analysis.image}\n\nLayers\n")
    write(f"  {'#':>3}  {'size':>9}  {'added':>6}  {'modif.':>6}  {'removed':>7}  command\n")
    for layer in analysis.layers:
        command = layer.command.replace("\n", " ")
        if len(command) > 80:
            command = command[:79] + "…"
        write(
            f"  {layer.index:>3}  {_human(layer.size_bytes):>9}  {layer.added:>6}  "
            f"{layer.modified:>6}  {layer.removed:>7}  {command}\n"
        )
    percent = analysis.wasted_user_percent
    percent_text = f"{percent * 100:.2f} %" if math.isfinite(percent) else "n/a"
    write(
        "\nImage details\n"
        f"  Total image size:        {_human(analysis.size_bytes)} ({analysis.size_bytes} bytes)\n"
        f"  User layers size:        {_human(analysis.user_size_bytes)} "
        f"({analysis.user_size_bytes} bytes)\n"
        f"  Potential wasted space:  {_human(analysis.wasted_bytes)} "
        f"({analysis.wasted_bytes} bytes)\n"
        f"  Wasted / user size:      {percent_text}\n"
        f"  Image efficiency score:  {analysis.efficiency * 100:.2f} %\n"
    )
    if analysis.inefficiencies:
        write(f"\nInefficient files (worst {min(limit, len(analysis.inefficiencies))}):\n")
        write(f"  {'count':>5}  {'wasted':>9}  path\n")
        for item in analysis.inefficiencies[:limit]:
            write(f"  {item.count:>5}  {_human(item.cumulative_size):>9}  {item.path}\n")


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse exits on errors; we want our own exit code 2 and message, without SystemExit."""

    def error(self, message: str) -> Any:
        raise _ArgumentError(message)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imagedeck layers",
        description="Analyse an image's layers: files added, modified, removed, wasted space "
        "and efficiency computed like dive.",
    )
    parser.add_argument("target", metavar="IMAGE_OR_ARCHIVE", help="image reference or archive")
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.add_argument("--ci", action="store_true", help="apply dive's CI rules; exit 1 on FAIL")
    parser.add_argument("--lowest-efficiency", metavar="F", help="fail below this (0..1)")
    parser.add_argument(
        "--highest-wasted-bytes", metavar="N", help="fail above this (bytes or 20MB)"
    )
    parser.add_argument(
        "--highest-user-wasted-percent", metavar="F", help="fail above this ratio (0..1)"
    )
    parser.add_argument(
        "--ci-config", metavar="PATH", help=f"dive CI rules file (default ./{DEFAULT_CI_CONFIG})"
    )
    parser.add_argument("--host", metavar="URL", help="Docker daemon address (like DOCKER_HOST)")
    parser.add_argument(
        "--via",
        choices=("auto", "api", "storage"),
        default="auto",
        help="where an image's layers are read: the daemon's overlay2 storage when it is "
        "local and readable, else the API's `docker save` stream (auto); only the API; "
        "only the storage (an error when it cannot be read)",
    )
    parser.add_argument(
        "--show-source",
        action="store_true",
        help="say on stderr which source was read (storage or api)",
    )
    return parser


_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}\Z")


def check_target(text: str) -> None:
    """Refuse, before the daemon is asked, a target that is neither an archive nor an image.

    Raises UsageError: a directory, a path that does not exist (written like a path), or a
    reference the engine would refuse (``Bad:Ref``). Image IDs, short or long, are taken.
    """
    path = Path(text)
    if path.is_dir():
        raise UsageError(
            f"{text} is a directory; give an image (name:tag or ID) or a `docker save` archive"
        )
    if path.exists():
        raise UsageError(f"{text} is not a regular file (a `docker save` archive)")
    if text.startswith(("/", "./", "../", "~")) or text.endswith((".tar", ".tar.gz", ".tgz")):
        raise UsageError(f"{text}: no such file (a `docker save` archive)")
    if _IMAGE_ID.match(text):
        return
    try:
        parse(text)
    except InvalidReference as exc:
        raise UsageError(f"{text!r} is not an image reference: {exc}") from None


def main(
    argv: list[str],
    open_image_stream: OpenImageStream | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``imagedeck layers`` with ``argv`` (without the subcommand); return the exit code.

    ``open_image_stream(reference)`` returns the `docker save` stream of an image; by default
    it comes from ``ImageService.connect(--host).save_stream``.
    """
    out = stdout or sys.stdout
    err: Any = _Visible(stderr or sys.stderr)
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except _ArgumentError as exc:
        err.write(f"{parser.format_usage()}imagedeck layers: error: {exc}\n")
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)

    try:
        rules: dict[str, str] = {}
        if args.ci:
            config = Path(args.ci_config) if args.ci_config else Path(DEFAULT_CI_CONFIG)
            if args.ci_config or config.is_file():
                rules.update(_read_ci_config(config))
            for name, value in (
                ("lowestEfficiency", args.lowest_efficiency),
                ("highestWastedBytes", args.highest_wasted_bytes),
                ("highestUserWastedPercent", args.highest_user_wasted_percent),
            ):
                if value is not None:
                    rules[name] = value
            # Check the thresholds before a long analysis, not after it.
            for name in ("lowestEfficiency", "highestUserWastedPercent"):
                if rules.get(name, "disabled").lower() not in ("", "disabled"):
                    _ratio(name, rules[name])
            if rules.get("highestWastedBytes", "disabled").lower() not in ("", "disabled"):
                parse_size(rules["highestWastedBytes"])

        analysis: ImageAnalysis | None
        target = Path(args.target)
        if target.is_file():
            from tui.analysis import analyze_path

            analysis = analyze_path(target)
        else:
            check_target(args.target)
            analysis = None
            if args.via != "api" and open_image_stream is None:
                analysis = storage_analysis(args.host, args.target, required=args.via == "storage")
            if args.show_source:
                err.write(f"source: {'api' if analysis is None else 'storage'}\n")
            if analysis is None:
                opener = open_image_stream or default_open_image_stream(args.host)
                stream = opener(args.target)
                try:
                    from tui.analysis import analyze_stream

                    analysis = analyze_stream(stream, name=args.target)
                finally:
                    with contextlib.suppress(Exception):
                        stream.close()
        assert analysis is not None
    except UsageError as exc:
        err.write(f"imagedeck layers: error: {exc}\n")
        return 2
    except ImagedeckError as exc:
        err.write(f"imagedeck layers: {exc}\n")
        return 2
    except KeyboardInterrupt:
        err.write("imagedeck layers: interrupted\n")
        return 130
    except Exception as exc:  # any other failure is still a message, not a traceback
        err.write(f"imagedeck layers: {type(exc).__name__}: {exc}\n")
        return 2

    try:
        return _report(analysis, args, rules, out, err)
    except BrokenPipeError:
        # `imagedeck layers IMG | head`: the reader left; not an error worth a traceback.
        with contextlib.suppress(Exception):
            # Python flushes stdout at exit and would report the broken pipe again.
            sys.stdout = open(os.devnull, "w")
        return 0


def _report(
    analysis: ImageAnalysis,
    args: argparse.Namespace,
    rules: dict[str, str],
    out: TextIO,
    err: TextIO,
) -> int:
    """Print the report (and the CI verdict); return the exit code."""
    if args.json:
        document = analysis.to_dict()
        if args.ci:
            document["ci"] = [
                {"rule": r.name, "threshold": r.threshold, "actual": r.actual, "status": r.status}
                for r in evaluate_rules(analysis, rules)
            ]
        json.dump(document, out, indent=2)
        out.write("\n")
    else:
        _text_report(analysis, out)

    if not args.ci:
        return 0
    results = evaluate_rules(analysis, rules)
    report = _Visible(err if args.json else out)  # keep stdout pure JSON with --json
    report.write("\nCI rules\n")
    for result in results:
        report.write(
            f"  {result.status}: {result.name} (threshold {result.threshold}, "
            f"actual {result.actual})\n"
        )
    failed = any(result.passed is False for result in results)
    report.write(f"Result: {'FAIL' if failed else 'PASS'}\n")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
