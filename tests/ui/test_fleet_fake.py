"""The fleet view against fake daemons: fast and deterministic (the fleet snapshots use these).

Two ``CleanupFake`` daemons, ``alpha`` (the sandbox-shaped set) and ``beta`` (a few images, one
with the same ID as alpha's base), optionally a third that is down. The real-daemon tests are
``tests/service/test_fleet_daemon.py`` and ``tests/e2e/test_fleet_pty.py``.
"""

from __future__ import annotations

from typing import Any

from tests.ui.fake import demo_images, make_app, make_image
from tests.ui.pilot import ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tui.listmodel import ImageListModel, row_key
from tui.modals.contexts import ContextsScreen
from tui.modals.fleet import FleetPlanDialog
from tui.screens.fleet import FleetScreen
from tui.service.connection import ContextInfo
from tui.service.fleet import Fleet, MemberSpec, parse_members, tag_images
from tui.widgets.image_table import header_text


def beta_fake() -> CleanupFake:
    """A second daemon: the same base image ID as alpha, two images of its own, one dangling."""
    fake = CleanupFake()
    fake.containers = []
    fake.images = [
        demo_images()[0],  # imagedeck/busybox:latest, the same ID as on alpha
        make_image(20, ("team/api:3",), size=5_000_000, shared=1_983_000, age_days=2),
        make_image(21, (), dangling=True, size=4_000_000, shared=1_983_000, age_days=6),
    ]
    fake.endpoint = type(fake.endpoint)(host="tcp://beta.example:2376", source="test")
    return fake


def fleet_of(fakes: dict[str, CleanupFake]) -> Fleet:
    """A fleet whose members are the given fakes (by name)."""
    specs = [MemberSpec(name, host=fake.endpoint.host) for name, fake in fakes.items()]
    return Fleet(specs, lambda spec: fakes[spec.name])


async def open_fleet(pilot: Any, fleet: Fleet) -> FleetScreen:
    """Push the fleet view and wait for its first listing."""
    await ready(pilot)
    screen = FleetScreen(fleet)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.listing is not None, "the fleet listing")
    await pilot.pause()
    return screen


def shown(screen: FleetScreen) -> list[tuple[str, str]]:
    """(daemon, reference) of every row shown, in order."""
    return [(getattr(r.image, "daemon", ""), r.reference) for r in screen.model.visible]


def test_equal_ids_on_two_daemons_are_two_rows() -> None:
    base = demo_images()[0]
    model = ImageListModel()
    model.set_images(tag_images([base], "alpha") + tag_images([base], "beta"))
    assert len(model.visible) == 2
    assert len({row_key(r) for r in model.visible}) == 2
    model.set_filter("beta")  # the filter matches the daemon's name too
    assert [getattr(r.image, "daemon", "") for r in model.visible] == ["beta"]


def test_daemon_column_only_with_several_daemons() -> None:
    assert "DAEMON" not in header_text(120)
    assert header_text(120, daemon=True).lstrip().startswith("DAEMON")
    assert "DAEMON" in header_text(80, daemon=True)


def test_member_names() -> None:
    specs = parse_members(
        ["unix:///run/a/docker.sock", "build=tcp://me:secret@b:2376", "unix:///x/a/docker.sock"]
    )
    assert [s.name for s in specs] == ["a", "build", "a-2"]
    assert specs[1].address == "tcp://me:***@b:2376"


async def test_fleet_lists_both_with_totals() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        rows = shown(screen)
        assert ("alpha", "imagedeck/busybox:latest") in rows
        assert ("beta", "imagedeck/busybox:latest") in rows
        assert len(rows) == 14 + 3  # alpha's 14 rows (one per tag) and beta's 3
        daemons = str(screen.query_one("#fleet-daemons").render())
        assert "alpha  11 images · 14 tags" in daemons
        assert "beta  3 images · 3 tags" in daemons
        summary = str(screen.query_one("#summary").render())
        assert summary.startswith("2 daemons · 14 images · 17 tags")
        assert "DAEMON" in str(screen.query_one("#table-header").render())
        # Sort by size across both daemons: beta's 5 MB image comes first.
        await pilot.press("o", "o")  # created -> repository -> size
        assert screen.model.sort.id == "size"
        assert shown(screen)[0] == ("beta", "team/api:3")
        # Filter across both: "busybox" shows one row per daemon.
        await pilot.press("slash", *"busybox", "enter")
        assert sorted(shown(screen)) == [
            ("alpha", "imagedeck/busybox:latest"),
            ("beta", "imagedeck/busybox:latest"),
        ]


async def test_a_down_daemon_is_shown_down_and_the_others_listed() -> None:
    alpha, beta, gone = CleanupFake(), beta_fake(), beta_fake()
    gone.down = True
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta, "gamma": gone}))
        daemons = str(screen.query_one("#fleet-daemons").render())
        assert "✖ gamma  DOWN: " in daemons and "connection refused (test)" in daemons
        assert "(1 down)" in str(screen.query_one("#summary").render())
        assert {d for d, _ in shown(screen)} == {"alpha", "beta"}
        # It comes back: the next reload lists it.
        gone.down = False
        await pilot.press("R")
        await wait_for(pilot, lambda: "gamma" in {d for d, _ in shown(screen)}, "gamma back")
        assert "DOWN" not in str(screen.query_one("#fleet-daemons").render())


