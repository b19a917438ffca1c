"""The fleet: several daemons seen as one image list (no Textual, no docker import of its own).

One ``ImageService`` per daemon; each list call fans out to every daemon in parallel threads
and tags each image with its daemon's name (``FleetImage.daemon``), so the list model can keep
equal image IDs on two daemons as two rows. A daemon that does not answer is reported as down
(with the reason) and the others' images are listed as usual.

Deletes and cleanups are planned per daemon and carried out on that daemon only: a fleet plan
is a mapping daemon name -> that daemon's plan, and every outcome says which daemon it was on.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

from tui.service.cleanup_plan import (
    DeleteItem,
    DeletePlan,
    Freed,
    Outcome,
    PruneOptions,
    PrunePlan,
    approximate_freed,
    plan_delete,
)
from tui.service.errors import DaemonUnreachable, ImagedeckError
from tui.service.models import DaemonEvent, DiskUsage, Image, ImageRow, summarize, with_usage

if TYPE_CHECKING:
    from tui.service.api import EventStreamAPI, ImageServiceAPI

# How long a daemon may take to answer the fleet's list before it is shown as down (seconds):
# one slow host must not hold the whole list.
LIST_TIMEOUT = 15.0
NAME_MAX = 16
# Seconds between attempts to reopen a daemon's broken event stream.
RETRY_EVENTS = 3.0
ItemT = TypeVar("ItemT")


# Passwords in URLs (``tcp://me:secret@h``) never reach the screen. connection.scrub_url does the
# same, but importing connection imports docker-py, which the list must not need to load.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^:/@\s]*):([^@\s/]*)@")


def scrub_url(text: str) -> str:
    """``text`` with URL passwords hidden (``tcp://me:secret@h`` -> ``tcp://me:***@h``)."""
    return _USERINFO.sub(r"\1\2:***@", text)


@dataclass(frozen=True)
class FleetImage(Image):
    """An image as one daemon of the fleet lists it: ``daemon`` is that daemon's name."""

    daemon: str = ""


def daemon_of(image: Image) -> str:
    """The fleet daemon an image was listed by ("" outside a fleet)."""
    return getattr(image, "daemon", "")


def tag_images(images: Iterable[Image], daemon: str) -> list[FleetImage]:
    """``images`` as ``daemon`` listed them (every field kept, the daemon name added)."""
    tagged: list[FleetImage] = []
    for image in images:
        values = {name: getattr(image, name) for name in Image.__dataclass_fields__}
        tagged.append(FleetImage(**values, daemon=daemon))
    return tagged


@dataclass(frozen=True)
class MemberSpec:
    """One daemon of the fleet: its short name and how to reach it (a host or a context)."""

    name: str
    host: str | None = None
    context: str | None = None

    @property
    def address(self) -> str:
        """The address in words (a host never shows a password)."""
        return scrub_url(self.host) if self.host else f"context {self.context}"


_NAMED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=(.+)$")


def _short_name(host: str) -> str:
    """A short daemon name from an address: ``tcp://build1:2376`` -> ``build1``;
    ``unix:///run/peer/docker.sock`` -> ``peer`` (the socket's directory, else its file)."""
    text = scrub_url(host)
    scheme, _, rest = text.partition("://")
    if not rest:
        rest = scheme
    if scheme == "unix" or rest.startswith("/"):
        parts = [p for p in rest.split("/") if p]
        stem = parts[-1].removesuffix(".sock") if parts else "local"
        if stem == "docker" and len(parts) >= 2:
            stem = parts[-2]
        return stem[:NAME_MAX] or "local"
    rest = rest.split("@", 1)[-1]
    return rest.split(":", 1)[0].split("/", 1)[0][:NAME_MAX] or "daemon"


def parse_members(hosts: Sequence[str] = (), contexts: Sequence[str] = ()) -> list[MemberSpec]:
    """Fleet members from ``--host`` values (``URL`` or ``NAME=URL``) and context names.

    Names are unique: a second daemon that would get the same name gets ``-2``, ``-3``...
    """
    return _members([(True, h) for h in hosts] + [(False, c) for c in contexts])


# The schemes a Docker host address may have (docker-py's and the CLI's).
HOST_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")
# A Docker context's name, as `docker context create` accepts it.
_CONTEXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def is_host_entry(text: str) -> bool:
    """True when a fleet entry is an address (``URL`` or ``NAME=URL``), not a context name."""
    return "://" in text or "=" in text


def entry_problem(text: object) -> str | None:
    """Why one fleet entry of the config file cannot be used, or None: an entry is a Docker
    context's name (``"build-1"``), a host address (``"tcp://build-2:2376"``) or ``NAME=URL``."""
    if not isinstance(text, str) or not text.strip():
        return f"{text!r} is not a context name or a host address"
    if not is_host_entry(text):
        if _CONTEXT_NAME.match(text):
            return None
        return f"{text!r} is not a Docker context name (letters, digits, _ . + -)"
    named = _NAMED.match(text)
    url = named.group(2) if named and "://" not in named.group(1) else text
    if "=" in text and not named:
        return f"{scrub_url(text)!r}: a name before '=' is letters, digits, _ . - (NAME=URL)"
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in HOST_SCHEMES or not rest:
        return (
            f"{scrub_url(text)!r} is not a host address "
            f"(schemes: {', '.join(s + '://' for s in HOST_SCHEMES)})"
        )
    return None


def parse_entries(entries: Sequence[str]) -> list[MemberSpec]:
    """Fleet members from the config file's ``fleet`` list, in its order: a context name, or a
    host (``URL`` or ``NAME=URL``); entries are checked first (``entry_problem``)."""
    return _members([(is_host_entry(e), e) for e in entries])


def _members(entries: Sequence[tuple[bool, str]]) -> list[MemberSpec]:
    """(is a host, text) pairs as members with unique names."""
    specs: list[MemberSpec] = []
    taken: set[str] = set()

    def unique(name: str) -> str:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name[: NAME_MAX - 3]}-{n}"
        taken.add(candidate)
        return candidate

    for is_host, text in entries:
        if not is_host:
            specs.append(MemberSpec(unique(text[:NAME_MAX]), context=text))
            continue
        named = _NAMED.match(text)
        if named and "://" not in named.group(1):
            name, host = named.group(1)[:NAME_MAX], named.group(2)
        else:
            name, host = _short_name(text), text
        specs.append(MemberSpec(unique(name), host=host))
    return specs


