"""Run the real ansible-operator the way the base image does, from this checkout."""

from __future__ import annotations

import compileall
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import process
from .config import OPERATOR_NAMESPACE, Paths

# Hard-coded in ansible-operator v1.42.2: every run's kubeconfig points at the proxy on :8888 and a
# second metrics listener binds :5050. Only one operator can run on a machine.
FIXED_PORTS = (8888, 5050)


# On the operator's PYTHONPATH (Dockerfile ENV): sitecustomize and the lean event plugin for ansible-runner.
ANSIBLE_SITE = "ansible_site"

# ansible-runner's -v level for every kind's reconciles; ansible-operator's default is 2 (--ansible-verbosity).
# At 0 a reconcile sends 15 fewer events (the "verbose" lines) and costs less CPU (make bench); its log still
# names every task, and a failed task's result. `ansible.sdk.operatorframework.io/verbosity: "2"` on one CR
# brings the detail back for that CR's reconciles. config/manager/manager.yaml sets the same.
ANSIBLE_VERBOSITY = 0


def verbosity_env(watches_file: Path, verbosity: int = ANSIBLE_VERBOSITY) -> dict[str, str]:
    """ANSIBLE_VERBOSITY_<KIND>_<GROUP> for each watch: how ansible-operator v1.42.2 reads it per kind
    (internal/ansible/watches getAnsibleVerbosity; it wins over the --ansible-verbosity flag). None without
    a watches file (nothing to run)."""
    if not watches_file.is_file():
        return {}
    watches = yaml.safe_load(watches_file.read_text())
    return {f"ANSIBLE_VERBOSITY_{w['kind']}_{w['group']}".upper().replace(".", "_"): str(verbosity) for w in watches}


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
    """What ansible-operator and the ansible-runner it forks need to find our venv, collections and plugins.

    Without any variable that names a password: ansible-runner writes its whole environment into every
    run's artifacts (`command`), and `eval "$(make -s localenv-env)"` exports the admin passwords."""
    env = {key: value for key, value in (os.environ if base is None else base).items() if not secret_name(key)}
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
            # As the image's ENV: the start-up of ansible-runner and ansible-playbook (ansible_site/).
            "PYTHONPATH": str(paths.root / ANSIBLE_SITE),
            **verbosity_env(paths.root / "watches.yaml"),
        }
    )
    return env


def secret_name(variable: str) -> bool:
    return any(word in variable.upper() for word in ("PASSWORD", "PASSWD", "SECRET", "TOKEN"))


def compile_plugins(paths: Paths) -> None:
    """Write the bytecode of the role's plugins and of ansible_site, as the image build does (Dockerfile).

    Ansible loads modules, filters and module_utils from plugins/ in every reconcile; without bytecode
    beside them each reconcile compiles them from source again (PYTHONDONTWRITEBYTECODE keeps Python
    from writing it while importing). compileall writes it regardless and skips what is up to date.
    """
    for folder in ("plugins", ANSIBLE_SITE):
        compileall.compile_dir(str(paths.root / folder), quiet=1)


def operator_args(paths: Paths, watches_file: str, extra: Sequence[str] = ()) -> list[str]:
    return [str(paths.bin / "ansible-operator"), "run", f"--watches-file={watches_file}", *extra]


def ports_free() -> bool:
    try:
        check_fixed_ports()
    except PortsTaken:
        return False
    return True


@dataclass
class OperatorProcess:
    """The real ansible-operator as a tracked background process (tests, benchmark, fault suite)."""

    paths: Paths
    watches: Path
    name: str = "ansible-operator"

    @property
    def log(self) -> Path:
        return self.paths.logs / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return process.pid_of(self.paths, self.name)

    def start(self, extra_env: dict[str, str] | None = None, args: Sequence[str] = ()) -> None:
        """Start it and wait until its readiness endpoint answers."""
        check_fixed_ports()
        health = process.free_port()
        compile_plugins(self.paths)
        run_env = operator_env(self.paths, str(self.paths.kubeconfig))
        run_env.update(extra_env or {})
        argv = operator_args(
            self.paths,
            str(self.watches),
            [f"--health-probe-bind-address=127.0.0.1:{health}", "--metrics-bind-address=0", *args],
        )
        # In the checkout, as `make run` and the image's WORKDIR: watches.yaml's playbook paths are relative to it.
        process.start(self.paths, self.name, argv, env=run_env, cwd=self.paths.root)
        process.wait_for(
            self.paths, self.name, lambda: process.http_ok(f"http://127.0.0.1:{health}/readyz"), timeout=60
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop its whole process group and wait until ports 8888/5050 are free again."""
        process.stop(self.paths, self.name)
        deadline = time.monotonic() + timeout
        while not ports_free():
            if time.monotonic() > deadline:
                raise PortsTaken("ansible-operator stopped but ports 8888/5050 are still taken")
            time.sleep(0.2)
