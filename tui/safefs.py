"""Files imagedeck writes under the XDG state directory, written without following links.

``~/.local/state/imagedeck`` holds the log, saved build logs and last-use records (every path:
:mod:`tui.xdg`). On a shared build server
another user (or a script) may leave a symbolic link where imagedeck expects its directory or
file, pointing at something of the user's (``~/.bashrc``) or at a place others can read. So:

- the XDG base (``$XDG_STATE_HOME`` or ``~/.local/state``) is trusted as the user set it up
  (a link there is the user's own choice); every directory *below* it is created 0700 and
  opened with ``O_NOFOLLOW | O_DIRECTORY``, one level at a time through directory descriptors,
  and must belong to the user;
- files are opened with ``O_NOFOLLOW`` relative to that descriptor, must be regular files of
  the user with a single link, and are created 0600;
- a link, a foreign owner or a non-regular file is refused with :class:`UnsafePath`, whose
  message says what was found and what to do.

This module imports neither Textual nor docker-py.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from tui.xdg import app_state_dir, state_home

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC


class UnsafePath(OSError):
    """A path imagedeck refuses to write through (a symbolic link, another user's file...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _refusal(path: Path, exc: OSError | None = None) -> UnsafePath:
    try:
        info = os.lstat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        return UnsafePath(
            f"{path} is a symbolic link (to {target}); imagedeck does not write through links "
            "there. Remove the link and retry"
        )
    if info is not None and not stat.S_ISDIR(info.st_mode):
        return UnsafePath(f"{path} is not a directory")
    reason = exc.strerror if exc is not None and exc.strerror else str(exc)
    return UnsafePath(f"cannot open {path}: {reason}")


def _check_owner(path: Path, info: os.stat_result) -> None:
    if info.st_uid != os.getuid():
        raise UnsafePath(
            f"{path} belongs to another user (uid {info.st_uid}); imagedeck writes only into "
            "directories and files of its own user"
        )


@contextlib.contextmanager
def private_dir(path: Path, base: Path) -> Iterator[int]:
    """A descriptor of directory ``path`` (closed on exit), which must lie under ``base`` (the
    XDG state home, trusted as the user set it up); each level below ``base`` is created 0700
    if missing, must not be a link and must be the user's, and is made 0700 if it was wider."""
    try:
        parts = path.relative_to(base).parts
    except ValueError:
        raise UnsafePath(f"{path} is not under {base}") from None
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    current = base
    try:
        for part in parts:
            current = current / part
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _refusal(current, exc) from exc
            os.close(fd)
            fd = child
            info = os.fstat(fd)
            _check_owner(current, info)
            if stat.S_IMODE(info.st_mode) != 0o700:
                os.fchmod(fd, 0o700)
        yield fd
    finally:
        os.close(fd)


def _open_regular(name: str, flags: int, dir_fd: int, where: Path, mode: int = 0o600) -> int:
    """``open(name)`` below ``dir_fd`` without following a link; only a regular file of ours
    with one link is accepted (a hard link to someone's file is refused too)."""
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            target = os.readlink(name, dir_fd=dir_fd)
            raise UnsafePath(
                f"{where} is a symbolic link (to {target}); imagedeck does not write through "
                "links. Remove it, or choose another name"
            ) from exc
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(f"{where} is not a regular file")
        _check_owner(where, info)
        if info.st_nlink != 1:
            raise UnsafePath(f"{where} has other hard links; imagedeck will not write to it")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_log(path: Path, max_bytes: int, base: Path) -> int:
    """The log file ``path`` (below ``base``, see :func:`private_dir`) opened for appending,
    0600, never through a link; past ``max_bytes`` it becomes ``<name>.1`` and a fresh one
    starts."""
    with private_dir(path.parent, base) as dir_fd:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        fd = _open_regular(path.name, flags, dir_fd, path)
        if os.fstat(fd).st_size > max_bytes:
            os.close(fd)
            # rename() acts on the name itself: a link planted as .1 is replaced, not followed.
            os.rename(path.name, f"{path.name}.1", src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            fd = _open_regular(path.name, flags | os.O_EXCL, dir_fd, path)
        # Ours, in our 0700 directory: a file left wider by an older version is narrowed.
        os.fchmod(fd, 0o600)
        return fd


def existing_mode(path: Path) -> int | None:
    """The permission bits of ``path`` when something is there (links not followed)."""
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except OSError:
        return None


def write_text(
    path: Path,
    text: str,
    *,
    overwrite: bool = False,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Write ``text`` to ``path``; a new file is created 0600.

    Without ``overwrite`` an existing file raises ``FileExistsError`` (the caller asks first).
    With it, the file is truncated and rewritten and keeps its mode (the user saw it in the
    question). The file itself is never a link; under the state home no directory is either.
    Elsewhere (a path the user typed) the directories are the user's choice and followed.
    """
    data = text.encode("utf-8")
    flags = os.O_WRONLY | (0 if overwrite else os.O_CREAT | os.O_EXCL)
    app_dir = app_state_dir(environ)
    if path.parent == app_dir or app_dir in path.parents:
        directory: contextlib.AbstractContextManager[int] = private_dir(
            path.parent, state_home(environ)
        )
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory = _plain_dir(path.parent)
    with directory as dir_fd:
        try:
            fd = _open_regular(path.name, flags, dir_fd, path)
        except FileExistsError:
            if existing_mode(path) is not None and stat.S_ISLNK(os.lstat(path).st_mode):
                raise _refusal(path) from None
            raise
        try:
            if overwrite:
                os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


@contextlib.contextmanager
def _plain_dir(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


class PrivateOutput:
    """A file being written to ``path`` privately (see :func:`private_output`)."""

    def __init__(self, fd: int, dir_fd: int, temp_name: str, path: Path) -> None:
        self.fd = fd
        self.dir_fd = dir_fd
        self.temp_name = temp_name
        self.path = path
        self.written = 0

    def write(self, data: bytes) -> None:
        """Append ``data`` (all of it)."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.written += len(data)

    def temp_path(self) -> Path:
        """Where the bytes are until the file is done (to read them back before it is)."""
        return self.path.parent / self.temp_name


@contextlib.contextmanager
def private_output(path: Path, *, overwrite: bool = False) -> Iterator[PrivateOutput]:
    """Write a new file at ``path``, 0600, without following a link, all or nothing.

    The bytes go to a hidden temporary file beside ``path`` (created ``O_EXCL | O_NOFOLLOW``,
    0600); only when the block ends without an error does it take the name ``path``: as a new
    name (a file that appeared meanwhile raises ``FileExistsError``, never overwritten) or,
    with ``overwrite`` (the user was asked), replacing what is there; a link there is replaced
    as a name, never followed. On an error or a cancel the temporary file is removed, so no
    half-written file is left. The directory is the user's choice (as typed) and must exist.
    """
    directory = path.parent
    fd_dir = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        if not overwrite and existing_mode(path) is not None:
            raise FileExistsError(errno.EEXIST, "file exists", str(path))
        temp_name = f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        fd = _open_regular(temp_name, flags, fd_dir, directory / temp_name)
        os.fchmod(fd, 0o600)  # whatever the umask
        done = False
        try:
            yield PrivateOutput(fd, fd_dir, temp_name, path)
            os.fsync(fd)
            done = True
        finally:
            os.close(fd)
            if not done:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name, dir_fd=fd_dir)
        try:
            if overwrite:
                os.replace(temp_name, path.name, src_dir_fd=fd_dir, dst_dir_fd=fd_dir)
            else:
                _link_new(temp_name, path, fd_dir)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name, dir_fd=fd_dir)
            raise
    finally:
        os.close(fd_dir)


def _link_new(temp_name: str, path: Path, dir_fd: int) -> None:
    """Give ``temp_name`` the name ``path.name`` only if that name is free (atomically where
    the filesystem has hard links; elsewhere after a last look)."""
    try:
        os.link(temp_name, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOTSUP):
            raise
        if existing_mode(path) is not None:
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.rename(temp_name, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    os.unlink(temp_name, dir_fd=dir_fd)
