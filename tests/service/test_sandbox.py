"""The sandbox itself: seeded images and containers, registry, search index, network safety.

These run inside the sandbox's network namespace (``make test`` / ``scripts/sandbox exec``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import DockerCli, Engine, Sandbox, _unavailable, ping_daemon
from tui.service.engine import familiar

pytestmark = pytest.mark.daemon

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sandbox"

SEEDED = (
    "imagedeck/busybox:latest",
    "demo/app:1.0",
    "demo/app:1.2",
    "demo/app:2.0",
    "demo/app:10.0",
    "demo/multi:latest",
    "demo/alias:one",
    "demo/alias:two",
    "demo/dangle:latest",
    "demo/stopped:latest",
    "demo/running:latest",
    "demo/wasted:latest",
    "demo/pushed:latest",
    "127.0.0.1:5000/demo/app:1.0",
    "127.0.0.1:5000/demo/pushed:latest",
)


def image_id(docker_cli: DockerCli, reference: str) -> str:
    """The full image ID of ``reference``."""
    return docker_cli("image", "inspect", "-f", "{{.Id}}", reference, check=True).stdout.strip()


def require_inside(sandbox: Sandbox) -> None:
    """Registry and index listen on the namespace's loopback: the test must run in there."""
    if not sandbox.inside_netns():
        _unavailable(f"not inside {sandbox.netns}; run the tests through `scripts/sandbox exec`")


