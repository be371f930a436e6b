"""Objects the local environment creates in its cluster: the operator namespace, the CRDs, and the
MySQLServer `default` with its credentials and CA Secrets for the local MariaDB."""

from __future__ import annotations

import subprocess

import yaml

from .config import CA_SECRET_NAME, DEFAULT_SERVER, OPERATOR_NAMESPACE, SERVER_SECRET_NAME, Paths, State

CRDS = ("mysqldatabases.piwik.pro", "mysqlservers.piwik.pro")


def kubectl(
    paths: Paths, *args: str, stdin: str | None = None, kubeconfig: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [str(paths.bin / "kubectl"), f"--kubeconfig={kubeconfig or paths.kubeconfig}", *args]
    return subprocess.run(cmd, input=stdin, text=True, capture_output=True, check=check)


def apply(paths: Paths, documents: list[dict[str, object]], kubeconfig: str | None = None) -> None:
    kubectl(paths, "apply", "-f", "-", stdin=yaml.safe_dump_all(documents), kubeconfig=kubeconfig)


def bootstrap(paths: Paths, state: State) -> None:
    """The operator's namespace, the admin credentials of the local MariaDB and the CA of its certificate."""
    apply(
        paths,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}},
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {"name": SERVER_SECRET_NAME, "namespace": OPERATOR_NAMESPACE},
                "stringData": {"username": state.mysql_admin_user, "password": state.mysql_admin_password},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {"name": CA_SECRET_NAME, "namespace": OPERATOR_NAMESPACE},
                "stringData": {"ca.crt": (paths.pki / "ca.crt").read_text()},
            },
        ],
    )


def default_server(state: State) -> dict[str, object]:
    """The MySQLServer `default` for the local MariaDB; plain TCP, as most clusters' first server is."""
    return {
        "apiVersion": "piwik.pro/v1",
        "kind": "MySQLServer",
        "metadata": {"name": DEFAULT_SERVER},
        "spec": {
            "host": "127.0.0.1",
            "port": state.mysql_port,
            "credentialsSecretRef": {"name": SERVER_SECRET_NAME},
        },
    }


def install_crds(paths: Paths, kubeconfig: str | None = None, state: State | None = None) -> None:
    """Apply config/crd (built with kustomize) and wait until the API serves it; with the embedded
    environment's `state`, also create the MySQLServer `default` for its MariaDB."""
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
        *(f"crd/{name}" for name in CRDS),
        kubeconfig=kubeconfig,
    )
    if state is not None:
        apply(paths, [default_server(state)], kubeconfig=kubeconfig)


def reachable(paths: Paths, kubeconfig: str) -> bool:
    result = kubectl(paths, "version", "--request-timeout=3s", kubeconfig=kubeconfig, check=False)
    return result.returncode == 0
