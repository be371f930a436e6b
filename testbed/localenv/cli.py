"""`python -m testbed.localenv up|down|status|env|run-operator|demo`."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import subprocess
import sys

from . import cluster, env, operator, process
from .config import Paths, State

log = logging.getLogger("localenv")


def _up(paths: Paths) -> int:
    state, api_seconds = env.up(paths)
    print(
        f"local environment up: API ready {api_seconds:.1f}s after start; "
        f"kube-apiserver https://127.0.0.1:{state.apiserver_port}, MariaDB 127.0.0.1:{state.mysql_port}, "
        f"hardened MariaDB 127.0.0.1:{state.mysql_hardened_port} (TLS only)"
    )
    print(f'use it: eval "$(make -s localenv-env)"   (KUBECONFIG={paths.kubeconfig})')
    return 0


def _status(paths: Paths) -> int:
    """0: all running; 3: nothing running; 1: some component died (its log tail is shown)."""
    running = env.status(paths)
    for name, pid in running.items():
        print(f"{name:24} {f'running, pid {pid}' if pid else 'not running'}")
    down = [name for name, pid in running.items() if pid is None]
    if not down:
        return 0
    if len(down) == len(running):
        return 3
    for name in down:
        print(f"--- {name} is down; last lines of {paths.logs / (name + '.log')}:")
        print(process.log_tail(paths.logs / f"{name}.log"))
    return 1


def _env(paths: Paths) -> int:
    state = State.load(paths)
    if state is None:
        print("local environment was never started: run `make localenv-up`", file=sys.stderr)
        return 1
    for key, value in env.exports(paths, state).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _cluster_kubeconfig(paths: Paths) -> tuple[str, bool]:
    """The KUBECONFIG to use, starting the embedded environment when none is configured or reachable."""
    configured = os.environ.get("KUBECONFIG", "")
    default = os.path.expanduser("~/.kube/config")
    candidate = configured or (default if os.path.exists(default) else "")
    if candidate and candidate != str(paths.kubeconfig) and cluster.reachable(paths, candidate):
        return candidate, False
    reason = f"cluster in KUBECONFIG={candidate} is not reachable" if candidate else "no KUBECONFIG set"
    print(f"{reason}: using the embedded local environment (etcd, kube-apiserver, MariaDB on loopback)")
    _up(paths)
    cluster.install_crds(paths, state=State.load(paths))
    return str(paths.kubeconfig), True


def _run_operator(paths: Paths, watches_file: str, extra: list[str], samples: bool) -> int:
    kubeconfig, embedded = _cluster_kubeconfig(paths)
    operator.check_fixed_ports()
    if samples:
        built = cluster.kubectl(
            paths, "kustomize", str(paths.root / "config" / "samples"), kubeconfig=kubeconfig
        ).stdout
        cluster.kubectl(paths, "apply", "-n", "default", "-f", "-", stdin=built, kubeconfig=kubeconfig)
        print(
            "applied config/samples to namespace default; watch it with:\n"
            f"  KUBECONFIG={kubeconfig} bin/kubectl get mysqldatabases -A -w"
        )
    operator.compile_plugins(paths)
    args = operator.operator_args(paths, watches_file, extra)
    print(f"running {' '.join(args)} against {'the embedded environment' if embedded else kubeconfig}")
    sys.stdout.flush()
    os.chdir(paths.root)  # watches.yaml's playbook paths are relative to the operator's working directory
    os.execve(args[0], args, operator.operator_env(paths, kubeconfig))  # noqa: S606 - replaces this process
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localenv", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start etcd, kube-apiserver, kube-controller-manager and both MariaDBs")
    down = sub.add_parser("down", help="stop what `up` started")
    down.add_argument("--purge", action="store_true", help="also delete the state folder")
    sub.add_parser("status", help="what runs")
    sub.add_parser("env", help="shell exports for the environment")
    for name in ("run-operator", "demo"):
        run = sub.add_parser(
            name,
            help="run ansible-operator in the foreground" + (" with config/samples applied" if name == "demo" else ""),
        )
        run.add_argument("--watches-file", default="./watches.yaml")
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(level=os.environ.get("LOCALENV_LOG_LEVEL", "WARNING"), format="%(name)s: %(message)s")
    paths = Paths.from_env()
    try:
        if args.command == "up":
            return _up(paths)
        if args.command == "down":
            stopped = env.down(paths, purge=args.purge)
            print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
            return 0
        if args.command == "status":
            return _status(paths)
        if args.command == "env":
            return _env(paths)
        return _run_operator(paths, args.watches_file, extra, samples=args.command == "demo")
    except (process.ProcessError, operator.PortsTaken) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"error: {shlex.join(err.cmd)} failed:\n{err.stderr}", file=sys.stderr)
        return 2