def get_json(url: str) -> object:
    """GET ``url`` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def load_search_index() -> ModuleType:
    """Import scripts/search_index.py (not a package) to compare against its catalogue."""
    spec = importlib.util.spec_from_file_location(
        "search_index", ROOT / "scripts" / "search_index.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- seeded images and containers ----------------------------------------------------------


@pytest.mark.parametrize("reference", SEEDED)
def test_seeded_reference_exists(docker_cli: DockerCli, reference: str) -> None:
    assert image_id(docker_cli, reference).startswith("sha256:")


def test_app_tags_are_distinct_images(docker_cli: DockerCli) -> None:
    ids = {image_id(docker_cli, f"demo/app:{tag}") for tag in ("1.0", "1.2", "2.0", "10.0")}
    assert len(ids) == 4


def test_multi_and_aliases_are_one_image(docker_cli: DockerCli) -> None:
    ids = {image_id(docker_cli, ref) for ref in ("demo/multi:latest", "demo/alias:one")}
    ids.add(image_id(docker_cli, "demo/alias:two"))
    assert len(ids) == 1
    tags = json.loads(docker_cli("image", "inspect", "demo/multi:latest", check=True).stdout)[0][
        "RepoTags"
    ]
    # Podman writes Docker Hub's name into them (docker.io/demo/multi:latest).
    assert {familiar(tag) for tag in tags} == {
        "demo/multi:latest",
        "demo/alias:one",
        "demo/alias:two",
    }


def test_old_dangle_build_is_dangling(docker_cli: DockerCli) -> None:
    dangling = docker_cli(
        "images",
        "-q",
        "--no-trunc",
        "-f",
        "dangling=true",
        "-f",
        "label=org.imagedeck.generation=old",
        check=True,
    )
    old_ids = set(dangling.stdout.split())
    assert old_ids, "the old build of demo/dangle:latest is not a dangling image"
    inspect = json.loads(docker_cli("image", "inspect", *sorted(old_ids), check=True).stdout)
    assert all(image["RepoTags"] == [] for image in inspect)
    assert image_id(docker_cli, "demo/dangle:latest") not in old_ids


def test_containers_states_and_images(docker_cli: DockerCli) -> None:
    inspect = json.loads(
        docker_cli("container", "inspect", "ideck-stopped", "ideck-running", check=True).stdout
    )
    stopped, running = inspect
    assert stopped["State"]["Status"] == "exited"
    # familiar: Podman records the name it resolved (docker.io/demo/stopped:latest).
    assert familiar(stopped["Config"]["Image"]) == "demo/stopped:latest"
    assert stopped["Image"] == image_id(docker_cli, "demo/stopped:latest")
    assert running["State"]["Status"] == "running"
    assert familiar(running["Config"]["Image"]) == "demo/running:latest"
    assert running["Image"] == image_id(docker_cli, "demo/running:latest")


def test_wasted_layers_hide_bytes(docker_cli: DockerCli) -> None:
    history = docker_cli(
        "history",
        "--no-trunc",
        "--human=false",
        "--format",
        "{{.Size}}\t{{.CreatedBy}}",
        "demo/wasted:latest",
        check=True,
    ).stdout.splitlines()
    run_sizes = [
        int(line.split("\t", 1)[0]) for line in history if "RUN " in line or "/bin/sh -c " in line
    ]
    # layer 1 ~900 KB, layer 2 overwrites 300 KB, layers 3 and 4 only delete (whiteouts)
    assert sum(run_sizes) > 1_100_000
    listing = docker_cli("run", "--rm", "demo/wasted:latest", "ls", "/data", check=True)
    assert sorted(listing.stdout.split()) == ["blob.bin", "kept.txt"]
    visible = docker_cli("run", "--rm", "demo/wasted:latest", "du", "-sk", "/data", check=True)
    assert int(visible.stdout.split()[0]) < 400


def test_pushed_references_keep_local_tags(docker_cli: DockerCli) -> None:
    assert image_id(docker_cli, "127.0.0.1:5000/demo/app:1.0") == image_id(
        docker_cli, "demo/app:1.0"
    )
    assert image_id(docker_cli, "127.0.0.1:5000/demo/pushed:latest") == image_id(
        docker_cli, "demo/pushed:latest"
    )


# --- registry and search index ---------------------------------------------------------------


def test_registry_catalog_lists_pushed_repositories(sandbox: Sandbox) -> None:
    require_inside(sandbox)
    catalog = get_json(f"http://{sandbox.registry}/v2/_catalog?n=1000")
    assert isinstance(catalog, dict)
    assert {"demo/app", "demo/pushed"} <= set(catalog["repositories"])
    app_tags = get_json(f"http://{sandbox.registry}/v2/demo/app/tags/list")
    assert isinstance(app_tags, dict)
    assert "1.0" in app_tags["tags"]


def test_search_index_answers_v1_search(sandbox: Sandbox) -> None:
    require_inside(sandbox)
    answer = get_json(f"http://{sandbox.search_index}/v1/search?q=busybox&n=5")
    assert isinstance(answer, dict)
    assert set(answer) == {"num_results", "query", "page", "page_size", "results"}
    assert answer["query"] == "busybox"
    assert answer["page_size"] == 5
    names = [result["name"] for result in answer["results"]]
    assert "library/busybox" in names
    official = next(r for r in answer["results"] if r["name"] == "library/busybox")
    assert official["is_official"] is True
    assert official["star_count"] > 1000


def test_daemon_search_returns_index_results_podman_prefixes_names_and_drops_stars(
    sandbox: Sandbox, docker_cli: DockerCli, engine: Engine
) -> None:
    """Docker relays the index's v1 search; Podman's compat API prefixes every name with the
    index and sends its stars as "Stars", which the docker CLI does not read (0)."""
    result = docker_cli(
        "search",
        "--no-trunc",
        "--format",
        "{{.Name}}\t{{.StarCount}}\t{{.IsOfficial}}",
        f"{sandbox.search_index}/demo",
        check=True,
    )
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    if engine.podman:
        prefix = f"{sandbox.search_index}/"
        assert all(name.startswith(prefix) and stars == "0" for name, stars, _ in rows)
        rows = [[name.removeprefix(prefix), "-", official] for name, _, official in rows]
    expected = [
        (name, "-" if engine.podman else str(stars))
        for name, _description, stars, _official, _automated in load_search_index().CATALOGUE
        if "demo" in name
    ]
    assert sorted((name, stars) for name, stars, _ in rows) == sorted(expected)
    assert {"demo/app", "demo/pushed"} <= {name for name, _, _ in rows}


# --- network safety --------------------------------------------------------------------------


def _netns_inode(path: str) -> int | None:
    """Inode of a network namespace file, None when it cannot be read."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _parent_pid(pid: int) -> int:
    """Parent of ``pid`` (0 when unknown)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def host_netns(sandbox: Sandbox) -> str:
    """A path to the host's network namespace, as seen from here.

    /proc/1/ns/net when it is readable; on machines where PID 1 is out of reach (it is on
    the development VMs: "Permission denied" even for root) the nearest ancestor process that
    lives outside the sandbox namespace, i.e. whoever ran ``scripts/sandbox exec``.
    """
    sandbox_inode = _netns_inode(sandbox.netns)
    if not sandbox.inside_netns():
        return f"/proc/{os.getpid()}/ns/net"
    init_inode = _netns_inode("/proc/1/ns/net")
    if init_inode is not None and init_inode != sandbox_inode:
        return "/proc/1/ns/net"
    pid = os.getppid()
    while pid > 1:
        path = f"/proc/{pid}/ns/net"
        inode = _netns_inode(path)
        if inode is not None and inode != sandbox_inode:
            return path
        pid = _parent_pid(pid)
    pytest.fail("cannot find a process in the host network namespace")


def link_names(netns: str) -> list[str]:
    """Names of the network links in ``netns``."""
    out = subprocess.run(
        ["nsenter", f"--net={netns}", "ip", "-o", "link", "show"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return sorted(line.split(": ")[1].split("@")[0] for line in out.splitlines())


CONFIGURATIONS = ("docker-20.10/overlay2", "docker-26/overlay2", "docker-26/containerd", "podman")


def throwaway_env(config: str, name: str, directory: str) -> dict[str, str]:
    """The environment of a throwaway sandbox of configuration ``config`` (no seeding)."""
    engine, _, store = config.partition("/")
    return {
        **os.environ,
        "IMAGEDECK_SANDBOX_NAME": name,
        "IMAGEDECK_SANDBOX_DIR": directory,
        "IMAGEDECK_SANDBOX_SEED": "0",
        "IMAGEDECK_SANDBOX_ENGINE": engine,
        "IMAGEDECK_SANDBOX_STORE": store,
    }


def run_script(
    env: dict[str, str], *args: str, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """scripts/sandbox ARGS with ``env`` (run from ``cwd``)."""
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, cwd=cwd
    )


def daemon_folders(directory: str) -> dict[str, str]:
    """The working folder of each live process of the sandbox in ``directory``, by pidfile."""
    folders = {}
    for pidfile in Path(directory).rglob("*.pid"):
        try:
            folders[pidfile.name] = os.readlink(f"/proc/{int(pidfile.read_text())}/cwd")
        except (OSError, ValueError):
            continue  # not running (a spawn pidfile of a process that exec'd on)
    return folders


def start_probe_container(docker_host: str, directory: str) -> str:
    """Run ``sleep <unique>`` in a container of a one-binary image; the unique argument."""
    marker = str(3_000_000 + uuid.uuid4().int % 1_000_000)
    rootfs = Path(directory, "probe-rootfs")
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    image = subprocess.run(
        ["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True, timeout=60
    ).stdout

    def docker(*args: str, data: bytes | None = None) -> None:
        subprocess.run(
            ["docker", "-H", docker_host, *args],
            input=data,
            capture_output=True,
            check=True,
            timeout=120,
        )

    docker("import", "-", "probe/busybox:1", data=image)
    docker("run", "-d", "--name", "probe", "probe/busybox:1", "/bin/busybox", "sleep", marker)
    assert processes_with(marker)
    return marker


def processes_with(argument: str) -> list[int]:
    """PIDs of `busybox sleep ARGUMENT` processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"sleep" in argv and argument.encode() in argv:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("config", CONFIGURATIONS)
