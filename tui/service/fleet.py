"""The fleet: several daemons seen as one image list (no Textual, no docker import of its own).

One ``ImageService`` per daemon; each list call fans out to every daemon in parallel threads
and tags each image with its daemon's name (``FleetImage.daemon``), so the list model can keep
equal image IDs on two daemons as two rows. A daemon that does not answer is reported as down
(with the reason) and the others' images are listed as usual.

Deletes and cleanups are planned per daemon and carried out on that daemon only: a fleet plan
is a mapping daemon name -> that daemon's plan, and every outcome says which daemon it was on.

Who is in the fleet (members from ``--host``/``--context`` and the config file, the images
tagged with their daemon) is ``tui.service.fleet_members``; the plans, pure, are
``tui.service.fleet_plan``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

from tui.service.cleanup_plan import (
    DeletePlan,
    Outcome,
    PruneOptions,
    PrunePlan,
)
from tui.service.errors import DaemonUnreachable, ImagedeckError
from tui.service.fleet_members import (
    HOST_SCHEMES,
    NAME_MAX,
    FleetImage,
    MemberSpec,
    daemon_of,
    entry_problem,
    is_host_entry,
    parse_entries,
    parse_members,
    scrub_url,
    tag_images,
)
from tui.service.fleet_plan import (
    FleetGroup,
    FleetOutcome,
    FleetPlan,
    PlanLine,
    group_rows,
    plan_fleet_delete,
    subject_of,
)
from tui.service.models import DaemonEvent, DiskUsage, Image, summarize, with_usage

if TYPE_CHECKING:
    from tui.service.api import EventStreamAPI, ImageServiceAPI

# Who is in the fleet (fleet_members.py) and the fleet's plans (fleet_plan.py) have modules of
# their own; their names stay importable from here.
__all__ = [
    "HOST_SCHEMES",
    "NAME_MAX",
    "FleetGroup",
    "FleetImage",
    "FleetOutcome",
    "FleetPlan",
    "MemberSpec",
    "PlanLine",
    "daemon_of",
    "entry_problem",
    "group_rows",
    "is_host_entry",
    "parse_entries",
    "parse_members",
    "plan_fleet_delete",
    "scrub_url",
    "tag_images",
]

# How long a daemon may take to answer the fleet's list before it is shown as down (seconds):
# one slow host must not hold the whole list.
LIST_TIMEOUT = 15.0
# Seconds between attempts to reopen a daemon's broken event stream.
RETRY_EVENTS = 3.0
ItemT = TypeVar("ItemT")


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
            lines = tuple(PlanLine("delete", subject_of(c.image)) for c in result.candidates)
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

        # An unexpected error (a bug, not a daemon's answer) is not dropped with the rest of
        # its daemon's steps: raised once every daemon has finished, so the caller's failure
        # path (the UI's worker failure: logged, shown) sees it.
        for result in self._map(one).values():
            if isinstance(result, Exception):
                raise result
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
