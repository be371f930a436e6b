"""Objects the local environment creates in its cluster: the operator namespace and the server Secret."""

from __future__ import annotations

import subprocess

import yaml

from .config import OPERATOR_NAMESPACE, SERVER_LABEL, SERVER_SECRET_NAME, Paths, State


def kubectl(
    paths: Paths, *args: str, stdin: str | None = None, kubeconfig: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [str(paths.bin / "kubectl"), f"--kubeconfig={kubeconfig or paths.kubeconfig}", *args]
    return subprocess.run(cmd, input=stdin, text=True, capture_output=True, check=check)


def apply(paths: Paths, documents: list[dict[str, object]], kubeconfig: str | None = None) -> None:
    kubectl(paths, "apply", "-f", "-", stdin=yaml.safe_dump_all(documents), kubeconfig=kubeconfig)


def bootstrap(paths: Paths, state: State) -> None:
    """The operator's namespace and the Secret naming the admin account of the local MariaDB."""
    apply(
        paths,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}},
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {
                    "name": SERVER_SECRET_NAME,
                    "namespace": OPERATOR_NAMESPACE,
                    "labels": {SERVER_LABEL: "default"},
                },
                "stringData": {
                    "host": "127.0.0.1",
                    "port": str(state.mysql_port),
                    "username": state.mysql_admin_user,
                    "password": state.mysql_admin_password,
                },
            },
        ],
    )


def install_crd(paths: Paths, kubeconfig: str | None = None) -> None:
    """Apply config/crd (built with kustomize) and wait until the API serves it."""
    built = subprocess.run(
        [str(paths.bin / "kustomize"), "build", str(paths.root / "config" / "crd")],
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    kubectl(paths, "apply", "-f", "-", stdin=built, kubeconfig=kubeconfig)
    kubectl(
        paths,
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/mysqldatabases.piwik.pro",
        kubeconfig=kubeconfig,
    )


def reachable(paths: Paths, kubeconfig: str) -> bool:
    result = kubectl(paths, "version", "--request-timeout=3s", kubeconfig=kubeconfig, check=False)
    return result.returncode == 0