def test_each_engine_starts_apart_and_leaves_host_links_alone(
    sandbox: Sandbox, config: str
) -> None:
    """Start, check and purge a throwaway sandbox of each engine: the daemon that answers is
    that engine, with its own daemon config and marker; no host link is added, removed or
    renamed; a running container goes with the sandbox."""
    host = host_netns(sandbox)
    host_inode = _netns_inode(host)
    assert host_inode is not None and host_inode != _netns_inode(sandbox.netns)
    name = f"linkcheck-{uuid.uuid4().hex[:6]}"
    directory = tempfile.mkdtemp(prefix="ideck-linkcheck-", dir="/var/tmp")
    env = throwaway_env(config, name, directory)
    engine, _, store = config.partition("/")
    podman = engine == "podman"
    socket_path = f"{directory}/{'podman' if podman else 'docker'}.sock"

    before = link_names(host)
    # Started from a folder that then goes away, as a CI clone does: the daemons must not live
    # in it (Podman's conmon then fails every run: "Failed to get working directory").
    caller = tempfile.mkdtemp(prefix="ideck-caller-", dir="/var/tmp")
    started = run_script(env, "start", cwd=caller)
    shutil.rmtree(caller)
    try:
        assert started.returncode == 0, started.stderr
        folders = daemon_folders(directory)
        assert folders and not [f for f in folders.values() if f.startswith(caller)], folders
        status = run_script(env, "status")
        assert status.returncode == 0, status.stdout
        assert ping_daemon(socket_path) is None
        version = json.loads(
            subprocess.run(
                ["docker", "-H", f"unix://{socket_path}", "version", "--format", "{{json .}}"],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout
        )["Server"]
        components = {c["Name"]: c["Version"] for c in version.get("Components") or []}
        if podman:
            assert "Podman Engine" in components
            assert Path(f"{directory}/containers.conf").is_file()
        else:
            assert components["Engine"].startswith(engine.removeprefix("docker-") + ".")
            config_file = json.loads(Path(f"{directory}/daemon.json").read_text())
            assert (config_file.get("features") or {}).get("containerd-snapshotter", False) is (
                store == "containerd"
            )
            # the daemon made its bridge, in its own namespace
            assert "docker0" in link_names(f"/var/run/netns/{name}")
        assert Path(f"{directory}/engine").read_text().strip() == (
            "podman/overlay" if podman else config
        )
        exported = run_script(env, "env").stdout
        assert f"export IMAGEDECK_SANDBOX_ENGINE={engine}" in exported
        marker = start_probe_container(f"unix://{socket_path}", directory)
        during = link_names(host)
    finally:
        stopped = run_script(env, "stop", "--purge")
    after = link_names(host)
    assert stopped.returncode == 0, stopped.stderr
    # The running container went with its daemon (Podman's live under conmon, apart).
    assert not processes_with(marker)
    assert before == during == after
    assert not Path(directory).exists()
    assert not Path(f"/var/run/netns/{name}").exists()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(
    ("made", "asked"),
    [
        ("docker-26/containerd", "docker-26/overlay2"),
        ("docker-26/overlay2", "docker-20.10/overlay2"),
        ("docker-20.10/overlay2", "podman"),
        ("podman/overlay", "docker-26/containerd"),
    ],
)
def test_a_data_root_made_by_another_engine_is_refused(made: str, asked: str) -> None:
    """The marker stops another engine or store from opening a data root; nothing starts."""
    name = f"markcheck-{uuid.uuid4().hex[:6]}"
    directory = tempfile.mkdtemp(prefix="ideck-markcheck-", dir="/var/tmp")
    try:
        Path(directory, "data").mkdir()
        Path(directory, "engine").write_text(f"{made}\n")
        refused = run_script(throwaway_env(asked, name, directory), "start")
        assert refused.returncode == 1
        assert f"was made by {made}" in refused.stderr
        assert "refusing to reuse it" in refused.stderr
        assert Path(directory, "engine").read_text().strip() == made
        assert not Path(f"/var/run/netns/{name}").exists()
        assert not Path(directory, "daemon.json").exists()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        Path(f"{directory}.flock").unlink(missing_ok=True)


def test_a_data_root_without_marker_is_the_system_dockers() -> None:
    """Data roots from before the marker were made by the system's dockerd (classic store)."""
    name = f"markcheck-{uuid.uuid4().hex[:6]}"
    directory = tempfile.mkdtemp(prefix="ideck-markcheck-", dir="/var/tmp")
    version = subprocess.run(
        ["dockerd", "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    system = "docker-26" if "version 26." in version else "docker-20.10"
    other = "docker-20.10" if system == "docker-26" else "docker-26"
    try:
        Path(directory, "data", "image").mkdir(parents=True)
        refused = run_script(throwaway_env(f"{other}/overlay2", name, directory), "start")
        assert refused.returncode == 1
        assert f"was made by {system}/overlay2" in refused.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        Path(f"{directory}.flock").unlink(missing_ok=True)


def test_containerd_store_needs_docker_26() -> None:
    refused = run_script(
        {
            **os.environ,
            "IMAGEDECK_SANDBOX_ENGINE": "docker-20.10",
            "IMAGEDECK_SANDBOX_STORE": "containerd",
        },
        "status",
    )
    assert refused.returncode == 1
    assert "needs IMAGEDECK_SANDBOX_ENGINE=docker-26" in refused.stderr