async def test_delete_marked_across_daemons_each_on_its_own() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        for daemon, reference in (("alpha", "demo/app:1.2"), ("beta", "team/api:3")):
            index = shown(screen).index((daemon, reference))
            screen.model.cursor = index
            await pilot.press("space")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the preview")
        dialog = app.screen
        body = str(dialog.query_one("#fleet-plan-text").render())
        assert "alpha — 1 to delete" in body and "delete demo/app:1.2" in body
        assert "beta — 1 to delete" in body and "delete team/api:3" in body
        assert body.index("alpha") < body.index("demo/app:1.2") < body.index("beta")
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.stage == "done", "the outcomes")
        results = str(dialog.query_one("#fleet-plan-text").render())
        assert "alpha — 1 deleted" in results and "beta — 1 deleted" in results
        # Each delete went to its own daemon only.
        assert alpha.removed == [CleanupFake.images_by_n(3)]
        assert beta.removed == [CleanupFake.images_by_n(20)]
        await pilot.press("escape")
        await wait_for(pilot, lambda: ("beta", "team/api:3") not in shown(screen), "reload")
        assert ("alpha", "demo/app:1.2") not in shown(screen)


async def test_cleanup_preview_grouped_then_removed_on_each() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the wizard")
        dialog = app.screen
        await pilot.press("d")
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        assert dialog.plan is not None
        planned = dialog.plan.removes()
        assert planned == {
            "alpha": (CleanupFake.images_by_n(7),),
            "beta": (CleanupFake.images_by_n(21),),
        }
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.stage == "done", "the outcomes")
        assert tuple(alpha.removed) == planned["alpha"]
        assert tuple(beta.removed) == planned["beta"]


async def test_events_from_any_daemon_reload_the_list() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        beta.images.append(make_image(22, ("team/new:1",)))
        beta.emit("image", "tag", CleanupFake.images_by_n(22))
        await wait_for(pilot, lambda: ("beta", "team/new:1") in shown(screen), "the event")


async def test_marking_several_contexts_opens_the_fleet() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    contexts = [
        ContextInfo("alpha", "unix:///fake/docker.sock", current=True),
        ContextInfo("beta", "tcp://beta.example:2376"),
    ]
    fakes = {"alpha": alpha, "beta": beta}
    app = make_app(alpha, context_lister=lambda: contexts, context_factory=fakes.__getitem__)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ContextsScreen), "the switcher")
        await pilot.press("space", "space", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), "the fleet view")
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        await wait_for(pilot, lambda: screen.listing is not None, "the listing")
        assert {d for d, _ in shown(screen)} == {"alpha", "beta"}
        await pilot.press("escape")  # back to the single-daemon list
        await wait_for(pilot, lambda: app.screen is app.images_screen, "the list")


async def test_a_filter_naming_a_daemon_cleans_up_that_daemon_only() -> None:
    alpha, beta = CleanupFake(), beta_fake()
    app = make_app(alpha)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_fleet(pilot, fleet_of({"alpha": alpha, "beta": beta}))
        await pilot.press("slash", *"beta", "enter", "X")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetPlanDialog), "the wizard")
        dialog = app.screen
        assert "Clean up on beta" in str(dialog.query_one("#fleet-plan-title").render())
        await pilot.press("d")
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        assert dialog.plan is not None
        assert dialog.plan.removes() == {"beta": (CleanupFake.images_by_n(21),)}
        await pilot.press("escape")  # nothing removed anywhere
        assert alpha.removed == [] and beta.removed == []


def test_events_thread_reports_a_broken_stream_and_its_return(
    monkeypatch: Any,
) -> None:
    import queue
    import threading

    import tui.service.fleet as fleet_module

    monkeypatch.setattr(fleet_module, "RETRY_EVENTS", 0.05)
    alpha = CleanupFake()
    fleet = fleet_of({"alpha": alpha})
    seen: queue.Queue[tuple[str, str]] = queue.Queue()
    stop = threading.Event()
    fleet.follow_events(
        lambda name, event: seen.put((name, event.action if event else "<state>")), stop
    )
    try:
        alpha.emit("image", "tag", "x")
        assert seen.get(timeout=10) == ("alpha", "tag")
        alpha.down = True
        alpha.drop_connection()  # the stream breaks and cannot be opened again
        assert seen.get(timeout=10) == ("alpha", "<state>")
        alpha.down = False  # back: the stream is opened again, and that is reported once
        assert seen.get(timeout=10) == ("alpha", "<state>")
        alpha.emit("image", "delete", "x")
        assert seen.get(timeout=10) == ("alpha", "delete")
    finally:
        stop.set()
        fleet.close()
