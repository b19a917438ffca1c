#!/usr/bin/env python3
"""Remote endpoints of the sandbox daemon, for the tcp+TLS and ssh:// tests (issue 8).

Inside the sandbox's network namespace, on loopback:

* ``tcp://127.0.0.1:2376`` -- a TLS-terminating proxy in front of the daemon's unix socket,
  requiring a client certificate signed by the sandbox CA (what ``dockerd --tlsverify`` does).
  A proxy rather than more ``-H`` flags on dockerd: adding a listener means restarting the shared
  daemon while other tests run against it; the proxy starts and stops on its own.
* ``ssh://root@127.0.0.1:2222`` -- an OpenSSH server with a generated host key that accepts one
  generated client key, restricted (forced command) to ``docker system dial-stdio`` against the
  sandbox socket, which is all docker-py's ssh transport asks for.

Material lives in ``STATE/remote`` (created once, reused): ``tls/{ca,server,client}``, a second
"wrong" CA with its own client certificate, ``ssh/`` keys, ``known_hosts`` and ``sshd_config``,
and ``endpoints.json`` describing all of it for the tests.

    scripts/remote_endpoints.py start  --state DIR --netns PATH --socket PATH
    scripts/remote_endpoints.py stop   --state DIR
    scripts/remote_endpoints.py status --state DIR
    scripts/remote_endpoints.py tls-proxy ...   (the proxy itself; started by `start`)

`scripts/sandbox start|stop|status` call this; it is idempotent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

TLS_ADDR = ("127.0.0.1", 2376)
SSH_ADDR = ("127.0.0.1", 2222)
SSH_USER = "root"
READY_TIMEOUT = 20.0
# command -> Debian package
PACKAGES = {"openssl": "openssl", "sshd": "openssh-server", "ssh-keygen": "openssh-client"}


def log(text: str) -> None:
    """Progress on stderr, in the sandbox script's style."""
    print(f"remote-endpoints: {text}", file=sys.stderr, flush=True)


def run(*argv: str) -> None:
    """Run a setup command quietly; show its output when it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"remote-endpoints: {argv[0]} failed ({done.returncode})")


def find(command: str) -> str | None:
    """A command on PATH or in the sbin directories (sshd lives in /usr/sbin)."""
    extra = os.pathsep.join(["/usr/sbin", "/sbin", "/usr/local/sbin"])
    return shutil.which(command, path=os.environ.get("PATH", "") + os.pathsep + extra)


def ensure_packages() -> None:
    """Install openssl / openssh-server when missing, without starting the host's sshd."""
    missing = sorted({pkg for cmd, pkg in PACKAGES.items() if find(cmd) is None})
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(f"remote-endpoints: install first: apt-get install -y {' '.join(missing)}")
    log(f"installing {' '.join(missing)}")
    # openssh-server's postinst starts a system sshd on port 22 where it can; policy-rc.d
    # answering 101 ("action forbidden") stops that: we only want the binary.
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *missing],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    finally:
        if created:
            policy.unlink(missing_ok=True)


# --- certificates and keys ---------------------------------------------------------------------


def make_ca(directory: Path, name: str) -> None:
    """A self-signed CA (ca.pem, ca-key.pem) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "ca.pem").exists():
        return
    run("openssl", "genrsa", "-out", str(directory / "ca-key.pem"), "2048")
    run(
        "openssl", "req", "-x509", "-new", "-sha256", "-days", "3650",
        "-key", str(directory / "ca-key.pem"),
        "-subj", f"/CN={name}",
        "-out", str(directory / "ca.pem"),
    )  # fmt: skip


def make_cert(ca: Path, directory: Path, cn: str, server: bool) -> None:
    """cert.pem/key.pem signed by ``ca``; with ``server`` valid for 127.0.0.1 and localhost.

    The CA is copied beside them as ca.pem: the layout DOCKER_CERT_PATH expects.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "cert.pem").exists():
        return
    key, csr, ext = directory / "key.pem", directory / "req.csr", directory / "ext.cnf"
    run("openssl", "genrsa", "-out", str(key), "2048")
    run("openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", str(csr))
    if server:
        ext.write_text(
            "subjectAltName = IP:127.0.0.1,DNS:localhost\nextendedKeyUsage = serverAuth\n"
        )
    else:
        ext.write_text("extendedKeyUsage = clientAuth\n")
    run(
        "openssl", "x509", "-req", "-sha256", "-days", "3650",
        "-in", str(csr), "-CA", str(ca / "ca.pem"), "-CAkey", str(ca / "ca-key.pem"),
        "-CAcreateserial", "-extfile", str(ext), "-out", str(directory / "cert.pem"),
    )  # fmt: skip
    csr.unlink()
    ext.unlink()
    shutil.copy(ca / "ca.pem", directory / "ca.pem")
    key.chmod(0o600)


