"""The fleet layer against real daemons: the sandbox daemon, the same daemon through a proxy that
can be cut (a second endpoint that goes down), and the sandbox's peer daemon.

Every figure is checked with the docker CLI against each daemon's own socket. Images made here
are commits or tags of ``imagedeck/busybox:latest`` under a unique name, removed afterwards; the
seeded images are never touched (the cleanup is filtered to this test's own repository).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.daemon_proxy import DaemonProxy
from tui.listmodel import ImageListModel
from tui.service.cleanup_plan import PruneOptions
from tui.service.fleet import Fleet, FleetListing, MemberSpec, daemon_of, parse_members


@pytest.fixture
def proxy(sandbox: Sandbox, tmp_path: Path) -> Iterator[DaemonProxy]:
    """The sandbox daemon reached through a proxy that the test can cut."""
    found = DaemonProxy(sandbox.socket_path, tmp_path / "docker.sock")
    yield found
    found.close()


def cli_ids(cli: DockerCli) -> set[str]:
    """Image IDs as `docker images` lists them (tagged and dangling)."""
    out = cli("images", "-q", "--no-trunc", check=True).stdout.split()
    return set(out)


def cli_rows(cli: DockerCli) -> int:
    """Rows `docker images` shows (one per tag; an untagged image is one row)."""
    return len(cli("images", "--format", "{{.ID}}", check=True).stdout.split())


def listed_between(fleet: Fleet, cli: DockerCli) -> tuple[FleetListing, set[str], int]:
    """The fleet's listing with the CLI's IDs and row count taken just before and just after it
    (the shared daemon also serves other tests: a listing taken while they changed images is
    taken again)."""
    for _ in range(5):
        before = (cli_ids(cli), cli_rows(cli))
        listing = fleet.list_all()
        after = (cli_ids(cli), cli_rows(cli))
        if before == after:
            return listing, before[0], before[1]
    raise AssertionError("the daemon's images kept changing under the test")


def committed(cli: DockerCli, reference: str) -> str:
    """A new image (a commit of a container of the base image) tagged ``reference``; its ID."""
    name = f"fleet-{uuid.uuid4().hex[:8]}"
    cli("create", "--name", name, BASE_IMAGE, "true", check=True)
    try:
        cli("commit", name, reference, check=True)
    finally:
        cli("rm", name)
    return str(cli("image", "inspect", "-f", "{{.Id}}", reference, check=True).stdout.strip())


def two_endpoints(sandbox: Sandbox, proxy: DaemonProxy) -> Fleet:
    """The sandbox daemon twice: ``direct`` on its socket, ``proxied`` through the proxy."""
    return Fleet(parse_members([f"direct={sandbox.docker_host}", f"proxied={proxy.docker_host}"]))


def test_two_endpoints_list_both(
    sandbox: Sandbox, proxy: DaemonProxy, docker_cli: DockerCli
) -> None:
    fleet = two_endpoints(sandbox, proxy)
    try:
        listing, truth, rows_by_cli = listed_between(fleet, docker_cli)
    finally:
        fleet.close()
    assert [s.name for s in listing.states] == ["direct", "proxied"]
    assert all(s.up for s in listing.states)
    model = ImageListModel()
    model.set_images(listing.images)
    for name in ("direct", "proxied"):
        ids = {i.id for i in listing.images if daemon_of(i) == name}
        assert ids == truth
        rows = [r for r in model.rows if daemon_of(r.image) == name]
        assert len(rows) == rows_by_cli
        state = next(s for s in listing.states if s.name == name)
        assert state.images == len(ids)
    # One image ID on both endpoints is two rows, not one.
    assert len(model.rows) == 2 * rows_by_cli


def test_a_cut_endpoint_is_down_and_the_other_still_lists(
    sandbox: Sandbox, proxy: DaemonProxy, docker_cli: DockerCli
) -> None:
    fleet = two_endpoints(sandbox, proxy)
    try:
        assert all(s.up for s in fleet.list_all().states)
        proxy.cut()
        listing, truth, _ = listed_between(fleet, docker_cli)
        states = {s.name: s for s in listing.states}
        assert states["direct"].up and not states["proxied"].up
        assert states["proxied"].reason  # a sentence saying why
        assert {daemon_of(i) for i in listing.images} == {"direct"}
        assert {i.id for i in listing.images} == truth
        proxy.restore()
        assert all(s.up for s in fleet.list_all().states)
    finally:
        fleet.close()


def test_a_frozen_endpoint_is_down_and_does_not_hold_the_list(
    sandbox: Sandbox, proxy: DaemonProxy, docker_cli: DockerCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A daemon that accepts connections and never answers (kill -STOP): the list does not wait
    # for its client's timeout; it is shown down after the fleet's own bound.
    import tui.service.fleet as fleet_module

    monkeypatch.setattr(fleet_module, "LIST_TIMEOUT", 2.0)
    fleet = two_endpoints(sandbox, proxy)
    try:
        assert all(s.up for s in fleet.list_all().states)
        proxy.freeze()
        listing, truth, _ = listed_between(fleet, docker_cli)
        states = {s.name: s for s in listing.states}
        assert states["direct"].up and not states["proxied"].up
        assert "no answer within 2 s" in states["proxied"].reason
        assert {i.id for i in listing.images} == truth
    finally:
        proxy.thaw()
        fleet.close()


def test_each_delete_goes_to_its_own_endpoint(
    sandbox: Sandbox, proxy: DaemonProxy, docker_cli: DockerCli
) -> None:
    uid = uuid.uuid4().hex[:8]
    first, second = f"test/fleet-{uid}:direct", f"test/fleet-{uid}:proxied"
    docker_cli("tag", BASE_IMAGE, first, check=True)
    docker_cli("tag", BASE_IMAGE, second, check=True)
    fleet = two_endpoints(sandbox, proxy)
    try:
        model = ImageListModel()
        model.set_images(fleet.list_all().images)
        for row in model.rows:
            if (daemon_of(row.image), row.reference) in (("direct", first), ("proxied", second)):
                model.marks.add(f"{daemon_of(row.image)}|{row.image.id}|{row.reference}")
        from tui.service.fleet import plan_fleet_delete

        plan = plan_fleet_delete(model.marked_rows(), names=fleet.names)
        assert [(g.daemon, [line.subject for line in g.lines]) for g in plan.groups] == [
            ("direct", [first]),
            ("proxied", [second]),
        ]
        proxy.requests.clear()
        outcomes = fleet.execute(plan)
    finally:
        fleet.close()
        docker_cli("rmi", first)
        docker_cli("rmi", second)
    assert [(o.daemon, o.outcome.subject, o.outcome.status) for o in outcomes] == [
        ("direct", first, "untagged"),
        ("proxied", second, "untagged"),
    ]
    deletes = [r for r in proxy.requests if r.startswith(b"DELETE")]
    assert len(deletes) == 1 and f"fleet-{uid}".encode() in deletes[0]
    assert b"proxied" in deletes[0] and b"direct" not in deletes[0]
    tags = docker_cli("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout.split()
    assert first not in tags and second not in tags


@pytest.fixture
def fleet_pair(sandbox: Sandbox, peer_host: str) -> Iterator[Fleet]:
    """The sandbox daemon and its peer (two real daemons)."""
    fleet = Fleet(
        [MemberSpec("main", host=sandbox.docker_host), MemberSpec("peer", host=peer_host)]
    )
    yield fleet
    fleet.close()


def test_two_daemons_list_each_its_own(
    fleet_pair: Fleet, docker_cli: DockerCli, peer_cli: DockerCli
) -> None:
    listing, truth, _ = listed_between(fleet_pair, docker_cli)

    def by_daemon(name: str) -> set[str]:
        return {i.id for i in listing.images if daemon_of(i) == name}

    assert by_daemon("main") == truth
    assert by_daemon("peer") == cli_ids(peer_cli)
    states = {s.name: s for s in listing.states}
    assert states["peer"].images == len(cli_ids(peer_cli))
    assert states["main"].images == len(truth)


def test_cross_daemon_cleanup_removes_what_the_preview_listed(
    fleet_pair: Fleet, docker_cli: DockerCli, peer_cli: DockerCli
) -> None:
    uid = uuid.uuid4().hex[:8]
    repository = f"test/fleet-clean-{uid}"
    made = {
        "main": {
            committed(docker_cli, f"{repository}:a"),
            committed(docker_cli, f"{repository}:b"),
        },
        "peer": {committed(peer_cli, f"{repository}:c")},
    }
    try:
        plan = fleet_pair.plan_cleanup(PruneOptions(mode="unused", filter_text=repository))
        planned = {name: set(ids) for name, ids in plan.removes().items()}
        # The preview is exactly this test's images, each under its own daemon.
        assert planned == made
        assert [g.daemon for g in plan.groups] == ["main", "peer"]
        before = {"main": cli_ids(docker_cli), "peer": cli_ids(peer_cli)}
        outcomes = fleet_pair.execute(plan)
        after = {"main": cli_ids(docker_cli), "peer": cli_ids(peer_cli)}
    finally:
        for cli in (docker_cli, peer_cli):
            for tag in ("a", "b", "c"):
                cli("rmi", f"{repository}:{tag}")
    assert all(o.outcome.status == "deleted" for o in outcomes), outcomes
    assert sorted((o.daemon, o.outcome.image_id) for o in outcomes) == sorted(
        (name, image_id) for name, ids in made.items() for image_id in ids
    )
    for name in ("main", "peer"):
        # What each daemon lost is what its part of the preview listed.
        assert planned[name] <= before[name]
        assert not planned[name] & after[name]
