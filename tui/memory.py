"""Give back the memory start-up used and no longer needs (issue 15: resident memory).

Importing Textual and docker-py and building the first list leave a lot of garbage in
reference cycles (module and class set-up, the first answers' dicts); Python's cycle collector
gets to it late, and glibc keeps freed heap pages mapped. Once the list and disk usage are in,
one collection, then ``malloc_trim`` (glibc only), hands those pages back: about 10 MB of
resident memory at 10,000 tags. ``gc.freeze`` then moves what survives (the program's own
long-lived objects) out of the collector's sight, so later collections, which run while the
user types, do not walk it again.
"""

from __future__ import annotations

import ctypes
import gc
import sys

#: Packages the image list does without (docker-py and what it brings; ssl and _hashlib, which
#: load libcrypto; tarfile, for archives): the debug log says which of them start-up loaded
#: anyway (tests/e2e/test_lean_start.py reads it).
HEAVY_PACKAGES = (
    "docker",
    "requests",
    "urllib3",
    "charset_normalizer",
    "paramiko",
    "ssl",
    "_hashlib",
    "tarfile",
)


#: The latest the cycle collector stays paused for start-up (the App's fallback timer), for a
#: start whose list or disk usage never arrives (a daemon down, the fleet view).
START_UP_PAUSE_MAX = 15.0


def pause_collector() -> None:
    """Pause the cycle collector for start-up (tui/cli.py, before anything is imported).

    Importing Textual and building 10,000 rows allocate hundreds of thousands of objects, and
    the collector walked the growing heap again and again meanwhile (a full collection alone
    took about 17 ms on the way to a usable list). Start-up garbage is collected once, in
    ``release_start_up_memory``, which turns the collector back on; ``resume_collector`` is
    the fallback when that never runs.
    """
    gc.disable()


def resume_collector() -> None:
    """Turn the cycle collector back on (idempotent)."""
    gc.enable()


def release_start_up_memory() -> None:
    """Collect start-up garbage, freeze what is left, return freed heap pages to the system,
    and turn the cycle collector back on (paused by ``pause_collector``)."""
    gc.collect()
    gc.freeze()
    resume_collector()
    trim()
    from tui.logs import get_logger  # here: limit_arenas runs before logging is loaded

    log = get_logger("memory")
    log.debug(
        "start-up over: %d modules, collector %s, heavy packages loaded: %s",
        len(sys.modules),
        "on" if gc.isenabled() else "off",
        ",".join(name for name in HEAVY_PACKAGES if name in sys.modules) or "none",
    )


#: ``mallopt``'s M_ARENA_MAX (glibc's malloc.h).
_M_ARENA_MAX = -8


def limit_arenas(count: int = 1) -> bool:
    """Let glibc's malloc keep at most ``count`` arenas (glibc only; False elsewhere).

    glibc gives each new thread an arena of its own (up to 8 per core) and keeps its pages;
    imagedeck's threads (the first requests, Textual's input and output, workers, events) all
    run under the GIL, so separate arenas buy no speed here, only resident memory (about
    0.6 MB at 10,000 tags: each arena keeps its own free pages). Called before the first
    thread starts (tui/cli.py), so this module imports only ctypes at its top.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter itself uses
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, count))


def trim() -> bool:
    """``malloc_trim(0)`` where the C library has it (glibc); False elsewhere."""
    try:
        # The C library the interpreter itself uses (no ldconfig run to find it by name).
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim(0)
    return True