def make_tls(root: Path) -> None:
    """The sandbox CA with server and client certificates, and a stranger CA with a client."""
    make_ca(root / "ca", "imagedeck sandbox CA")
    make_cert(root / "ca", root / "server", "imagedeck sandbox daemon", server=True)
    make_cert(root / "ca", root / "client", "imagedeck test client", server=False)
    make_ca(root / "wrong-ca", "an unrelated CA")
    make_cert(root / "wrong-ca", root / "wrong-client", "a stranger", server=False)


def make_ssh(root: Path, socket_path: str) -> None:
    """Host key, client key, authorized_keys (forced dial-stdio), known_hosts, sshd_config."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    for name in ("host_ed25519_key", "client_ed25519_key"):
        if not (root / name).exists():
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(root / name))
    docker = find("docker")
    if docker is None:
        raise SystemExit("remote-endpoints: the docker CLI is missing (the ssh side runs it)")
    # The key may do one thing: what docker-py's ssh transport asks for, against our socket.
    (root / "dial-stdio").write_text(
        "#!/bin/sh\n"
        'case "$SSH_ORIGINAL_COMMAND" in\n'
        f'"docker system dial-stdio") exec {docker} -H unix://{socket_path} system dial-stdio ;;\n'
        '*) echo "only docker system dial-stdio is allowed here" >&2; exit 1 ;;\n'
        "esac\n"
    )
    (root / "dial-stdio").chmod(0o755)
    client_pub = (root / "client_ed25519_key.pub").read_text().strip()
    (root / "authorized_keys").write_text(
        f'restrict,command="{root / "dial-stdio"}" {client_pub}\n'
    )
    host_pub = " ".join((root / "host_ed25519_key.pub").read_text().split()[:2])
    (root / "known_hosts").write_text(f"[{SSH_ADDR[0]}]:{SSH_ADDR[1]} {host_pub}\n")
    (root / "sshd_config").write_text(
        f"ListenAddress {SSH_ADDR[0]}:{SSH_ADDR[1]}\n"
        f"HostKey {root / 'host_ed25519_key'}\n"
        f"PidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\n"
        # The state dir sits under /var/tmp (sticky, world-writable): StrictModes would refuse.
        "StrictModes no\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\n"
        "UsePAM no\n"
        "PrintMotd no\n"
        "AllowTcpForwarding no\n"
        "X11Forwarding no\n"
        f"AllowUsers {SSH_USER}\n"
        "LogLevel VERBOSE\n"
    )


# --- processes -----------------------------------------------------------------------------------


def live_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` when that process is alive and not a zombie."""
    try:
        pid = int(pidfile.read_text().strip())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state == "Z" else pid