@dataclass(frozen=True)
class DaemonState:
    """One daemon's line in the fleet summary: up with its totals, or down with the reason."""

    name: str
    address: str
    up: bool
    reason: str = ""
    images: int = 0
    tags: int = 0
    logical: int = 0
    disk: int | None = None


@dataclass(frozen=True)
class FleetListing:
    """What one fan-out list returned: every image (tagged with its daemon) and each state."""

    images: tuple[FleetImage, ...]
    states: tuple[DaemonState, ...]
    usage: dict[str, DiskUsage] = field(default_factory=dict)

    @property
    def down(self) -> tuple[DaemonState, ...]:
        """The daemons that did not answer."""
        return tuple(s for s in self.states if not s.up)


@dataclass(frozen=True)
class FleetOutcome:
    """One delete's outcome, and the daemon it was carried out on."""

    daemon: str
    outcome: Outcome


def group_rows(rows: Iterable[ImageRow]) -> dict[str, list[ImageRow]]:
    """Rows by daemon, daemons in first-seen order."""
    grouped: dict[str, list[ImageRow]] = {}
    for row in rows:
        grouped.setdefault(daemon_of(row.image), []).append(row)
    return grouped


@dataclass(frozen=True)
class PlanLine:
    """One thing a fleet plan will do on one daemon, in words."""

    action: str  # "delete" or "untag"
    subject: str  # a reference, or "<none> <short id>"
    detail: str = ""  # what stays (the tags an untag keeps), what is special


@dataclass(frozen=True)
class FleetGroup:
    """A daemon's part of a fleet plan: its lines, what they free, or why there are none."""

    daemon: str
    lines: tuple[PlanLine, ...]
    freed: Freed | None = None
    problem: str = ""  # why nothing is planned there (the daemon is down, planning failed)
    note: str = ""  # images kept for their children, engine differences


