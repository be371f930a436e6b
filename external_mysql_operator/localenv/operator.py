"""Run the real ansible-operator the way the base image does, from this checkout."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from .config import OPERATOR_NAMESPACE, Paths

# Hard-coded in ansible-operator v1.42.2: every run's kubeconfig points at the proxy on :8888 and a
# second metrics listener binds :5050. Only one operator can run on a machine.
FIXED_PORTS = (8888, 5050)


class PortsTaken(RuntimeError):
    """Another ansible-operator (or something else) holds one of the fixed ports."""


def check_fixed_ports() -> None:
    for port in FIXED_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as err:
                raise PortsTaken(
                    f"localhost:{port} is taken ({err.strerror}): ansible-operator hard-codes ports 8888 and 5050, "
                    "so only one operator runs per machine. Stop the other one (is `make run` or a test running?)."
                ) from err


def operator_env(
    paths: Paths, kubeconfig: str, namespace: str = OPERATOR_NAMESPACE, base: dict[str, str] | None = None
) -> dict[str, str]:
    """What ansible-operator and the ansible-runner it forks need to find our venv, collections and plugins."""
    env = dict(os.environ if base is None else base)
    venv_bin = paths.venv / "bin"
    env.update(
        {
            "PATH": f"{venv_bin}:{paths.bin}:{env.get('PATH', '/usr/bin:/bin')}",
            "VIRTUAL_ENV": str(paths.venv),
            "ANSIBLE_PYTHON_INTERPRETER": str(venv_bin / "python"),
            "ANSIBLE_CONFIG": str(paths.root / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(paths.root / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": str(paths.root / ".cache" / "collections"),
            "ANSIBLE_GATHERING": "explicit",
            "KUBECONFIG": kubeconfig,
            "OPERATOR_NAMESPACE": namespace,
            "POD_NAMESPACE": namespace,
        }
    )
    return env


def operator_args(paths: Paths, watches_file: str, extra: Sequence[str] = ()) -> list[str]:
    return [str(paths.bin / "ansible-operator"), "run", f"--watches-file={watches_file}", *extra]
