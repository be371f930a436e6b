"""The suite's own local environment and the faults it injects into it.

Everything is started from a fresh state folder and stopped by PID at the end. The operator runs
with the highest log output (ANSIBLE_DEBUG_LOGS, every Ansible event) so that the leak scan sees all
it could ever print, and keeps every ansible-runner artifact of the run for the same reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
import yaml
from kubernetes import client, config

from .. import proctree
from ..localenv import cluster, env, kube, process
from ..localenv.config import REPO_ROOT, Paths, State
from ..localenv.operator import OperatorProcess, check_fixed_ports
from .crs import Crs
from .target import Target, dba_connect

log = logging.getLogger(__name__)

RUNNER_ROOT = Path("/tmp/ansible-operator/runner")  # noqa: S108 - hard-coded by ansible-operator
# Keep every run's artifacts for the leak scan (watches.yaml keeps 3 per CR).
KEPT_ARTIFACTS = 100000


@dataclass
class FaultStack:
    """Handles on the running environment: API, SQL, the operator and the processes under it."""

    paths: Paths
    state: State
    api: client.ApiClient
    concurrency: int
    target: Target  # the server under test (FAULTS_SERVER)
    operator: OperatorProcess = field(init=False)
    restarts: int = 0
    external_stops: list[str] = field(default_factory=list)  # processes something else stopped; resumed
    _injecting: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _watching: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.operator = OperatorProcess(self.paths, watches=self._write_watches())

    @classmethod
    def up(cls, state_dir: Path, concurrency: int, server: str) -> FaultStack:
        """Wipe `state_dir`, start etcd, kube-apiserver, kube-controller-manager and both MariaDBs, install
        the CRDs and the MySQLServers; `server` is the one under test."""
        check_fixed_ports()
        paths = Paths(root=REPO_ROOT, state=state_dir)
        env.down(paths, purge=True)
        try:
            state, _ = env.up(paths)
            cluster.install_crds(paths, state=state)
        except BaseException:
            env.down(paths)  # whatever did start
            raise
        api = config.new_client_from_config(str(paths.kubeconfig))
        return cls(paths=paths, state=state, api=api, concurrency=concurrency, target=Target.of(server, state))

    def down(self) -> None:
        self._watching.clear()
        with contextlib.suppress(Exception):
            self.operator.stop()
        self.api.close()
        env.down(self.paths)

    @property
    def crs(self) -> Crs:
        return Crs(self.api)

    @property
    def log_file(self) -> Path:
        return self.paths.logs / "faults.log"

    def _write_watches(self) -> Path:
        watches = yaml.safe_load((REPO_ROOT / "watches.yaml").read_text())
        for watch in watches:
            watch["maxRunnerArtifacts"] = KEPT_ARTIFACTS
        path = self.paths.state / "watches-faults.yaml"
        path.write_text(yaml.safe_dump(watches, sort_keys=False))
        return path

    # --- the operator ------------------------------------------------------------------------

    def start_operator(self) -> None:
        self.operator.start(
            extra_env={"ANSIBLE_DEBUG_LOGS": "True"},
            args=[f"--max-concurrent-reconciles={self.concurrency}", "--ansible-log-events=Everything"],
        )

    def operator_pid(self) -> int | None:
        return self.operator.pid

    def reconciles_running(self) -> int:
        """ansible-runner processes under the operator: reconciles in flight."""
        pid = self.operator_pid()
        if pid is None:
            return 0
        tree = proctree.descendants(pid, proctree.parent_map())
        return sum(1 for name in proctree.command_names(tree) if name.startswith("ansible-runner"))

    def running_commands(self) -> list[tuple[str, ...]]:
        """The argv of every process under the operator now."""
        pid = self.operator_pid()
        if pid is None:
            return []
        return proctree.commands_below(pid)

    def kill_operator(self) -> dict[int, tuple[str, ...]]:
        """SIGKILL the operator and every process under it at once; returns each killed pid with the argv
        it ran when frozen (empty when no operator ran)."""
        with self._injecting:
            return process.kill_tree(self.paths, self.operator.name)

    def restart_operator(self) -> None:
        self.start_operator()
        self.restarts += 1

    # --- processes stopped from outside ------------------------------------------------------

    def watch_for_external_stops(self) -> None:
        """On a shared machine something else may SIGSTOP our processes; that is no fault the suite
        injected, so resume them (and say so in the report) instead of timing out on a frozen stack."""
        self._watching.set()
        threading.Thread(target=self._resume_stopped, name="stop-guard", daemon=True).start()

    def _resume_stopped(self) -> None:
        while self._watching.is_set():
            time.sleep(2)
            with self._injecting:
                self._resume_once()

    def _resume_once(self) -> None:
        ours = {name: process.pid_of(self.paths, name) for name in (*env.COMPONENTS, self.operator.name)}
        pids = {pid: name for name, pid in ours.items() if pid}
        operator = ours.get(self.operator.name)
        if operator:
            tree = proctree.descendants(operator, proctree.parent_map())
            pids.update(dict.fromkeys(tree, "a process under ansible-operator"))
        frozen = proctree.stopped(pids)
        if frozen:
            proctree.resume(frozen)
            self.external_stops += [pids[pid] for pid in frozen]
            log.warning("resumed processes stopped from outside the suite: %s", [pids[pid] for pid in frozen])

    # --- the target's MariaDB -----------------------------------------------------------------

    def stop_mariadb(self, crash: bool) -> bool:
        """Stop (or crash) the target's MariaDB; True once it is verifiably down (no process, port closed)."""
        name = self.target.component
        pid = process.pid_of(self.paths, name)
        if crash:
            self._crash(name)
        else:
            process.stop(self.paths, name, timeout=60)
        return pid is not None and _gone(pid) and not process.port_open(self.target.port)

    def start_mariadb(self) -> bool:
        """Start it again; True once it verifiably answers (process and port)."""
        self.target.start(self.paths, self.state)
        return self._alive(self.target.component) and process.port_open(self.target.port)

    def admin_sql(self) -> pymysql.connections.Connection:
        """The target server as its DBA sees it (root over its socket), for the suite's own checks."""
        return dba_connect(self.paths, self.target)

    # --- the control plane -------------------------------------------------------------------

    def stop_control_plane(self, crash: bool) -> bool:
        """Stop (or crash) kube-apiserver and etcd; True once both are verifiably down (no process, ports closed)."""
        pids = [process.pid_of(self.paths, name) for name in ("kube-apiserver", "etcd")]
        for name in ("kube-apiserver", "etcd"):
            if crash:
                self._crash(name)
            else:
                process.stop(self.paths, name, timeout=60)
        ports = (self.state.apiserver_port, self.state.etcd_client_port)
        return all(pid is not None and _gone(pid) for pid in pids) and not any(map(process.port_open, ports))

    def start_control_plane(self) -> list[str]:
        """Start etcd and kube-apiserver again (and the controller manager if it gave up); returns what started."""
        started = [name for name in ("etcd", "kube-apiserver", "kube-controller-manager") if not self._alive(name)]
        kube.start_etcd(self.paths, self.state)
        kube.start_apiserver(self.paths, self.state)
        kube.start_controller_manager(self.paths, self.state)
        return started

    def _alive(self, name: str) -> bool:
        return process.pid_of(self.paths, name) is not None

    def _crash(self, name: str) -> None:
        pid = process.pid_of(self.paths, name)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        (self.paths.pids / f"{name}.pid").unlink(missing_ok=True)
        # The kernel closes its sockets with the process; wait so the restart can bind the port again.
        time.sleep(0.5)


def _gone(pid: int) -> bool:
    """The process exited (a zombie counts as exited: it holds no socket any more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return proctree.state_of(pid) in ("", "Z", "X")