@dataclass(frozen=True)
class FleetPlan:
    """What a fleet delete or cleanup will do, grouped by daemon, and the plans to carry out.

    ``deletes`` (marked rows) or ``prunes`` (the cleanup wizard) hold each daemon's own plan;
    carrying it out (``Fleet.execute``) hands each daemon exactly its part.
    """

    kind: str  # "delete" or "cleanup"
    groups: tuple[FleetGroup, ...]
    deletes: dict[str, DeletePlan] = field(default_factory=dict)
    prunes: dict[str, PrunePlan] = field(default_factory=dict)
    what: str = ""  # the cleanup options in words

    @property
    def count(self) -> int:
        """How many steps (references or images) the plan hands the daemons."""
        return sum(len(g.lines) for g in self.groups)

    def removes(self) -> dict[str, tuple[str, ...]]:
        """The image IDs each daemon will no longer have once the plan has run."""
        if self.kind == "delete":
            return {name: plan.removed_ids for name, plan in self.deletes.items()}
        return {name: tuple(c.image.id for c in p.candidates) for name, p in self.prunes.items()}


def _detail(item: DeleteItem) -> str:
    """What the preview says beside an item: the tags an untag keeps, or that a container
    holds the image (the daemon refuses that delete; it is never forced here)."""
    if item.action == "untag":
        return f"keeps {', '.join(item.keeps)}" if item.keeps else ""
    if item.in_use:
        return "a container uses it: the daemon will refuse"
    return ""


def _subject(image: Image) -> str:
    return ", ".join(image.tags) or f"<none> {image.short_id}"


def plan_fleet_delete(
    rows: Sequence[ImageRow], images: Sequence[Image] = (), names: Sequence[str] = ()
) -> FleetPlan:
    """Per daemon, what deleting its marked rows hands that daemon (``plan_delete`` each).

    ``images`` (the fleet's listing) gives each daemon's estimate of the space freed; groups
    follow ``names`` (the fleet's order), then first-seen order.
    """
    grouped = group_rows(rows)
    order = [n for n in names if n in grouped] + [n for n in grouped if n not in names]
    deletes: dict[str, DeletePlan] = {}
    groups: list[FleetGroup] = []
    for daemon in order:
        plan = plan_delete(grouped[daemon])
        deletes[daemon] = plan
        lines = tuple(PlanLine(item.action, item.reference, _detail(item)) for item in plan.items)
        theirs = [i for i in images if daemon_of(i) == daemon]
        freed = approximate_freed(plan.removed_ids, theirs) if theirs else None
        groups.append(FleetGroup(daemon, lines, freed))
    return FleetPlan("delete", tuple(groups), deletes=deletes)


ServiceFactory = Callable[[MemberSpec], "ImageServiceAPI"]


def connect_member(spec: MemberSpec) -> ImageServiceAPI:
    """Connect to one member like ``imagedeck --host/--context`` does (imports docker-py)."""
    from tui.service.facade import ImageService

    return ImageService.connect(spec.host, spec.context)


