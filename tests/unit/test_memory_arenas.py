"""tui/memory.py: the malloc arena limit set before the first thread (issue 15, resident
memory) and the trim, through the C library the interpreter uses; the module loads neither
logging nor ctypes.util, since tui/cli.py imports it before the first requests' threads."""

from __future__ import annotations

import platform

from tests.conftest import in_child
from tui import memory


def test_import_loads_no_logging_and_no_ctypes_util() -> None:
    code = (
        "import sys, tui.memory\n"
        "print(sorted({'logging', 'ctypes.util', 'tui.logs'} & set(sys.modules)))"
    )
    assert in_child(code) == "[]"


def test_arena_limit_and_trim_reach_glibc() -> None:
    # In a child: the limit stays for the rest of a process, and threads started after it
    # still work (they share the arena).
    code = (
        "import threading, tui.memory as m\n"
        "assert m.limit_arenas() is True\n"
        "out = []\n"
        "t = threading.Thread(target=lambda: out.append(bytes(1 << 20)))\n"
        "t.start(); t.join()\n"
        "assert len(out[0]) == 1 << 20\n"
        "assert m.trim() is True\n"
        "print('ok')\n"
    )
    # mallopt and malloc_trim are glibc's: elsewhere both say False and change nothing.
    glibc = platform.libc_ver()[0] == "glibc"
    if not glibc:
        code = code.replace("is True", "is False")
    assert in_child(code) == "ok"
    assert memory.trim() is glibc


def test_the_collector_paused_for_start_up_comes_back_with_the_release() -> None:
    # In a child: the collector's state is process-wide.
    code = (
        "import gc\n"
        "from tui import memory\n"
        "memory.pause_collector()\n"
        "paused = gc.isenabled()\n"
        "memory.release_start_up_memory()\n"
        "released = gc.isenabled()\n"
        "memory.pause_collector()\n"
        "memory.resume_collector()\n"
        "memory.resume_collector()\n"
        "print(paused, released, gc.isenabled())"
    )
    assert in_child(code).split() == ["False", "True", "True"]
