"""Tar archives made in memory for tests (archives, layers, rootfs tarballs)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable


def tar_bytes(members: Iterable[tuple[str, bytes | str]]) -> bytes:
    """An uncompressed tar (tarfile's default format) of ``members`` in their order: a
    ``(name, bytes)`` is a regular file with that content, a ``(name, str)`` a symlink to it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, str):
                info.type = tarfile.SYMTYPE
                info.linkname = content
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
