"""The progress model of a pull or push: the daemon's JSON messages folded into snapshots.

One job, pure logic (no I/O, no Docker, no Textual), so it is tested on recorded streams:
``ProgressTracker`` turns each message into a ``TransferEvent`` carrying every layer's
``LayerProgress`` and the ``Overall`` figures (so a consumer may drop all but the newest), and
``broke_at`` says how far a transfer got when its connection broke, and
``classify_registry_error`` puts what the daemon or registry said about a failure in words. The
transfers themselves (``tui.service.transfers``) feed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui.service.errors import ImagedeckError, NotFound, RegistryError

# --- progress model ---------------------------------------------------------------------------


#: Layer statuses after which a layer's bytes are all there (pull and push).
DONE_STATUSES = frozenset(
    {
        "Pull complete",
        "Already exists",
        "Download complete",
        "Verifying Checksum",
        "Extracting",
        "Pushed",
        "Layer already exists",
    }
)


#: What a layer shows when the stream ended well although the engine's last word for it was
#: not final (the containerd image store ends pulls at "Download complete": it unpacks after
#: the stream's layer messages and says nothing more about the layer).
COMPLETE = "Complete"


#: Statuses that finish a layer for good (the bar is full and stays so).
FINAL_STATUSES = frozenset(
    {"Pull complete", "Already exists", "Pushed", "Layer already exists", COMPLETE}
)


#: Layer statuses while bytes move (progressDetail has current/total).
ACTIVE_STATUSES = frozenset({"Downloading", "Pushing"})


#: Layer statuses before any byte moved.
WAITING_STATUSES = frozenset({"Waiting", "Pulling fs layer", "Preparing"})


@dataclass(frozen=True)
class LayerProgress:
    """One layer of a transfer, from the stream's ``id``/``status``/``progressDetail``.

    ``current`` and ``total`` are bytes for Downloading/Pushing (and for Extracting, the
    extraction); ``None`` when the daemon did not say.
    """

    id: str
    status: str
    current: int | None = None
    total: int | None = None
    #: Bytes moved over the wire (kept when the status moves on to Extracting/complete).
    transferred: int = 0
    #: The size of the layer's blob when the daemon told us (the Downloading/Pushing total).
    size: int | None = None

    @property
    def done(self) -> bool:
        """True once the layer is complete (or was already there)."""
        return (
            self.status in FINAL_STATUSES
            or self.status.startswith("Mounted from")
            or (self.status in DONE_STATUSES and self.status != "Extracting")
        )

    @property
    def fraction(self) -> float:
        """How far the layer's current step is, 0..1: the ``current``/``total`` a layer row
        writes beside its bar while bytes move or it extracts, so the bar and the figures
        agree (1.0 once its bytes are all here or it is complete)."""
        if self.status in FINAL_STATUSES or self.status.startswith("Mounted from"):
            return 1.0
        if self.status == "Extracting" or self.status in ACTIVE_STATUSES:
            return _ratio(self.current, self.total)
        if self.status in DONE_STATUSES:  # Download complete, Verifying Checksum
            return 1.0
        return 0.0

    @property
    def size_unknown(self) -> bool:
        """True while the layer will move bytes the daemon has not yet said the size of (it is
        waiting, or its progress came without a total)."""
        if self.size is not None or self.done:
            return False
        return self.status not in ("Already exists", "Layer already exists", "Extracting")


@dataclass(frozen=True)
class Overall:
    """The whole transfer: layers done, bytes moved and known, and the latest status line.

    ``fraction`` is ``bytes_done / bytes_total`` (the figures the transfers screen writes
    beside its percentage), or ``layers_done / layers`` while no size is known (every layer
    already there). ``sizes_unknown`` counts layers still to move whose size the daemon has
    not said yet: while it is not 0, ``bytes_total`` is a lower bound.
    """

    layers_done: int
    layers: int
    bytes_done: int
    bytes_total: int
    fraction: float
    status: str
    sizes_unknown: int = 0


@dataclass(frozen=True)
class TransferEvent:
    """One step of a pull or push: the layer it updated (or ``""``) and everything so far."""

    layer_id: str
    status: str
    layers: tuple[LayerProgress, ...]
    overall: Overall
    #: The digest the daemon reported (set near the end of a pull or push).
    digest: str | None = None


def _ratio(current: int | None, total: int | None) -> float:
    if not current or not total or total <= 0:
        return 0.0
    return min(current / total, 1.0)


class ProgressTracker:
    """Folds the daemon's JSON messages into LayerProgress states and Overall figures.

    Pure logic (no I/O) so it can be tested with recorded streams.
    """

    def __init__(self) -> None:
        self._layers: dict[str, LayerProgress] = {}
        self.status = ""
        self.digest: str | None = None

    def feed(self, message: Mapping[str, Any]) -> TransferEvent | None:
        """Apply one stream message; the new snapshot, or None for messages with nothing new.

        Raises the readable error when the message is an ``error``.
        """
        if message.get("error") or message.get("errorDetail"):
            detail = message.get("errorDetail") or {}
            text = str(message.get("error") or detail.get("message") or "unknown error")
            raise classify_registry_error(text)
        aux = message.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            self.digest = str(aux["Digest"])
            return self._event("")
        status = str(message.get("status") or "")
        if not status:
            return None
        layer_id = str(message.get("id") or "")
        if status.startswith("Digest: "):
            self.digest = status.removeprefix("Digest: ").strip()
        if not layer_id or _is_overall_status(status):
            # "Pulling from team/app" carries the tag as its id; it is not a layer.
            self.status = (
                f"{layer_id}: {status}" if layer_id and "Pulling from" in status else status
            )
            return self._event("")
        detail = message.get("progressDetail") or {}
        current = _int_or_none(detail.get("current"))
        total = _int_or_none(detail.get("total"))
        old = self._layers.get(layer_id, LayerProgress(layer_id, status))
        transferred, size = old.transferred, old.size
        if status in ACTIVE_STATUSES:
            transferred = current or 0
            size = total if total else size
        elif status in DONE_STATUSES and status != "Already exists" and size is not None:
            transferred = size
        self._layers[layer_id] = LayerProgress(layer_id, status, current, total, transferred, size)
        return self._event(layer_id)

    def finish(self, digest: str | None = None) -> TransferEvent:
        """The stream ended without an error: every layer is complete, whatever its last word.

        ``digest`` is the one read from the registry when the engine sent none (a push on the
        containerd image store has no ``aux`` message).
        """
        for layer_id, layer in self._layers.items():
            if layer.status not in FINAL_STATUSES and not layer.status.startswith("Mounted from"):
                size = layer.size if layer.size is not None else layer.transferred
                self._layers[layer_id] = LayerProgress(
                    layer_id, COMPLETE, layer.current, layer.total, size, layer.size
                )
        if digest and not self.digest:
            self.digest = digest
        return self._event("")

    def _event(self, layer_id: str) -> TransferEvent:
        layers = tuple(self._layers.values())
        status = self.status
        if layer_id:
            status = f"{layer_id}: {self._layers[layer_id].status}"
        return TransferEvent(layer_id, status, layers, self.overall(), self.digest)

    def overall(self) -> Overall:
        """The figures for the overall bar."""
        layers = list(self._layers.values())
        done = sum(1 for layer in layers if layer.done)
        bytes_done = sum(layer.transferred for layer in layers)
        # A layer whose size is not known yet counts what it moved so far (never more done
        # than in all); ``sizes_unknown`` says the total is then a lower bound.
        bytes_total = sum(
            layer.transferred if layer.size is None else layer.size for layer in layers
        )
        # The percentage a person reads beside "x MB/y MB" is x/y: one figure, not an average
        # of layer steps (that gave "60%" beside "857.2 MB/900.3 MB").
        if bytes_total > 0:
            fraction = _ratio(bytes_done, bytes_total)
        else:
            fraction = done / len(layers) if layers else 0.0
        return Overall(
            layers_done=done,
            layers=len(layers),
            bytes_done=bytes_done,
            bytes_total=bytes_total,
            fraction=fraction,
            status=self.status,
            sizes_unknown=sum(1 for layer in layers if layer.size_unknown),
        )


def _is_overall_status(status: str) -> bool:
    return status.startswith(("Pulling from", "Digest:", "Status:", "The push refers"))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def broke_at(what: str, tracker: ProgressTracker) -> str:
    """ "pull x: the connection to the daemon broke at layer 3/4 (2 complete)" and the like."""
    overall = tracker.overall()
    if not overall.layers:
        where = "before any layer moved"
    elif overall.layers_done >= overall.layers:
        where = f"after all {overall.layers} layers, before the daemon said it was done"
    else:
        where = (
            f"at layer {overall.layers_done + 1}/{overall.layers} ({overall.layers_done} complete)"
        )
    return f"{what}: the connection to the daemon broke {where}; it did not finish"


def classify_registry_error(text: str, what: str = "") -> ImagedeckError:
    """A readable error for what the daemon or registry said about a pull or push.

    The daemon's own words stay at the end: they name the registry and the reference.
    """
    lowered = text.lower()
    prefix = f"{what}: " if what else ""
    if (
        "manifest unknown" in lowered
        or ("not found" in lowered and "manifest" in lowered)
        # The containerd image store: 'failed to resolve reference "r:t": r:t: not found'.
        or ("failed to resolve reference" in lowered and lowered.rstrip().endswith("not found"))
        or ("repository does not exist" in lowered and "denied" not in lowered)
    ):
        return NotFound(f"{prefix}not found in the registry ({text})")
    if (
        "denied" in lowered
        or "unauthorized" in lowered
        or "authentication required" in lowered
        or "no basic auth credentials" in lowered
    ):
        return RegistryError(
            f"{prefix}no access: the repository does not exist or needs a login "
            f"(`docker login` for that registry). Registry said: {text}"
        )
    if any(
        needle in lowered
        for needle in (
            "connection refused",
            "no such host",
            "dial tcp",
            "i/o timeout",
            "network is unreachable",
            "tls handshake timeout",
            "server gave http response to https client",
        )
    ):
        return RegistryError(f"{prefix}the registry cannot be reached ({text})")
    return RegistryError(f"{prefix}{text}")
