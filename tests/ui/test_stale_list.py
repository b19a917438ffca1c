"""A slow, older list load never overwrites a newer one (ImagesScreen.load_images).

Loads run in an exclusive worker group, so a reload cancels the load before it; the older
thread still finishes, and its answer (taken before the change the reload was for) used to be
posted after the newer one: the image just pulled vanished from the list.
"""

from __future__ import annotations

import threading

from tests.ui.fake import FakeService, make_app, make_image
from tests.ui.pilot import refs, wait_for
from tui.service.models import Image


class SlowFirstList(FakeService):
    """The first list answers late, with the images as they were when it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.asked = threading.Event()
        self.answered = threading.Event()
        self._first = True

    def list_images(self) -> list[Image]:
        stale = super().list_images()
        if self._first:
            self._first = False
            self.asked.set()
            self.gate.wait(10)
            self.answered.set()
        return stale


async def test_an_older_load_answering_last_does_not_replace_the_newer_list() -> None:
    fake = SlowFirstList()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.images_screen
        await wait_for(pilot, fake.asked.is_set, "the first list asked")
        # Meanwhile an image arrives (a pull) and the list is loaded again.
        fake.images.append(make_image(40, ("e2e/pulled:v1",), age_days=0.1))
        screen.reload()
        await wait_for(pilot, lambda: "e2e/pulled:v1" in refs(screen), "the newer list")
        fake.gate.set()  # the older answer arrives last
        await wait_for(pilot, fake.answered.is_set, "the older answer")
        # What it would post is handled within these frames. Not wait_for_complete(): the
        # newer load cancelled this worker (exclusive group), and Textual waits for a cancelled
        # thread worker no longer; its thread still runs. An absence, so a few frames.
        for _ in range(5):
            await pilot.pause(0.05)
        assert "e2e/pulled:v1" in refs(screen)
