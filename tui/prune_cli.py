"""`imagedeck prune`: the cleanup wizard's retention planner without the UI, for cron.

    imagedeck prune --keep-last 3 --unused-for 30d --keep 'imagedeck/*'      # dry run: the plan
    imagedeck prune --below 20GB --dangling --yes                            # runs it
    imagedeck prune --below 20GB --yes --watch                               # and keeps doing so

A dry run is the default: it prints exactly what ``--yes`` would remove (each reference, untag
or delete, and why) and the space that comes back, and changes nothing. Rules come from the
options and from the ``[prune]`` table of the config file (options win; keep patterns add up).

Exit codes (also in the README):

- 0: nothing to do, the dry run was printed, or every removal succeeded;
- 1: some removals failed (each is reported; the rest went on);
- 2: bad usage (an unknown option, a wrong value, no rule at all, a problem in ``[prune]``);
- 3: the daemon cannot be reached;
- 4: another error (the daemon refused a request, the last-used record cannot be read safely).

Outside text (image names, daemon messages) is printed through :func:`tui.safe_text.visible`:
an image named with terminal escapes cannot drive the terminal of whoever reads the cron mail.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from tui import format as fmt
from tui.safe_text import visible
from tui.service.errors import DaemonUnreachable, ImagedeckError
from tui.service.policy import RetentionPolicy, policy_from_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_ERROR = 0, 1, 2, 3, 4
# --watch: events come in bursts (a CI job starts ten containers); wait for a quiet gap.
WATCH_QUIET = 5.0


class _Parser(argparse.ArgumentParser):
    """argparse, but bad usage exits 2 with one readable line (argparse's own code is 2 too)."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        print(f"imagedeck prune: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The options of `imagedeck prune`."""
    parser = _Parser(
        prog="imagedeck prune",
        description="Remove images by retention rules (a dry run unless --yes).",
        epilog="Exit codes: 0 done or nothing to do, 1 some removals failed, 2 bad usage, "
        "3 daemon unreachable, 4 other error.",
    )
    parser.add_argument("--host", "-H", metavar="URL", help="daemon address (else DOCKER_HOST)")
    parser.add_argument("--context", "-c", metavar="NAME", help="Docker context to use")
    parser.add_argument("--config", metavar="FILE", help="config file with a [prune] table")
    parser.add_argument(
        "--keep-last", metavar="N", help="keep the newest N tags of each repository"
    )
    parser.add_argument(
        "--unused-for", metavar="AGE", help="only images not used for AGE (30d, 12h, 2w)"
    )
    parser.add_argument(
        "--below",
        metavar="SIZE",
        help="least recently used images first, until the images use less than SIZE (20GB)",
    )
    parser.add_argument(
        "--keep",
        metavar="PATTERN",
        action="append",
        default=[],
        help="never touch repositories (or repository:tag) matching PATTERN; repeatable",
    )
    parser.add_argument("--dangling", action="store_true", help="dangling images are candidates")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="print the plan, change nothing (the default)"
    )
    mode.add_argument("--yes", "-y", action="store_true", help="remove what the plan lists")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--watch",
        action="store_true",
        help="keep running: record container use and apply the rules again after daemon events",
    )
    return parser


