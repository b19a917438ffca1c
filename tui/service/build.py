"""Dockerfile builds and container commits.

``build`` drives docker-py's low-level ``api.build`` (the classic builder) and turns its JSON
stream into typed events: step headers, output lines, the image ID, and one terminal event
(succeeded, failed or cancelled). Everything a person can get wrong (a missing context, a
missing Dockerfile, a bad tag, a malformed build arg) is reported before anything is sent.

Cancelling closes the response's socket from a watcher thread (closing a generator from another
thread does not interrupt a blocking read). The daemon then stops the build and, with
``forcerm``, removes the running step's container; we check that it did and remove it if not,
and drop the untagged intermediate images this build created so a cancelled build leaves
nothing behind. A failed build keeps its intermediate images: like ``docker build``, they are
the cache that makes the next attempt fast.

The events, the checked request and its checks are ``tui/service/build_events.py`` (pure);
this module re-exports them for the code that imports them from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tui.service.build_events import (
    COMMIT_INSTRUCTIONS,
    TERMINAL_EVENTS,
    BuildCancelled,
    BuildError,
    BuildEvent,
    BuildImageId,
    BuildLeftovers,
    BuildOutput,
    BuildRequest,
    BuildStep,
    BuildSucceeded,
    BuildTagged,
    LineSplitter,
    VertexLog,
    VertexUpdate,
    _last_carriage_segment,
    check_build_request,
    check_changes,
    check_platform,
    dockerfile_args,
    dockerfile_stages,
    parse_assignments,
    pull_failure,
)
from tui.service.cancel import CancelWatcher
from tui.service.core import ServiceBase, api_errors, daemon_text, not_found_errors
from tui.service.errors import BuildFailed, DaemonError, ImagedeckError, InvalidReference
from tui.service.reference import parse

STEP_HEADER = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_RUNNING_IN = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})$")
_STEP_RESULT = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_SUCCESSFULLY_BUILT = re.compile(r"^Successfully built ([0-9a-f]{12,64})$")

# How long to wait for the daemon to remove the running step's container after a cancel.
CANCEL_CLEANUP_WAIT = 5.0


# -- reading the stream ----------------------------------------------------------------------


def explain_build_error(detail: str, step: BuildStep | None) -> str:
    """A sentence for a daemon build error, naming the base image when a pull failed."""
    text = detail.strip()
    if step is not None and step.instruction.split(None, 1)[0].upper() == "FROM":
        words = step.instruction.split()
        image = words[1] if len(words) > 1 else "the base image"
        return pull_failure(
            image,
            text,
            network=("dial tcp", "no such host", "network is unreachable", "lookup ", "timeout"),
            missing=("pull access denied", "not found", "unknown"),
        )
    if step is not None:
        return f"Step {step.number}/{step.total} failed ({step.instruction}): {text}"
    return f"The build failed: {text}"


def _response_of(generator: Any) -> Any:
    """The HTTP response behind docker-py's build generator (None if it cannot be found).

    ``api.build`` returns ``_stream_helper(response, decode)`` unstarted; its frame holds the
    response, which is what ``CancellableStream`` needs to shut the socket down.
    """
    frame = getattr(generator, "gi_frame", None)
    if frame is None:
        return None
    return frame.f_locals.get("response")


class BuildMixin(ServiceBase):
    """Dockerfile builds and container commits."""

    def build(
        self,
        context_dir: str | os.PathLike[str],
        dockerfile: str | os.PathLike[str] = "Dockerfile",
        tags: Sequence[str] = (),
        buildargs: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        target: str = "",
        nocache: bool = False,
        pull: bool = False,
        platform: str = "",
        cancel: threading.Event | None = None,
    ) -> Iterator[BuildEvent]:
        """Build an image; a generator of BuildEvents ending with exactly one terminal event.

        The request is checked now (before the generator is returned), so a bad tag or a
        missing Dockerfile raises InvalidReference / BuildFailed and nothing is sent. Setting
        ``cancel`` from another thread stops the build and cleans up what it left.
        """
        request = check_build_request(
            context_dir, dockerfile, tags, buildargs, labels, target, nocache, pull, platform
        )
        return self.build_request(request, cancel or threading.Event())

    def build_request(self, request: BuildRequest, cancel: threading.Event) -> Iterator[BuildEvent]:
        """Run a checked build (see ``build``)."""
        tags = request.tag_texts
        kwargs: dict[str, Any] = {
            "path": str(request.context_dir),
            "dockerfile": request.dockerfile_param,
            "tag": tags[0] if tags else None,
            "rm": True,
            "forcerm": True,
            "decode": True,
            "nocache": request.nocache,
            "pull": request.pull,
        }
        if request.buildargs:
            kwargs["buildargs"] = dict(request.buildargs)
        if request.labels:
            kwargs["labels"] = dict(request.labels)
        if request.target:
            kwargs["target"] = request.target
        if request.platform:
            kwargs["platform"] = request.platform

        started = time.time()
        step: BuildStep | None = None
        image_id = ""
        running: str | None = None  # the container of the step in progress
        created: list[str] = []  # step images this build made (not cache, not FROM)
        from_cache = False
        splitter = LineSplitter()

        def lines_to_events(lines: list[str]) -> Iterator[BuildEvent]:
            nonlocal step, running, from_cache, image_id
            pending: list[str] = []
            for line in lines:
                header = STEP_HEADER.match(line)
                if header:
                    if pending:
                        yield BuildOutput(tuple(pending))
                        pending = []
                    step = BuildStep(int(header[1]), int(header[2]), header[3])
                    running = None
                    from_cache = False
                    yield step
                    continue
                pending.append(line)
                if line == " ---> Using cache":
                    from_cache = True
                elif match := _RUNNING_IN.match(line):
                    running = match[1]
                elif match := _STEP_RESULT.match(line):
                    is_from = step is not None and step.instruction.upper().startswith("FROM")
                    if not from_cache and not is_from:
                        created.append(match[1])
                    running = None
                elif match := _SUCCESSFULLY_BUILT.match(line):
                    image_id = image_id or match[1]
            if pending:
                yield BuildOutput(tuple(pending))

        if cancel.is_set():
            yield BuildCancelled()
            return
        try:
            with self.translate("start the build"):
                raw = self.docker_api().build(**kwargs)
        except ImagedeckError as exc:
            yield BuildError(str(exc), detail=str(exc))
            return
        response = _response_of(raw)
        # CancellableStream only for its close(): iterating it would turn every OSError into
        # a quiet end of stream, and requests' HTTPError (a Dockerfile parse error) is one.
        from docker.types.daemon import CancellableStream  # loaded by docker_api() above

        closer: Any = CancellableStream(raw, response) if response is not None else raw

        def shut() -> None:
            # The build thread is blocked in a socket read: only shutting it down interrupts it.
            with contextlib.suppress(Exception):
                closer.close()

        watcher = CancelWatcher(cancel, shut, name="build-cancel")
        error: BuildError | None = None
        completed = False
        try:
            for chunk in raw:
                if cancel.is_set():
                    break
                if "stream" in chunk:
                    yield from lines_to_events(splitter.feed(str(chunk["stream"])))
                elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                    image_id = str(chunk["aux"]["ID"])
                    yield BuildImageId(image_id)
                elif "error" in chunk or "errorDetail" in chunk:
                    yield from lines_to_events(splitter.flush())
                    detail_obj = chunk.get("errorDetail") or {}
                    detail = str(detail_obj.get("message") or chunk.get("error") or "unknown error")
                    code = detail_obj.get("code")
                    error = BuildError(
                        explain_build_error(detail, step),
                        detail=detail,
                        code=int(code) if code is not None else None,
                        step=step,
                    )
                    break
                elif "status" in chunk:
                    # Pull progress of a FROM image; one line per status, not per progress tick.
                    if "progressDetail" not in chunk or not chunk.get("progressDetail"):
                        text = str(chunk["status"])
                        if chunk.get("id"):
                            text = f"{chunk['id']}: {text}"
                        yield BuildOutput((text,))
            else:
                completed = True
        except api_errors() as exc:
            # A 400 before the stream starts: a Dockerfile parse error, an unknown target...
            detail = daemon_text(exc)
            error = BuildError(f"The daemon refused the build: {detail}", detail=detail, step=step)
        except Exception as exc:
            if not cancel.is_set():
                left = BuildLeftovers(running, tuple(created), started)
                where = f" at step {step.number}/{step.total}" if step is not None else ""
                message = f"The connection to the daemon broke{where}: the build did not finish"
                if left.container or left.images:
                    message += f"; it may have left {left.describe()}"
                error = BuildError(
                    message,
                    detail=str(exc),
                    step=step,
                    leftovers=left if (left.container or left.images) else None,
                )
        finally:
            watcher.finish()
            if not completed or cancel.is_set():
                # A stream left unread (error, cancel, or the consumer stopped) would go back
                # to the pool half-consumed; shut it. A fully read one must stay usable.
                with contextlib.suppress(Exception):
                    closer.close()

        if cancel.is_set():
            yield BuildCancelled(tuple(self._clean_after_cancel(running, created, started)))
            return
        yield from lines_to_events(splitter.flush())
        if error is not None:
            yield error
            return
        if not image_id:
            yield BuildError("The daemon ended the build without reporting an image.", step=step)
            return
        for tag in tags[1:]:
            ref = parse(tag)
            try:
                with self.translate(f"tag {image_id} as {tag}", tag):
                    self.api.tag(image_id, ref.name, ref.tag_or_latest)
            except ImagedeckError as exc:
                yield BuildError(f"Built {image_id[:19]} but could not tag it {tag}: {exc}")
                return
            yield BuildTagged(tag)
        yield BuildSucceeded(image_id, tags)

    def remove_build_leftovers(self, leftovers: BuildLeftovers) -> list[str]:
        """Remove what a build that lost its daemon left (once the daemon is back).

        Raises DaemonUnreachable while the daemon still does not answer. Returns what was
        removed (the daemon may already have removed the container itself).
        """
        with self.translate("check that the daemon is back"):
            self.api.ping()
        # A daemon that only lost the connection (not its life) is still removing the step
        # container itself: give it the cancel's grace before forcing it.
        return self._clean_after_cancel(
            leftovers.container, list(leftovers.images), leftovers.started
        )

    def _clean_after_cancel(
        self,
        running: str | None,
        created: list[str],
        started: float,
        wait: float = CANCEL_CLEANUP_WAIT,
    ) -> list[str]:
        """Remove what a cancelled build left: its step container and untagged step images.

        ``wait``: how long the daemon gets to remove the step container itself (forcerm).
        """
        removed: list[str] = []
        if running:
            deadline = time.monotonic() + wait
            while True:
                try:
                    self.api.inspect_container(running)
                except not_found_errors():
                    break  # the daemon removed it (forcerm), as it should
                except Exception:  # noqa: S110 - a hiccup: look again until the deadline
                    pass
                if time.monotonic() > deadline:
                    with contextlib.suppress(Exception):
                        self.api.remove_container(running, force=True)
                        removed.append(f"container {running}")
                    break
                time.sleep(0.1)
        for image in reversed(created):
            try:
                data = self.api.inspect_image(image)
            except Exception:  # noqa: S112 - already gone
                continue
            # Never touch an image that has a name or predates this build: only our own
            # untagged intermediates go.
            if data.get("RepoTags") or _created_before(str(data.get("Created", "")), started):
                continue
            try:
                self.api.remove_image(image, noprune=True)
                removed.append(f"image {image}")
            except Exception:  # noqa: S112 - a child of another build holds it; keep it
                continue
        return removed

    def commit(
        self,
        container: str,
        reference: str,
        message: str = "",
        author: str = "",
        changes: Sequence[str] = (),
        pause: bool = True,
    ) -> str:
        """Commit ``container`` as ``reference`` (like `docker commit -m -a -c`); the new ID.

        The reference is checked with the grammar and the changes against the instructions
        the daemon accepts before anything is sent.
        """
        if not container.strip():
            raise BuildFailed("Choose a container to commit.")
        ref = parse(reference.strip())
        if ref.digest:
            raise InvalidReference(f"{reference!r}: a commit target cannot have a digest.")
        checked = check_changes(changes)
        with self.translate(f"commit {container} as {reference}", reference):
            try:
                result = self.api.commit(
                    container,
                    repository=ref.name,
                    tag=ref.tag_or_latest,
                    message=message or None,
                    author=author or None,
                    pause=pause,
                    changes=checked or None,
                )
            except not_found_errors() as exc:
                raise DaemonError(f"There is no container {container}.") from exc
        image_id = str((result or {}).get("Id", ""))
        if not image_id:
            raise DaemonError(f"commit {container}: the daemon did not return an image ID")
        return image_id


def _created_before(created: str, started: float) -> bool:
    """True when an image's RFC 3339 ``Created`` is clearly older than ``started``."""
    from datetime import datetime

    text = created.strip()
    if not text:
        return False
    # Python before 3.11 cannot parse nanoseconds or 'Z'; keep seconds precision.
    text = re.sub(r"\.\d+", "", text).replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text).timestamp()
    except ValueError:
        return True  # unknown: be safe and keep it
    return stamp < started - 5


__all__ = [
    "COMMIT_INSTRUCTIONS",
    "TERMINAL_EVENTS",
    "BuildCancelled",
    "BuildError",
    "BuildEvent",
    "BuildImageId",
    "BuildLeftovers",
    "BuildMixin",
    "BuildOutput",
    "BuildRequest",
    "BuildStep",
    "BuildSucceeded",
    "BuildTagged",
    "VertexLog",
    "VertexUpdate",
    "_last_carriage_segment",
    "check_build_request",
    "check_changes",
    "check_platform",
    "dockerfile_args",
    "dockerfile_stages",
    "parse_assignments",
]
