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
import ctypes.util
import gc
import sys

from tui.logs import get_logger

#: Packages the image list does without (docker-py and what it brings; ssl and _hashlib, which
#: load libcrypto): the debug log says which of them start-up loaded anyway
#: (tests/e2e/test_lean_start.py reads it).
HEAVY_PACKAGES = (
    "docker",
    "requests",
    "urllib3",
    "charset_normalizer",
    "paramiko",
    "ssl",
    "_hashlib",
)


def release_start_up_memory() -> None:
    """Collect start-up garbage, freeze what is left, return freed heap pages to the system."""
    gc.collect()
    gc.freeze()
    trim()
    log = get_logger("memory")
    log.debug(
        "start-up over: %d modules, heavy packages loaded: %s",
        len(sys.modules),
        ",".join(name for name in HEAVY_PACKAGES if name in sys.modules) or "none",
    )


def trim() -> bool:
    """``malloc_trim(0)`` where the C library has it (glibc); False elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        malloc_trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim(0)
    return True
