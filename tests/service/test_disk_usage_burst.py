"""A burst of reloads never shows "a disk usage operation is already running" (issue 11, 12).

The daemon refuses a second /system/df while one runs. A burst of daemon events reloads the
list (and disk usage) again and again; a reload that starts while the last one's df is still
running used to fail with that refusal although the images loaded. Concurrent disk_usage calls
on one service, and from a second client at the same time, all succeed.
"""

from __future__ import annotations

import threading

import pytest

from tests.conftest import Sandbox
from tui.service import ImageService
from tui.service.errors import ImagedeckError

pytestmark = pytest.mark.daemon


def test_concurrent_disk_usage_reads_all_succeed(sandbox: Sandbox) -> None:
    services = [ImageService.connect(sandbox.docker_host) for _ in range(2)]
    errors: list[str] = []
    done: list[int] = []

    def read(service: ImageService) -> None:
        for _ in range(3):
            try:
                usage = service.disk_usage()
            except ImagedeckError as exc:
                errors.append(str(exc))
            else:
                done.append(len(usage.images))

    threads = [
        threading.Thread(target=read, args=(service,)) for service in services for _ in range(4)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for service in services:
            service.close()
    assert not errors, errors[:3]
    assert len(done) == len(threads) * 3
    assert all(count > 0 for count in done)  # the seeded images are listed
