"""When each image was last used: a record imagedeck keeps itself, the way docuum does.

Docker does not remember when an image was last used. While imagedeck runs, every container
``create`` and ``start`` event marks the container's image as used at the event's time; at start,
the containers that exist (running or stopped) mark theirs with their start time
(``State.StartedAt``, else ``Created``). The record is kept per daemon (keyed by the daemon's ID
from ``/info``) in ``$XDG_STATE_HOME/imagedeck/last-used/<daemon id>.json``: directory 0700,
file 0600, read and written without following symbolic links (another user's link must not
make imagedeck read or overwrite a file of theirs), replaced atomically.

An image with no entry was not seen in use since the record began (``since``): the UI says
"unknown" for it, and the retention planner counts it as unused since then (or since it was
created, when that is later).
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from tui.service.errors import ImagedeckError
from tui.service.models import DaemonEvent
from tui.xdg import last_used_dir

FORMAT_VERSION = 1
# Container events that count as a use of the container's image (docuum uses the same ones).
USE_ACTIONS = frozenset({"create", "start"})
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_ZERO_TIME = "0001-01-01T00:00:00Z"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/imagedeck/last-used`` (default ``~/.local/state/imagedeck/last-used``)."""
    return last_used_dir(environ)


def record_path(daemon_id: str, environ: Mapping[str, str] | None = None) -> Path:
    """The record file of one daemon (its ID made safe as a file name)."""
    name = _UNSAFE.sub("-", daemon_id.strip()) or "unknown-daemon"
    return state_dir(environ) / f"{name[:120]}.json"


def parse_time(text: str) -> datetime | None:
    """A daemon timestamp (RFC 3339 with nanoseconds) as a UTC datetime; None for zero/empty."""
    text = (text or "").strip()
    if not text or text.startswith("0001-01-01"):
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", text)
    if not match:
        return None
    fraction = (match.group(2) or "")[:7]  # Python takes at most microseconds
    zone = match.group(3) or "Z"
    zone = "+00:00" if zone == "Z" else zone
    try:
        return datetime.fromisoformat(f"{match.group(1)}{fraction}{zone}").astimezone(timezone.utc)
    except ValueError:
        return None


class RecordError(ImagedeckError):
    """The record file cannot be read or written safely (a link, wrong owner, bad JSON)."""