class Fleet:
    """Several daemons: one service each, connected lazily and again after a failure."""

    def __init__(self, specs: Sequence[MemberSpec], factory: ServiceFactory = connect_member):
        if not specs:
            raise ValueError("a fleet needs at least one daemon")
        self.specs = tuple(specs)
        self._factory = factory
        self._services: dict[str, ImageServiceAPI] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._streams: dict[str, EventStreamAPI] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The daemons' names, in the order given."""
        return tuple(s.name for s in self.specs)

    def spec(self, name: str) -> MemberSpec:
        """The member called ``name``."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def service(self, name: str) -> ImageServiceAPI:
        """The service of daemon ``name``, connecting first if needed (DaemonUnreachable)."""
        with self._lock:
            found = self._services.get(name)
        if found is not None:
            return found
        service = self._factory(self.spec(name))
        with self._lock:
            if self._closed:
                service.close()
                raise DaemonUnreachable(self.spec(name).address, "the fleet view was closed")
            found = self._services.setdefault(name, service)
        if found is not service:
            service.close()
        return found

    def connected(self, name: str) -> ImageServiceAPI | None:
        """Daemon ``name``'s service if it is connected already, else None (never connects:
        safe to call from the UI thread)."""
        with self._lock:
            return self._services.get(name)

    def _map(
        self,
        call: Callable[[str], object],
        names: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> dict[str, object]:
        """``call(name)`` for every daemon (or ``names``) in parallel; each result or the
        exception raised. With ``timeout``, a daemon still silent after that many seconds gets
        DaemonUnreachable and is not waited for (its thread ends with its client's timeout)."""
        results: dict[str, object] = {}
        chosen = list(self.names if names is None else names)
        if not chosen:
            return results
        pool = ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="fleet")
        try:
            futures = {name: pool.submit(call, name) for name in chosen}
            wait(futures.values(), timeout=timeout)
            for name, future in futures.items():
                if not future.done():
                    results[name] = DaemonUnreachable(
                        self.spec(name).address, f"no answer within {timeout:g} s"
                    )
                    continue
                try:
                    results[name] = future.result()
                except Exception as exc:  # each daemon's failure is its own, never the fleet's
                    results[name] = exc
        finally:
            pool.shutdown(wait=False)
        return results

    def list_all(self) -> FleetListing:
        """Every daemon's images and disk usage, asked in parallel; down daemons say why."""

        def one(name: str) -> tuple[list[Image], DiskUsage]:
            service = self.service(name)
            return service.list_images(), service.disk_usage()

        images: list[FleetImage] = []
        states: list[DaemonState] = []
        usages: dict[str, DiskUsage] = {}
        for name, result in self._map(one, timeout=LIST_TIMEOUT).items():
            address = self.spec(name).address
            if isinstance(result, BaseException):
                reason = str(result) if isinstance(result, ImagedeckError) else repr(result)
                states.append(DaemonState(name, address, up=False, reason=reason))
                continue
            listed, usage = cast("tuple[list[Image], DiskUsage]", result)
            merged = with_usage(listed, usage)
            summary = summarize(merged, usage)
            usages[name] = usage
            images.extend(tag_images(merged, name))
            states.append(
                DaemonState(
                    name,
                    address,
                    up=True,
                    images=summary.count,
                    tags=summary.tags,
                    logical=summary.logical_size,
                    disk=summary.disk_size,
                )
            )
        return FleetListing(tuple(images), tuple(states), usages)

    def delete(
        self,
        plans: dict[str, DeletePlan],
        stop: threading.Event | None = None,
        progress: Callable[[FleetOutcome], object] | None = None,
    ) -> list[FleetOutcome]:
        """Carry out each daemon's plan on that daemon (daemons in parallel, items in order).

        A daemon that cannot be reached gives a failed outcome for each of its items; the
        other daemons go on.
        """
        return self._remove_on_each(
            {name: plan.items for name, plan in plans.items()},
            lambda service, item: service.remove_reference(item),
            lambda item: (item.reference, item.image.id),
            stop,
            progress,
        )

    def plan_cleanup(self, options: PruneOptions, only: Sequence[str] = ()) -> FleetPlan:
        """Each daemon's cleanup plan for ``options`` (asked in parallel), grouped by daemon.

        Every daemon (or those named in ``only``) is asked, one shown as down too (it may be
        back); a daemon that cannot plan gets a group saying why, with nothing planned there.
        """
        prunes: dict[str, PrunePlan] = {}
        groups: list[FleetGroup] = []
        names = [n for n in self.names if n in only] if only else None
        results = self._map(lambda n: self.service(n).plan_prune(options), names)
        for name, result in results.items():
            if not isinstance(result, PrunePlan):
                why = str(result) if isinstance(result, ImagedeckError) else repr(result)
                groups.append(FleetGroup(name, (), problem=f"not planned: {why}"))
                continue
            prunes[name] = result
            lines = tuple(PlanLine("delete", _subject(c.image)) for c in result.candidates)
            notes = []
            if result.kept_for_children:
                notes.append(
                    f"kept, images are built on them: {', '.join(result.kept_for_children)}"
                )
            if result.in_use:
                notes.append(f"{result.in_use} in use by containers, kept")
            if result.note:
                notes.append(result.note)
            groups.append(FleetGroup(name, lines, result.freed, note="; ".join(notes)))
        return FleetPlan("cleanup", tuple(groups), prunes=prunes, what=options.describe())

    def execute(
        self,
        plan: FleetPlan,
        stop: threading.Event | None = None,
        progress: Callable[[FleetOutcome], object] | None = None,
    ) -> list[FleetOutcome]:
        """Carry out ``plan``: each daemon's part on that daemon, outcomes grouped by daemon."""
        if plan.kind == "delete":
            return self.delete(plan.deletes, stop, progress)
        return self.run_prune(plan.prunes, stop, progress)

    def run_prune(
        self,
        plans: dict[str, PrunePlan],
        stop: threading.Event | None = None,
        progress: Callable[[FleetOutcome], object] | None = None,
    ) -> list[FleetOutcome]:
        """Remove exactly each plan's candidates, each on its own daemon."""
        return self._remove_on_each(
            {name: plan.candidates for name, plan in plans.items()},
            lambda service, candidate: service.remove_image_fully(candidate.image),
            lambda candidate: (candidate.label, ""),
            stop,
            progress,
        )

    def _remove_on_each(
        self,
        items: Mapping[str, Sequence[ItemT]],
        remove: Callable[[ImageServiceAPI, ItemT], Outcome],
        subject: Callable[[ItemT], tuple[str, str]],
        stop: threading.Event | None,
        progress: Callable[[FleetOutcome], object] | None,
    ) -> list[FleetOutcome]:
        """Remove each daemon's ``items`` on that daemon (daemons in parallel, items in order).

        The fan-out of ``delete`` and ``run_prune``. ``subject`` gives an item's (name, image
        ID) for a failed outcome: after ``stop`` the rest are failed "not attempted: stopped";
        an item the daemon cannot be reached for fails with the reason, and the next is tried.
        """
        stop = stop or threading.Event()
        outcomes: list[FleetOutcome] = []
        lock = threading.Lock()

        def one(name: str) -> None:
            for item in items.get(name, ()):
                label, image_id = subject(item)
                if stop.is_set():
                    outcome = Outcome(label, "failed", "not attempted: stopped")
                else:
                    try:
                        outcome = remove(self.service(name), item)
                    except ImagedeckError as exc:
                        outcome = Outcome(label, "failed", str(exc), image_id, unreachable=True)
                result = FleetOutcome(name, outcome)
                with lock:
                    outcomes.append(result)
                if progress is not None:
                    progress(result)

        self._map(one)
        return _in_fleet_order(outcomes, self.names)

    def follow_events(
        self, on_event: Callable[[str, DaemonEvent | None], object], stop: threading.Event
    ) -> list[threading.Thread]:
        """One thread per daemon reading its events; ``on_event(name, event)`` for each.

        ``on_event(name, None)`` says the daemon's stream broke or, after that, opened again (it
        is retried every RETRY_EVENTS seconds until ``stop`` is set). Closing: set ``stop``
        and call ``close_events``.
        """
        threads = []
        for name in self.names:
            thread = threading.Thread(
                target=self._events_loop,
                args=(name, on_event, stop),
                name=f"fleet-events-{name}",
                daemon=True,
            )
            thread.start()
            threads.append(thread)
        return threads

    def _events_loop(
        self,
        name: str,
        on_event: Callable[[str, DaemonEvent | None], object],
        stop: threading.Event,
    ) -> None:
        broken = False
        while not stop.is_set():
            try:
                stream = self.service(name).open_events()
                with self._lock:
                    self._streams[name] = stream
                if stop.is_set():
                    stream.close()
                    return
                if broken:
                    on_event(name, None)  # back: what changed meanwhile is listed again
                    broken = False
                for event in stream:
                    on_event(name, event)
                    if stop.is_set():
                        return
            except ImagedeckError:
                pass
            if stop.is_set():
                return
            if not broken:
                on_event(name, None)  # down: the list says so
                broken = True
            stop.wait(RETRY_EVENTS)

    def close_events(self) -> None:
        """Close every open event stream (from any thread)."""
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            stream.close()

    def close(self) -> None:
        """Close every event stream and every daemon's client."""
        self.close_events()
        with self._lock:
            self._closed = True
            services, self._services = list(self._services.values()), {}
        for service in services:
            service.close()


def _in_fleet_order(outcomes: list[FleetOutcome], names: Sequence[str]) -> list[FleetOutcome]:
    """Outcomes grouped by daemon in fleet order (each daemon's in the order carried out)."""
    rank = {name: n for n, name in enumerate(names)}
    return sorted(outcomes, key=lambda o: rank.get(o.daemon, len(rank)))
