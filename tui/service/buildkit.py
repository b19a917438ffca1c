"""BuildKit builds through ``docker buildx build --progress=rawjson``, and the build cache.

Why the CLI and not the API: the Engine's ``/build`` endpoint speaks BuildKit only through a
gRPC session (file sync, auth, progress) that docker-py does not implement; buildx does, and its
``rawjson`` progress mode writes BuildKit's own ``SolveStatus`` objects (``vertexes``,
``statuses``, ``logs``) as JSON to stderr. ``RawJsonDecoder`` splits that stream into objects
and the plain text buildx prints after them (``ERROR: ...`` and the Dockerfile excerpt of the
failing step); ``RawJsonParser`` turns the objects into the same typed events the log pane
already shows for the legacy builder (``VertexUpdate`` / ``VertexLog`` per vertex).

The connection imagedeck uses is passed on to the CLI (``--host`` with the TLS material, or
``--context``), so the build goes to the daemon the list shows. Cancelling interrupts buildx
(SIGINT, as Ctrl-C would), which cancels the solve; the cache records the cancelled build had
already written are then pruned by ID, so a cancelled build leaves nothing behind.

The build cache is read from ``/system/df`` (``BuildCache``, the numbers ``docker system df``
prints) and pruned record by record with ``/build/prune`` and an ``id`` filter, so what the
preview lists is exactly what goes.

Cut along its seams: the stream parser is ``tui/service/buildkit_stream.py``, the build
cache's model and prune plan ``tui/service/build_cache.py`` (both pure), the buildx child
process (finding the CLI, ``BuilderInfo``, SIGINT then SIGKILL, interrupting live builds at
exit) ``tui/service/buildx.py``; this module keeps the mixin, and re-exports the names others
import from it.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tui.service.build import (
    BuildCancelled,
    BuildError,
    BuildEvent,
    BuildImageId,
    BuildOutput,
    BuildRequest,
    BuildSucceeded,
)
from tui.service.build_cache import (
    BuildCacheUsage,
    CachePrunePlan,
    CachePruneResult,
    CacheRecord,
    _children_first,
    _record,
    build_cache_size,
    plan_cache_prune,
)
from tui.service.buildkit_stream import (
    RawJsonDecoder,
    RawJsonParser,
    buildkit_features,
    explain_buildkit_error,
)
from tui.service.buildx import (
    CANCEL_WAIT,
    LIVE_BUILDS,
    BuilderInfo,
    collect_lines,
    docker_cli,
    stop,
)
from tui.service.cancel import CancelWatcher
from tui.service.connection import DEFAULT_CONTEXT
from tui.service.core import ServiceBase

# How many looks in a row must find no new cache record before a cancel is clean.
CANCEL_QUIET_LOOKS = 3
# How long `docker buildx version` / `inspect` may take (a remote builder can be slow).
PROBE_TIMEOUT = 20.0


# -- the mixin ----------------------------------------------------------------------------------


class BuildKitMixin(ServiceBase):
    """BuildKit builds through buildx, and the daemon's build cache."""

    _builder_info: BuilderInfo | None = None

    # -- talking to the CLI ----------------------------------------------------------------------

    def cli_connection(self) -> tuple[list[str], dict[str, str]]:
        """Global docker CLI flags and environment that reach this service's daemon.

        A context is named with ``--context``; otherwise the host goes as ``--host`` with the
        TLS material docker-py uses, and DOCKER_HOST / DOCKER_CONTEXT are dropped from the
        environment so they cannot point the CLI elsewhere.
        """
        env = dict(os.environ)
        endpoint = self.endpoint
        if endpoint.context and endpoint.context != DEFAULT_CONTEXT:
            env.pop("DOCKER_HOST", None)
            env.pop("DOCKER_CONTEXT", None)
            return ["--context", endpoint.context], env
        env.pop("DOCKER_HOST", None)
        env.pop("DOCKER_CONTEXT", None)
        flags = ["--host", endpoint.host]
        tls = endpoint.tls
        if tls is not None:
            flags.append("--tlsverify" if getattr(tls, "verify", False) else "--tls")
            ca = getattr(tls, "ca_cert", None)
            if isinstance(ca, str):
                flags += ["--tlscacert", ca]
            cert = getattr(tls, "cert", None)
            if isinstance(cert, tuple) and len(cert) == 2:
                flags += ["--tlscert", str(cert[0]), "--tlskey", str(cert[1])]
        return flags, env

    def builder_info(self, *, refresh: bool = False) -> BuilderInfo:
        """Whether ``docker buildx`` works here, its version, builder and driver (cached)."""
        if self._builder_info is not None and not refresh:
            return self._builder_info
        self._builder_info = self._probe_builder()
        return self._builder_info

    def _probe_builder(self) -> BuilderInfo:
        choice = os.environ.get("IMAGEDECK_BUILDER", "auto").strip().lower() or "auto"
        if choice == "legacy":
            return BuilderInfo(False, reason="IMAGEDECK_BUILDER=legacy")
        info = self._probe_buildx()
        if choice == "buildkit" and not info.buildkit:
            # Asked for explicitly: say why it cannot be had rather than fall back quietly.
            return BuilderInfo(False, reason=f"IMAGEDECK_BUILDER=buildkit, but {info.reason}")
        return info

    def _probe_buildx(self) -> BuilderInfo:
        cli = docker_cli()
        if cli is None:
            return BuilderInfo(False, reason="no docker CLI on PATH")
        flags, env = self.cli_connection()
        try:
            version = subprocess.run(  # an argv list, no shell
                [cli, "buildx", "version"],
                capture_output=True,
                text=True,
                env=env,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return BuilderInfo(False, reason=f"docker buildx did not answer: {exc}")
        if version.returncode != 0:
            return BuilderInfo(False, reason="no docker buildx plugin")
        words = version.stdout.split()
        number = words[1] if len(words) > 1 else ""
        number = number.removeprefix("v").split("+", 1)[0]
        try:
            inspect = subprocess.run(  # an argv list, no shell
                [cli, *flags, "buildx", "inspect"],
                capture_output=True,
                text=True,
                env=env,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return BuilderInfo(False, reason=f"docker buildx inspect did not answer: {exc}")
        if inspect.returncode != 0:
            first = (inspect.stderr.strip().splitlines() or ["?"])[-1]
            return BuilderInfo(False, reason=f"docker buildx cannot use this daemon: {first}")
        name = driver = ""
        for line in inspect.stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Name" and not name:
                name = value.strip()
            elif key.strip() == "Driver" and not driver:
                driver = value.strip()
        return BuilderInfo(True, version=number, name=name, driver=driver)

    def buildx_argv(
        self, request: BuildRequest, info: BuilderInfo, iidfile: str
    ) -> tuple[list[str], dict[str, str]]:
        """The argv (and environment) of ``docker buildx build`` for ``request``."""
        cli = docker_cli() or "docker"
        flags, env = self.cli_connection()
        argv = [cli, *flags, "buildx", "build", "--progress=rawjson", "--iidfile", iidfile]
        argv += ["--file", str(request.dockerfile)]
        for tag in request.tag_texts:
            argv += ["--tag", tag]
        for key, value in request.buildargs.items():
            argv += ["--build-arg", f"{key}={value}"]
        for key, value in request.labels.items():
            argv += ["--label", f"{key}={value}"]
        if request.target:
            argv += ["--target", request.target]
        if request.platform:
            argv += ["--platform", request.platform]
        if request.nocache:
            argv.append("--no-cache")
        if request.pull:
            argv.append("--pull")
        if info.needs_load:
            argv.append("--load")
        # `--` so that a context path starting with '-' is not read as a flag.
        argv += ["--", str(request.context_dir)]
        return argv, env

    # -- the build -------------------------------------------------------------------------------

    def build_with(
        self,
        request: BuildRequest,
        cancel: threading.Event,
        builder: BuilderInfo | None = None,
    ) -> Iterator[BuildEvent]:
        """Build with BuildKit when ``builder`` (probed when None) has it, else the legacy way.

        The legacy builder's answer to a Dockerfile that needs BuildKit (``the --mount option
        requires BuildKit``, a heredoc read as an unknown instruction) becomes a sentence that
        names what needs BuildKit and why it is not used.
        """
        info = builder or self.builder_info()
        if info.buildkit:
            yield from self.build_buildkit(request, cancel, info)
            return
        try:
            text = request.dockerfile.read_text("utf-8", "replace")
        except OSError:
            text = ""
        needs = buildkit_features(text)
        legacy = self.build_request(request, cancel)
        for event in legacy:
            if isinstance(event, BuildError) and needs:
                event = dataclasses.replace(
                    event,
                    message=(
                        f"This Dockerfile needs BuildKit ({', '.join(needs)}), but the legacy "
                        f"builder was used ({info.reason or 'BuildKit is off'}). Install the "
                        "docker buildx plugin (Debian: docker-buildx) to build it."
                    ),
                )
            yield event

    def build_buildkit(
        self,
        request: BuildRequest,
        cancel: threading.Event,
        info: BuilderInfo | None = None,
    ) -> Iterator[BuildEvent]:
        """Build with BuildKit; a generator of events ending with exactly one terminal event."""
        info = info or self.builder_info()
        if not info.buildkit:
            yield BuildError(f"BuildKit is not available: {info.reason}.")
            return
        if cancel.is_set():
            yield BuildCancelled()
            return
        try:
            dockerfile_text = request.dockerfile.read_text("utf-8", "replace")
        except OSError:
            dockerfile_text = ""
        with tempfile.TemporaryDirectory(prefix="imagedeck-build-") as tmp:
            iidfile = os.path.join(tmp, "iid")
            argv, env = self.buildx_argv(request, info, iidfile)
            before = self._cache_ids()
            try:
                process = subprocess.Popen(  # an argv list, no shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=str(request.context_dir),
                    start_new_session=True,  # our SIGINT reaches buildx, not the terminal's
                )
            except OSError as exc:
                yield BuildError(f"Could not start docker buildx: {exc}", detail=str(exc))
                return
            LIVE_BUILDS.add(process)
            try:
                yield from self._run_buildx(
                    process, request, cancel, dockerfile_text, iidfile, before
                )
            finally:
                LIVE_BUILDS.discard(process)

    def _run_buildx(
        self,
        process: subprocess.Popen[bytes],
        request: BuildRequest,
        cancel: threading.Event,
        dockerfile_text: str,
        iidfile: str,
        before: set[str] | None,
    ) -> Iterator[BuildEvent]:
        # The build thread blocks reading buildx's stderr: the watcher stops buildx instead.
        watcher = CancelWatcher(cancel, lambda: stop(process), name="buildx-cancel")
        stdout_lines: list[str] = []
        reader = threading.Thread(
            target=collect_lines,
            args=(process.stdout, stdout_lines),
            name="buildx-out",
            daemon=True,
        )
        reader.start()
        decoder = RawJsonDecoder()
        parser = RawJsonParser(dockerfile_text)
        assert process.stderr is not None
        try:
            stream = process.stderr
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not chunk:
                    break
                for item in decoder.feed(chunk.decode("utf-8", "replace")):
                    yield from parser.feed(item)
            for item in decoder.flush():
                yield from parser.feed(item)
            yield from parser.finish()
            returncode = process.wait()
        finally:
            watcher.finish()
            if process.poll() is None:
                # The consumer stopped reading (the generator was closed): do not leave buildx.
                stop(process)
            reader.join(timeout=5)
        if cancel.is_set():
            removed = self._prune_new_cache(before) if before is not None else []
            yield BuildCancelled(tuple(removed))
            return
        if returncode != 0:
            yield parser.failure(returncode)
            return
        if stdout_lines:
            yield BuildOutput(tuple(stdout_lines))
        try:
            image_id = Path(iidfile).read_text("utf-8").strip()
        except OSError:
            image_id = ""
        if not image_id:
            yield BuildError("buildx finished without reporting an image ID.")
            return
        yield BuildImageId(image_id)
        yield BuildSucceeded(image_id, request.tag_texts)

    def _cache_ids(self) -> set[str] | None:
        """IDs of the build cache records now (None when the daemon does not say)."""
        try:
            return {r.id for r in self.build_cache().records}
        except Exception:
            return None

    def _prune_new_cache(self, before: set[str]) -> list[str]:
        """Prune the cache records a cancelled build wrote (everything not there before).

        The daemon releases (and sometimes still commits) a cancelled build's records a moment
        after buildx exits: records still in use are tried again, and the cache is looked at
        until it has shown nothing new a few times in a row.
        """
        removed: list[str] = []
        deadline = time.monotonic() + CANCEL_WAIT
        quiet = 0
        while time.monotonic() < deadline:
            try:
                usage = self.build_cache()
            except Exception:
                return removed
            new = tuple(r for r in usage.records if r.id not in before)
            if not new:
                quiet += 1
                if quiet >= CANCEL_QUIET_LOOKS:
                    return removed
                time.sleep(0.25)
                continue
            quiet = 0
            plan = CachePrunePlan(None, tuple(_children_first(list(new))))
            try:
                result = self.prune_cache(plan)
            except Exception:
                return removed
            removed += [f"cache {i}" for i in result.deleted]
            time.sleep(0.2)
        return removed

    # -- the build cache -------------------------------------------------------------------------

    def build_cache(self) -> BuildCacheUsage:
        """The daemon's build cache records (``docker system df``'s Build Cache line)."""
        # read_df: one /system/df at a time per service, and another client's in progress
        # waited out (Engine 20.10 refuses a second one).
        with self.translate("read the build cache"):
            df = self.read_df()
        return BuildCacheUsage(
            tuple(_record(r) for r in df.get("BuildCache") or [] if isinstance(r, dict))
        )

    def plan_cache_prune(
        self, older_than: timedelta | None = None, now: datetime | None = None
    ) -> CachePrunePlan:
        """Exactly which cache records a prune removes, and what that frees."""
        usage = self.build_cache()
        return plan_cache_prune(usage, older_than, now or datetime.now(timezone.utc))

    def prune_cache(
        self,
        plan: CachePrunePlan,
        progress: Callable[[int, int], None] | None = None,
    ) -> CachePruneResult:
        """Remove exactly the plan's records (one ``/build/prune`` with an ``id`` filter each)."""
        deleted: list[str] = []
        reclaimed = 0
        errors: dict[str, str] = {}
        wanted = {r.id for r in plan.records}
        pending = list(plan.records)
        done = 0
        # A record whose child still exists is kept by the daemon. Engine 26 reports no parents
        # in /system/df, so the order cannot always be known: what was kept is tried again
        # once its children went, until a pass removes nothing more.
        while pending:
            kept: list[CacheRecord] = []
            for record in pending:
                try:
                    with self.translate(f"prune build cache {record.id}"):
                        result = self.api.prune_builds(filters={"id": [record.id]}, all=True)
                except Exception as exc:
                    errors[record.id] = str(exc)
                    continue
                got = [str(i) for i in (result or {}).get("CachesDeleted") or []]
                # The id filter matches by pattern: anything else it caught is reported too.
                deleted += got
                reclaimed += int((result or {}).get("SpaceReclaimed") or 0)
                if record.id in got:
                    done += 1
                    if progress is not None:
                        progress(done, len(plan.records))
                else:
                    kept.append(record)
            if len(kept) == len(pending):
                break
            pending = kept
        else:
            kept = []
        failed = [f"{i}: {e}" for i, e in errors.items()]
        failed += [f"{r.id}: the daemon kept it" for r in kept if r.id not in errors]
        extra = tuple(i for i in deleted if i not in wanted)
        return CachePruneResult(tuple(deleted), reclaimed, tuple(failed), extra)


# What other modules import from here (the parser, the cache model and buildx live apart now).
__all__ = [
    "BuildCacheUsage",
    "BuildKitMixin",
    "BuilderInfo",
    "CachePrunePlan",
    "CachePruneResult",
    "CacheRecord",
    "RawJsonDecoder",
    "RawJsonParser",
    "build_cache_size",
    "buildkit_features",
    "explain_buildkit_error",
    "plan_cache_prune",
]