def resolve_policy(args: argparse.Namespace) -> RetentionPolicy:
    """The config's [prune] rules overridden by the options; raises ValueError on bad usage."""
    from tui.config import load_config

    config = load_config(Path(args.config).expanduser() if args.config else None)
    problems = [p for p in config.problems if p.startswith("prune") or "[prune]" in p]
    if problems:
        raise ValueError(f"{config.path}: " + "; ".join(problems))
    base = policy_from_text(**dict(config.prune))
    given = policy_from_text(
        keep_last=args.keep_last,
        unused_for=args.unused_for,
        below=args.below,
        keep=args.keep,
        dangling=args.dangling,
    )
    return base.merged(given)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of `imagedeck prune`; returns the exit code."""
    out = out or sys.stdout
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        policy = resolve_policy(args)
    except ValueError as exc:
        print(f"imagedeck prune: {visible(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    if policy.empty:
        print(
            "imagedeck prune: no rule given: use --keep-last, --unused-for, --below or "
            "--dangling (or a [prune] table in the config file)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.watch and not (args.yes and policy.below is not None):
        print("imagedeck prune: --watch needs --below and --yes", file=sys.stderr)
        return EXIT_USAGE
    try:
        from tui.service import ImageService

        service = ImageService.connect(args.host, args.context)
    except DaemonUnreachable as exc:
        print(f"imagedeck prune: {visible(str(exc))}", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        code = _once(service, policy, args, out)
        if args.watch and code in (EXIT_OK, EXIT_FAILED):
            return _watch(service, policy, args, out)
        return code
    except DaemonUnreachable as exc:
        print(f"imagedeck prune: {visible(str(exc))}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except ImagedeckError as exc:
        print(f"imagedeck prune: {visible(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        service.close()


def _once(
    service: Any,
    policy: RetentionPolicy,
    args: argparse.Namespace,
    out: TextIO,
    recorder: Any = None,
) -> int:
    """Plan, print, and with --yes run; the exit code."""
    from tui.service.lastused import LastUsedRecorder
    from tui.service.retention import gather, plan_retention, run_retention

    if recorder is None:
        recorder = LastUsedRecorder.open(service)
    plan = plan_retention(policy, gather(service, recorder.record))
    log = run_retention(service, plan) if args.yes and plan.delete.items else None
    if args.json:
        json.dump(plan_json(plan, service, log, dry_run=not args.yes), out, indent=2)
        out.write("\n")
    else:
        out.write(plan_text(plan, service.host, dry_run=not args.yes))
        if log is not None:
            out.write(outcome_text(log))
    out.flush()
    if log is not None and any(o.status == "failed" for o in log.outcomes):
        return EXIT_FAILED
    return EXIT_OK


def _watch(service: Any, policy: RetentionPolicy, args: argparse.Namespace, out: TextIO) -> int:
    """docuum's way: record container use from events; after a burst, apply the rules again.

    Images arriving (pull, load, import, tag) and containers created are what can push the
    disk over the target; the rules run again once events have been quiet for WATCH_QUIET
    seconds. Runs until interrupted, or until the daemon goes away (exit 3).
    """
    from tui.service.lastused import USE_ACTIONS, LastUsedRecorder

    recorder = LastUsedRecorder.open(service)
    events: queue.Queue[Any] = queue.Queue()
    stream = service.open_events()

    def pump() -> None:
        try:
            for event in stream:
                events.put(event)
        except ImagedeckError as exc:
            events.put(exc)
        events.put(None)

    threading.Thread(target=pump, name="prune-events", daemon=True).start()
    code = EXIT_OK
    pending = False
    try:
        while True:
            try:
                item = events.get(timeout=WATCH_QUIET if pending else None)
            except queue.Empty:
                pending = False
                code = _once(service, policy, args, out, recorder)
                continue
            if item is None:
                raise DaemonUnreachable(service.host, "the event stream ended")
            if isinstance(item, Exception):
                raise item
            recorder.observe(service, item)
            if (item.type == "image" and item.action in ("pull", "load", "import", "tag")) or (
                item.type == "container" and item.action in USE_ACTIONS
            ):
                pending = True
    except KeyboardInterrupt:
        return code
    finally:
        # Closing a stream that another thread is reading can block on some engines: close it
        # aside and exit whatever happens, so an interrupt always ends the watch.
        closer = threading.Thread(target=stream.close, name="prune-events-close", daemon=True)
        closer.start()
        closer.join(2.0)


# -- output ---------------------------------------------------------------------------------------


def _day(when: datetime | None) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if when else "unknown"


def plan_text(plan: Any, host: str, *, dry_run: bool) -> str:
    """The plan as a person reads it in a terminal or a cron mail."""
    lines = [
        f"imagedeck prune on {visible(host)}"
        + (" (dry run: nothing is removed; --yes runs it)" if dry_run else ""),
        f"rules: {visible(plan.policy.describe())}",
    ]
    if plan.since is not None:
        lines.append(
            f"last-used record since {_day(plan.since)} UTC "
            "(images not seen in use count as unused since then)"
        )
    from tui.service.cleanup import row_reference

    by_ref = {row_reference(p.row): p for p in plan.rows}
    if not plan.delete.items:
        lines.append("nothing to remove.")
    else:
        lines.append("")
        width = min(max(len(visible(i.reference)) for i in plan.delete.items), 48)
        for item in plan.delete.items:
            planned = by_ref.get(item.reference)
            why = planned.reason if planned else ""
            used = _day(planned.last_used) if planned else "unknown"
            lines.append(
                f"{item.action:<6} {visible(item.reference).ljust(width)}  {item.image.short_id}  "
                f"created {_day(item.image.created)}  last used {used}  {visible(why)}"
            )
    for kept in plan.kept:
        lines.append(f"kept   {visible(kept.label)}: {visible(kept.reason)}")
    exact = "" if plan.freed.exact else "about "
    deletes, untags = plan.delete.deletes, plan.delete.untags
    lines.append(
        f"{'would free' if dry_run else 'frees'} {exact}{fmt.size(plan.freed.bytes)} "
        f"({plan.freed.bytes} bytes): {deletes} image{'s' if deletes != 1 else ''} deleted, "
        f"{untags} tag{'s' if untags != 1 else ''} removed"
    )
    if plan.disk_before is not None and plan.policy.below is not None:
        after = plan.disk_after or 0
        lines.append(
            f"images use {fmt.size(plan.disk_before)}; after: {fmt.size(after)} "
            f"(target below {fmt.size(plan.policy.below)}"
            + ("" if after < plan.policy.below else ", not reachable by these rules")
            + ")"
        )
    return "\n".join(lines) + "\n"


def outcome_text(log: Any) -> str:
    """What the run did, one line per reference, then the total."""
    lines = [visible(o.line()) for o in log.outcomes]
    lines.append(f"{log.summary()}; {fmt.size(log.freed or 0)} freed ({log.freed or 0} bytes)")
    return "\n".join(lines) + "\n"


def plan_json(plan: Any, service: Any, log: Any, *, dry_run: bool) -> dict[str, Any]:
    """The plan (and the outcome) for machines; JSON escapes control characters itself."""
    from tui.service.cleanup import row_reference

    by_ref = {row_reference(p.row): p for p in plan.rows}
    items = []
    for item in plan.delete.items:
        planned = by_ref.get(item.reference)
        items.append(
            {
                "reference": item.reference,
                "action": item.action,
                "image_id": item.image.id,
                "created": item.image.created.isoformat(),
                "last_used": planned.last_used.isoformat()
                if planned and planned.last_used
                else None,
                "reason": planned.reason if planned else "",
            }
        )
    policy = plan.policy
    document: dict[str, Any] = {
        "dry_run": dry_run,
        "daemon": service.host,
        "rules": {
            "keep_last": policy.keep_last,
            "unused_for_seconds": policy.unused_for.total_seconds() if policy.unused_for else None,
            "below_bytes": policy.below,
            "keep": list(policy.keep),
            "dangling": policy.dangling,
        },
        "record_since": plan.since.isoformat() if plan.since else None,
        "items": items,
        "kept": [{"image": k.label, "reason": k.reason} for k in plan.kept],
        "freed_bytes": plan.freed.bytes,
        "freed_exact": plan.freed.exact,
        "disk_before_bytes": plan.disk_before,
        "disk_after_bytes": plan.disk_after,
    }
    if log is not None:
        document["outcomes"] = [
            {"subject": o.subject, "status": o.status, "detail": o.detail, "image_id": o.image_id}
            for o in log.outcomes
        ]
        document["freed_bytes_done"] = log.freed
    return document
