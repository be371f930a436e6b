"""Run the real ansible-operator in the background, tracked by PID: what molecule's converge starts and its
cleanup stops (`make run` keeps the operator in the foreground instead).

    python -m testbed.background_operator start --state-dir DIR [--watch-namespace NS]
    python -m testbed.background_operator stop --state-dir DIR
    python -m testbed.background_operator status --state-dir DIR

The operator runs with this checkout's watches.yaml and the environment `make run` gives it
(`localenv.operator.operator_env`), against the cluster in `--kubeconfig` (default: `$KUBECONFIG`).
Its PID file and log are `DIR/pids/ansible-operator.pid` and `DIR/logs/ansible-operator.log`.
Each command prints one JSON line, `{"changed": ..., "pid": ..., "log": ...}`, for Ansible's `changed_when`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .localenv import process
from .localenv.config import OPERATOR_NAMESPACE, REPO_ROOT, Paths
from .localenv.operator import OperatorProcess, PortsTaken


def operator_extra_env(kubeconfig: str, operator_namespace: str, watch_namespace: str) -> dict[str, str]:
    """What differs from `make run`: the cluster, where the server Secrets live, and which namespace to watch."""
    return {
        "KUBECONFIG": kubeconfig,
        "OPERATOR_NAMESPACE": operator_namespace,
        "POD_NAMESPACE": operator_namespace,
        # Empty: every namespace, as the manager Deployment does.
        "WATCH_NAMESPACE": watch_namespace,
    }


def start(operator: OperatorProcess, extra_env: dict[str, str]) -> dict[str, object]:
    """Start the operator unless it already runs; wait until it is ready."""
    if operator.pid is not None:
        return {"changed": False, "pid": operator.pid, "log": str(operator.log)}
    operator.start(extra_env=extra_env)
    return {"changed": True, "pid": operator.pid, "log": str(operator.log)}


def stop(operator: OperatorProcess) -> dict[str, object]:
    """Stop the operator (its whole process group) if it runs; wait until its fixed ports are free."""
    pid = operator.pid
    if pid is not None:
        operator.stop()
    return {"changed": pid is not None, "pid": pid, "log": str(operator.log)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="background_operator", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--state-dir", type=Path, required=True, help="folder for the PID file and the log")
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""), help="default: $KUBECONFIG")
    parser.add_argument(
        "--operator-namespace",
        default=os.environ.get("OPERATOR_NAMESPACE", OPERATOR_NAMESPACE),
        help=f"namespace of the server Secrets (default: $OPERATOR_NAMESPACE or {OPERATOR_NAMESPACE})",
    )
    parser.add_argument("--watch-namespace", default="", help="watch only this namespace (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    paths = Paths(root=REPO_ROOT, state=args.state_dir.resolve())
    operator = OperatorProcess(paths, watches=REPO_ROOT / "watches.yaml")
    try:
        if args.command == "stop":
            result = stop(operator)
        elif args.command == "status":
            result = {"changed": False, "pid": operator.pid, "log": str(operator.log)}
        elif not args.kubeconfig:
            print("error: no cluster: set KUBECONFIG or pass --kubeconfig", file=sys.stderr)
            return 2
        else:
            extra_env = operator_extra_env(args.kubeconfig, args.operator_namespace, args.watch_namespace)
            result = start(operator, extra_env)
    except (process.ProcessError, PortsTaken) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
