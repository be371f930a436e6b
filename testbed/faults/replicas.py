"""ansible-operator replicas with leader election, each in network, mount and UTS namespaces of its own.

Every replica, leader or not, binds the ports ansible-operator v1.42.2 hard-codes (5050; 8888 unless
--proxy-port), so two replicas on one machine need two network namespaces, as two pods have. A replica's
namespace holds only a loopback. kube-apiserver and the MariaDBs listen on the suite's loopback, and the
replica must reach them at 127.0.0.1 (its kubeconfig, the MySQLServers' host and the MariaDB certificates
name it), so a bridge in the suite's process listens on the replica's loopback on their ports and forwards
each connection to the same port on the suite's loopback. The bridge's listening sockets are made by a
thread that entered the replica's network namespace: a socket stays in the namespace it was made in.

The mount namespace gives the replica a /tmp/ansible-operator of its own (its runner folders, as a pod
has); the UTS namespace a host name, which leader election puts at the head of its identity, so the Lease
names the replica that holds it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import proctree
from ..localenv import process
from ..localenv.config import OPERATOR_NAMESPACE, Paths
from ..localenv.operator import compile_plugins, operator_args, operator_env
from .runs import RUNNER_KIND as RUNS_KIND
from .stack import RUNNER_ROOT

log = logging.getLogger(__name__)

LEASE_NAME = "external-mysql-operator"  # --leader-election-id of config/manager/manager.yaml
HEALTH_PORT = 6789  # ansible-operator's default; free in a namespace of its own
# Run by unshare in the new namespaces: loopback up, the host name, a private runner folder; then it holds
# the namespaces open (sleep) so that the replica can be started in them once the bridge listens.
NAMESPACES_SCRIPT = """set -euo pipefail
ip link set lo up
hostname "$0"
mkdir -p /tmp/ansible-operator
mount --bind "$1" /tmp/ansible-operator
exec sleep infinity
"""
BUFFER = 65536
FOLDER = "replicas"  # in the state folder: <letter>/ is the replica's /tmp/ansible-operator
PRIVATE_TMP = Path("/tmp/ansible-operator")  # noqa: S108 - hard-coded by ansible-operator


def in_network_namespace[T](netns: Path, make: Callable[[], T]) -> T:
    """Run `make` in a thread that entered the network namespace `netns` (a /proc/<pid>/ns/net file);
    only that thread moves, and it ends with `make`."""
    outcome: dict[str, T | BaseException] = {}

    def enter() -> None:
        try:
            descriptor = os.open(netns, os.O_RDONLY)
            try:
                os.setns(descriptor, os.CLONE_NEWNET)
            finally:
                os.close(descriptor)
            outcome["value"] = make()
        except BaseException as err:  # handed to the caller's thread
            outcome["error"] = err

    thread = threading.Thread(target=enter, name="enter-netns", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _listener(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    sock.settimeout(0.5)  # so that the accept loop sees the bridge close
    return sock


@dataclass
class PortBridge:
    """TCP ports of the suite's loopback, reachable on the loopback of another network namespace."""

    netns: Path
    ports: tuple[int, ...]
    _closed: threading.Event = field(default_factory=threading.Event)
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0

    def open(self) -> None:
        for port in self.ports:
            listener = in_network_namespace(self.netns, functools.partial(_listener, port))
            self._keep(listener)
            threading.Thread(target=self._accept, args=(listener, port), name=f"bridge-{port}", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
            self._sockets.clear()

    def connect_inside(self, port: int, timeout: float = 2.0) -> socket.socket:
        """A connection to `port` on the other namespace's loopback (to ask the replica itself)."""
        sock = in_network_namespace(self.netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        sock.settimeout(timeout)
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            sock.close()
            raise
        return sock

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self, listener: socket.socket, port: int) -> None:
        while not self._closed.is_set():
            try:
                inside, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            inside.settimeout(None)
            try:
                outside = socket.create_connection(("127.0.0.1", port), timeout=10)
            except OSError as err:
                log.debug("bridge %d: %s", port, err)
                inside.close()
                continue
            outside.settimeout(None)
            self.connections += 1
            for sock in (inside, outside):
                self._keep(sock)
            threading.Thread(target=_pump, args=(inside, outside), daemon=True).start()
            threading.Thread(target=_pump, args=(outside, inside), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until the source ends, then pass the end on (half-close), as a TCP proxy does."""
    with contextlib.suppress(OSError):
        while data := source.recv(BUFFER):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _http_ok(sock: socket.socket, path: str) -> bool:
    with sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]


@dataclass
class Replica:
    """One ansible-operator replica with --leader-elect, in namespaces of its own (see the module)."""

    paths: Paths
    letter: str  # "a", "b": its process name, host name and folder
    watches: Path
    ports: tuple[int, ...]  # of the suite's loopback it must reach: kube-apiserver, the MariaDBs
    bridge: PortBridge | None = None

    @property
    def name(self) -> str:
        return f"ansible-operator-{self.letter}"

    @property
    def hostname(self) -> str:
        return f"faults-replica-{self.letter}"

    @property
    def namespaces_name(self) -> str:
        return f"{self.name}-namespaces"

    @property
    def private_tmp(self) -> Path:
        """Its /tmp/ansible-operator, as the suite sees it."""
        return self.paths.state / FOLDER / self.letter

    @property
    def kind_root(self) -> Path:
        """Its MySQLDatabase runner folders (runs.RUNNER_KIND inside its mount namespace), from outside."""
        return self.private_tmp / RUNS_KIND.relative_to(PRIVATE_TMP)

    @property
    def pid(self) -> int | None:
        return process.pid_of(self.paths, self.name)

    def start(self, args: Sequence[str], extra_env: dict[str, str]) -> None:
        """The namespaces, the bridge into them, then the operator in them; returns once it answers /readyz."""
        holder = self._namespaces()
        netns = Path(f"/proc/{holder}/ns/net")
        self.bridge = PortBridge(netns, self.ports)
        self.bridge.open()
        compile_plugins(self.paths)
        run_env = operator_env(self.paths, str(self.paths.kubeconfig))
        run_env.update(extra_env)
        argv = operator_args(
            self.paths,
            str(self.watches),
            [
                f"--health-probe-bind-address=127.0.0.1:{HEALTH_PORT}",
                "--metrics-bind-address=0",
                "--leader-elect",
                f"--leader-election-id={LEASE_NAME}",
                f"--leader-election-namespace={OPERATOR_NAMESPACE}",
                *args,
            ],
        )
        enter = ["nsenter", f"--target={holder}", "--net", "--mount", "--uts", f"--wd={self.paths.root}", "--"]
        process.start(self.paths, self.name, [*enter, *argv], env=run_env, cwd=self.paths.root)
        process.wait_for(self.paths, self.name, self.ready, timeout=90)

    def _namespaces(self) -> int:
        self.private_tmp.mkdir(parents=True, exist_ok=True)
        argv = ["unshare", "--net", "--mount", "--uts", "--propagation", "private", "--"]
        argv += ["bash", "-c", NAMESPACES_SCRIPT, self.hostname, str(self.private_tmp)]
        pid = process.start(self.paths, self.namespaces_name, argv)
        process.wait_for(
            self.paths, self.namespaces_name, lambda: proctree.command_names([pid]) == ["sleep"], timeout=30
        )
        return pid

    def ready(self) -> bool:
        if self.bridge is None:
            return False
        try:
            return _http_ok(self.bridge.connect_inside(HEALTH_PORT), "/readyz")
        except OSError:
            return False

    def running_commands(self) -> list[tuple[str, ...]]:
        pid = self.pid
        if pid is None:
            return []
        return proctree.commands_below(pid)

    def kill(self) -> dict[int, tuple[str, ...]]:
        """SIGKILL the replica and every process under it at once (see proctree.kill_tree)."""
        return process.kill_tree(self.paths, self.name)

    def stop(self) -> None:
        process.stop(self.paths, self.name)
        if self.bridge is not None:
            self.bridge.close()
        process.stop(self.paths, self.namespaces_name)


def runner_roots(paths: Paths) -> list[Path]:
    """The runner folder of every replica the suite ran, as the suite sees it (for the leak scan)."""
    return sorted((paths.state / FOLDER).glob(f"*/{RUNNER_ROOT.relative_to(PRIVATE_TMP)}"))