def spawn(netns: str, argv: list[str], logfile: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` in the namespace, detached (own session, no inherited fds)."""
    with open(logfile, "ab") as out:
        return subprocess.Popen(
            ["nsenter", f"--net={netns}", "--", *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,  # the sandbox's start/stop lock (fd 9) must not stay held
            # Never the caller's folder: a checkout removed later (a CI clone) would leave the
            # daemon in a deleted directory (see scripts/sandbox, spawn).
            cwd=logfile.parent,
        )


def port_open(netns: str, addr: tuple[str, int]) -> bool:
    """Does something accept connections on ``addr`` inside the namespace?"""
    probe = (
        "import socket, sys\n"
        "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)\n"
        "s.close()\n"
    )
    done = subprocess.run(
        ["nsenter", f"--net={netns}", "--", sys.executable, "-c", probe, addr[0], str(addr[1])],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def wait_ready(what: str, netns: str, addr: tuple[str, int], pidfile: Path, logfile: Path) -> None:
    """Wait until ``addr`` accepts; fail with the log's tail when the process died."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not port_open(netns, addr):
        if live_pid(pidfile) is None or time.monotonic() > deadline:
            tail = logfile.read_text(errors="replace").splitlines()[-20:]
            sys.stderr.write("\n".join(tail) + "\n")
            raise SystemExit(f"remote-endpoints: {what} did not start (log: {logfile})")
        time.sleep(0.1)


def start_tls_proxy(state: Path, netns: str, socket_path: str) -> None:
    """The TLS listener on 127.0.0.1:2376 (kept when it already answers)."""
    root = state / "remote"
    pidfile, logfile = root / "tls-proxy.pid", root / "tls-proxy.log"
    if live_pid(pidfile) is not None and port_open(netns, TLS_ADDR):
        return
    tls = root / "tls"
    proc = spawn(
        netns,
        [
            sys.executable, str(Path(__file__).resolve()), "tls-proxy",
            "--listen", f"{TLS_ADDR[0]}:{TLS_ADDR[1]}", "--socket", socket_path,
            "--cert", str(tls / "server" / "cert.pem"), "--key", str(tls / "server" / "key.pem"),
            "--ca", str(tls / "ca" / "ca.pem"),
        ],
        logfile,
    )  # fmt: skip
    pidfile.write_text(f"{proc.pid}\n")
    log(f"starting TLS proxy on tcp://{TLS_ADDR[0]}:{TLS_ADDR[1]}; log: {logfile}")
    wait_ready("TLS proxy", netns, TLS_ADDR, pidfile, logfile)


def start_sshd(state: Path, netns: str) -> None:
    """sshd on 127.0.0.1:2222 (kept when it already answers)."""
    root = state / "remote" / "ssh"
    pidfile, logfile = root / "sshd.spawn.pid", root / "sshd.log"
    if live_pid(pidfile) is not None and port_open(netns, SSH_ADDR):
        return
    sshd = find("sshd")
    if sshd is None:
        raise SystemExit("remote-endpoints: sshd is missing")
    # Debian's sshd wants its privilege-separation directory.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    run(sshd, "-t", "-f", str(root / "sshd_config"))
    # -D: stay in the foreground (we track the pid); -e: log to stderr, i.e. the log file.
    proc = spawn(netns, [sshd, "-D", "-e", "-f", str(root / "sshd_config")], logfile)
    pidfile.write_text(f"{proc.pid}\n")
    log(f"starting sshd on {SSH_ADDR[0]}:{SSH_ADDR[1]}; log: {logfile}")
    wait_ready("sshd", netns, SSH_ADDR, pidfile, logfile)


def describe(state: Path) -> dict[str, object]:
    """What the tests read (endpoints.json)."""
    root = state / "remote"
    return {
        "tls": {
            "host": f"tcp://{TLS_ADDR[0]}:{TLS_ADDR[1]}",
            "client": str(root / "tls" / "client"),
            "wrong_ca": str(root / "tls" / "wrong-ca"),
            "wrong_client": str(root / "tls" / "wrong-client"),
            "ca": str(root / "tls" / "ca" / "ca.pem"),
        },
        "ssh": {
            "host": f"ssh://{SSH_USER}@{SSH_ADDR[0]}:{SSH_ADDR[1]}",
            "identity": str(root / "ssh" / "client_ed25519_key"),
            "known_hosts": str(root / "ssh" / "known_hosts"),
        },
    }


def cmd_start(args: argparse.Namespace) -> None:
    """Create what is missing, start what is not running, write endpoints.json."""
    state = Path(args.state)
    ensure_packages()
    root = state / "remote"
    root.mkdir(parents=True, exist_ok=True)
    make_tls(root / "tls")
    make_ssh(root / "ssh", args.socket)
    start_tls_proxy(state, args.netns, args.socket)
    start_sshd(state, args.netns)
    (root / "endpoints.json").write_text(json.dumps(describe(state), indent=2) + "\n")
    log(
        f"up: tcp://{TLS_ADDR[0]}:{TLS_ADDR[1]} (TLS), ssh://{SSH_USER}@{SSH_ADDR[0]}:{SSH_ADDR[1]}"
    )


def stop_pid(what: str, pidfile: Path) -> None:
    """SIGTERM the process in ``pidfile``, SIGKILL after 5 s."""
    pid = live_pid(pidfile)
    if pid is not None:
        log(f"stopping {what} (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while live_pid(pidfile) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if live_pid(pidfile) is not None:
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def cmd_stop(args: argparse.Namespace) -> None:
    """Stop the proxy and sshd (the material stays for the next start)."""
    root = Path(args.state) / "remote"
    stop_pid("TLS proxy", root / "tls-proxy.pid")
    stop_pid("sshd", root / "ssh" / "sshd.spawn.pid")


def cmd_status(args: argparse.Namespace) -> int:
    """One line per endpoint; exit 3 when one is down."""
    root = Path(args.state) / "remote"
    up = 0
    for what, pidfile, addr in (
        ("tls proxy:    ", root / "tls-proxy.pid", f"tcp://{TLS_ADDR[0]}:{TLS_ADDR[1]}"),
        ("sshd:         ", root / "ssh" / "sshd.spawn.pid", f"{SSH_ADDR[0]}:{SSH_ADDR[1]}"),
    ):
        pid = live_pid(pidfile)
        if pid is None:
            print(f"{what}down")
            up = 3
        else:
            print(f"{what}running (pid {pid}, {addr})")
    return up


# --- the TLS proxy -----------------------------------------------------------------------------
# Blocking sockets and a thread per direction: OpenSSL then sends the handshake alert itself
# ("unknown ca", "certificate required") as dockerd does; asyncio's TLS layer drops the
# connection without one, and a client would only see a bare disconnect.


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        # Half-close so hijacked streams (attach, dial-stdio style) end the way they would.
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _handle(raw: socket.socket, context: ssl.SSLContext, daemon_socket: str) -> None:
    try:
        client = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        client.settimeout(10)
        client.do_handshake()
        client.settimeout(None)
    except (ssl.SSLError, OSError) as exc:
        print(f"tls-proxy: handshake refused: {exc}", file=sys.stderr, flush=True)
        raw.close()
        return
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        daemon.connect(daemon_socket)
    except OSError:
        client.close()
        return
    back = threading.Thread(target=_pipe, args=(daemon, client), daemon=True)
    back.start()
    _pipe(client, daemon)
    back.join()
    client.close()
    daemon.close()


def cmd_tls_proxy(args: argparse.Namespace) -> None:
    """Run the proxy until terminated."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS, as dockerd --tlsverify
    host, port = args.listen.rsplit(":", 1)
    listener = socket.create_server((host, int(port)), reuse_port=False)
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=_handle, args=(raw, context, args.socket), daemon=True).start()


def main() -> int:
    """Subcommands."""
    parser = argparse.ArgumentParser(prog="remote-endpoints")
    sub = parser.add_subparsers(dest="cmd", required=True)
    start = sub.add_parser("start")
    start.add_argument("--state", required=True)
    start.add_argument("--netns", required=True)
    start.add_argument("--socket", required=True)
    for name in ("stop", "status"):
        sub.add_parser(name).add_argument("--state", required=True)
    proxy = sub.add_parser("tls-proxy")
    for option in ("--listen", "--socket", "--cert", "--key", "--ca"):
        proxy.add_argument(option, required=True)
    args = parser.parse_args()
    if args.cmd == "start":
        cmd_start(args)
    elif args.cmd == "stop":
        cmd_stop(args)
    elif args.cmd == "status":
        return cmd_status(args)
    else:
        cmd_tls_proxy(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