@dataclass
class LastUsedRecord:
    """Per image ID, the last time a container was created or started from it.

    ``since`` is when the record began; ``daemon_id`` which daemon it belongs to. Methods are
    safe to call from several threads (the events thread records while the UI reads).
    """

    daemon_id: str
    since: datetime
    used: dict[str, datetime] = field(default_factory=dict)
    path: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def get(self, image_id: str) -> datetime | None:
        """When ``image_id`` was last used, or None when not seen in use since ``since``."""
        with self._lock:
            return self.used.get(image_id)

    def snapshot(self) -> dict[str, datetime]:
        """A copy of every entry (for a screen to draw from without the lock)."""
        with self._lock:
            return dict(self.used)

    def mark(self, image_id: str, when: datetime) -> bool:
        """Record a use; True when it moved the image's time forward."""
        if not image_id:
            return False
        with self._lock:
            old = self.used.get(image_id)
            if old is not None and old >= when:
                return False
            self.used[image_id] = when
            return True

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        with self._lock:
            used = {k: v.isoformat() for k, v in sorted(self.used.items())}
        return {
            "version": FORMAT_VERSION,
            "daemon_id": self.daemon_id,
            "since": self.since.isoformat(),
            "images": used,
        }

    @classmethod
    def from_json(cls, data: Any, path: Path | None = None) -> LastUsedRecord:
        """Read a record; raises RecordError on anything that is not one."""
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise RecordError(f"{path}: not a last-used record of version {FORMAT_VERSION}")
        try:
            since = datetime.fromisoformat(str(data["since"])).astimezone(timezone.utc)
            images = data.get("images") or {}
            if not isinstance(images, dict):
                raise ValueError("images is not a table")
            used = {
                str(k): datetime.fromisoformat(str(v)).astimezone(timezone.utc)
                for k, v in images.items()
            }
        except (KeyError, ValueError, TypeError) as exc:
            raise RecordError(f"{path}: damaged last-used record ({exc})") from exc
        return cls(str(data.get("daemon_id", "")), since, used, path)

    # -- files ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, daemon_id: str, path: Path, now: datetime | None = None) -> LastUsedRecord:
        """The record at ``path``, or a new one beginning ``now`` when there is none."""
        _private_dir(path.parent)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return cls(daemon_id, now or datetime.now(timezone.utc), {}, path)
        except OSError as exc:
            raise RecordError(f"cannot open {path} safely: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                raise RecordError(f"{path} is not a regular file of this user; not read")
            try:
                data = json.loads(handle.read().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise RecordError(f"{path}: damaged last-used record ({exc})") from exc
        record = cls.from_json(data, path)
        record.daemon_id = record.daemon_id or daemon_id
        return record

    def save(self) -> None:
        """Write the record atomically (a new 0600 file renamed over the old one)."""
        if self.path is None:
            return
        _private_dir(self.path.parent)
        body = json.dumps(self.to_json(), indent=1).encode("utf-8")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(tmp, flags, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise RecordError(f"cannot write {self.path}: {exc.strerror}") from exc


def _private_dir(path: Path) -> None:
    """Create ``path`` (0700) or check that it is this user's directory, not a link.

    Every level below the XDG state home (``imagedeck`` too, not only ``last-used``) is
    opened without following links (:func:`tui.safefs.private_dir`): a linked state directory
    must not send the record elsewhere.
    """
    from tui.safefs import private_dir

    try:
        with private_dir(path, path.parent.parent):
            pass
    except OSError as exc:
        raise RecordError(f"{exc}: not a directory of this user; the record is not kept") from exc


# -- what the daemon tells us -------------------------------------------------------------------


class _Service(Protocol):
    """What the recorder needs of ImageService."""

    api: Any

    def translate(self, what: str, reference: str = "") -> Any: ...


def daemon_id(service: _Service) -> str:
    """The daemon's ID from ``/info`` (stable across restarts; the record's key)."""
    with service.translate("ask the daemon for its ID"):
        info = service.api.info()
    return str(info.get("ID") or info.get("Name") or "unknown-daemon")


def container_uses(service: _Service) -> list[tuple[str, datetime]]:
    """(image ID, when it was last used) for every container that exists, running or stopped.

    The list gives each container's image ID and creation time; the start time needs an
    inspect, asked only for containers that ran (their status is not "Created").
    """
    with service.translate("list containers"):
        containers = service.api.containers(all=True)
    found: list[tuple[str, datetime]] = []
    for item in containers:
        image_id = str(item.get("ImageID") or "")
        created = datetime.fromtimestamp(float(item.get("Created") or 0), tz=timezone.utc)
        when = created
        if str(item.get("State") or "") != "created":
            try:
                with service.translate("inspect container"):
                    data = service.api.inspect_container(item["Id"])
            except ImagedeckError:
                data = {}  # removed meanwhile: its creation time stands
            started = parse_time(str((data.get("State") or {}).get("StartedAt") or ""))
            if started is not None and started > when:
                when = started
        if image_id:
            found.append((image_id, when))
    return found


def event_image(service: _Service, event: DaemonEvent) -> str:
    """The image ID a container event is about (the event names the image as it was asked)."""
    attributes = dict(event.attributes)
    named = attributes.get("image", "")
    if named.startswith("sha256:") and len(named) == 71:
        return named
    try:
        with service.translate("inspect container"):
            data = service.api.inspect_container(event.actor_id)
        return str(data.get("Image") or "")
    except ImagedeckError:
        pass
    if not named:
        return ""
    try:
        with service.translate(f"inspect {named}"):
            return str(service.api.inspect_image(named).get("Id") or "")
    except ImagedeckError:
        return ""


class LastUsedRecorder:
    """Keeps one daemon's record current: containers at start, then container events.

    Used by the app's events thread (``observe``) and by ``imagedeck prune``. Every write goes
    to the file at once: a record is small and container events are rare.
    """

    def __init__(self, record: LastUsedRecord) -> None:
        self.record = record

    @classmethod
    def open(
        cls,
        service: _Service,
        environ: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> LastUsedRecorder:
        """Load (or begin) the record of the service's daemon and add the existing containers."""
        ident = daemon_id(service)
        record = LastUsedRecord.load(ident, record_path(ident, environ), now)
        recorder = cls(record)
        recorder.add(container_uses(service))
        return recorder

    def add(self, uses: Iterable[tuple[str, datetime]]) -> bool:
        """Record several uses and save when anything changed."""
        changed = False
        for image_id, when in uses:
            changed = self.record.mark(image_id, when) or changed
        if changed or (self.record.path is not None and not self.record.path.exists()):
            self.record.save()
        return changed

    def observe(self, service: _Service, event: DaemonEvent) -> bool:
        """Record a container create/start event; True when the record changed."""
        if event.type != "container" or event.action not in USE_ACTIONS:
            return False
        image_id = event_image(service, event)
        when = event.time if event.time.timestamp() > 0 else datetime.now(timezone.utc)
        return self.add([(image_id, when)]) if image_id else False


def effective_last_use(record: LastUsedRecord | None, image_id: str, created: datetime) -> datetime:
    """When the image was last known in use or fresh: its recorded use, else the later of the
    record's start and the image's creation (an image nobody used counts as unused since then).
    """
    if record is None:
        return created
    used = record.get(image_id)
    if used is not None:
        return max(used, created)
    return max(record.since, created)


__all__ = [
    "LastUsedRecord",
    "LastUsedRecorder",
    "RecordError",
    "container_uses",
    "daemon_id",
    "effective_last_use",
    "event_image",
    "parse_time",
    "record_path",
    "state_dir",
]
