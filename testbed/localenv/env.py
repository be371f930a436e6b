"""Bring the whole local environment up and down, in order."""

from __future__ import annotations

import logging
import secrets
import shutil
import time

from . import cluster, hardened, kube, mariadb, process
from .certs import ensure_pki
from .config import OPERATOR_NAMESPACE, Paths, State

log = logging.getLogger(__name__)

# Stopped in reverse order of start.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", mariadb.NAME, hardened.NAME)
REQUIRED_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl")


def _new_state() -> State:
    state = State(
        etcd_client_port=process.free_port(),
        etcd_peer_port=process.free_port(),
        apiserver_port=process.free_port(),
        controller_manager_port=process.free_port(),
        mysql_port=process.free_port(),
        admin_token=secrets.token_urlsafe(32),
        mysql_admin_password=secrets.token_urlsafe(24),
    )
    complete(state)
    return state


def complete(state: State) -> bool:
    """Choose what a state file written before a component existed lacks; True when it chose anything."""
    chose = False
    if not state.mysql_hardened_port:
        state.mysql_hardened_port = process.free_port()
        chose = True
    if not state.mysql_hardened_admin_password:
        state.mysql_hardened_admin_password = hardened.new_admin_password()
        chose = True
    return chose


def load_or_create(paths: Paths) -> State:
    """The recorded state, completed and saved when it lacks anything; a new one on first start."""
    state = State.load(paths)
    if state is None:
        state = _new_state()
        state.save(paths)
    elif complete(state):
        state.save(paths)
    return state


def up(paths: Paths) -> tuple[State, float]:
    """Start whatever is not running; returns the state and the seconds until the API was ready."""
    missing = [b for b in REQUIRED_BINARIES if not (paths.bin / b).exists()]
    if missing:
        raise process.ProcessError(f"missing {', '.join(missing)} in {paths.bin}: run `make tools` first")
    state = load_or_create(paths)
    _check_ports(paths, state)
    started = time.monotonic()
    ensure_pki(paths.pki)
    kube.start_etcd(paths, state)
    kube.start_apiserver(paths, state)
    api_seconds = time.monotonic() - started
    kube.write_kubeconfig(paths, state)
    kube.start_controller_manager(paths, state)
    mariadb.start(paths, state)
    hardened.start(paths, state)
    cluster.bootstrap(paths, state)
    return state, api_seconds


def _check_ports(paths: Paths, state: State) -> None:
    """A port recorded for a component that is not running must be free, else say who holds it."""
    owners = {
        "etcd": (state.etcd_client_port, state.etcd_peer_port),
        "kube-apiserver": (state.apiserver_port,),
        "kube-controller-manager": (state.controller_manager_port,),
        mariadb.NAME: (state.mysql_port,),
        hardened.NAME: (state.mysql_hardened_port,),
    }
    for name, ports in owners.items():
        if process.pid_of(paths, name):
            continue
        taken = [p for p in ports if process.port_open(p)]
        if taken:
            raise process.ProcessError(
                f"port {taken[0]} recorded for {name} is taken by another process; "
                f"run `make localenv-down` and remove {paths.state} to pick new ports"
            )


def down(paths: Paths, purge: bool = False) -> list[str]:
    """Stop exactly the processes we started (by PID); with purge, delete the state folder too."""
    stopped = [name for name in reversed(COMPONENTS) if process.stop(paths, name)]
    if purge and paths.state.exists():
        shutil.rmtree(paths.state)
    return stopped


def status(paths: Paths) -> dict[str, int | None]:
    return {name: process.pid_of(paths, name) for name in COMPONENTS}


def exports(paths: Paths, state: State) -> dict[str, str]:
    return {
        "KUBECONFIG": str(paths.kubeconfig),
        "MYSQL_HOST": "127.0.0.1",
        "MYSQL_PORT": str(state.mysql_port),
        "MYSQL_ADMIN_USER": state.mysql_admin_user,
        "MYSQL_ADMIN_PASSWORD": state.mysql_admin_password,
        # The hardened MariaDB (hardened.py; MySQLServer `hardened`): TLS only, with the CA in
        # <state>/pki/ca.crt and a certificate for 127.0.0.1.
        "MYSQL_HARDENED_PORT": str(state.mysql_hardened_port),
        "MYSQL_HARDENED_ADMIN_USER": state.mysql_hardened_admin_user,
        "MYSQL_HARDENED_ADMIN_PASSWORD": state.mysql_hardened_admin_password,
        "OPERATOR_NAMESPACE": OPERATOR_NAMESPACE,
    }
