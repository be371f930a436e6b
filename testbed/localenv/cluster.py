"""Objects the local environment creates in its cluster: the operator namespace, the CRDs, the
MySQLServer `default` for the local MariaDB and `hardened` for the hardened one, with their credentials
Secrets and the CA Secret."""

from __future__ import annotations

import subprocess

import yaml

from .config import (
    CA_SECRET_NAME,
    DEFAULT_SERVER,
    HARDENED_SECRET_NAME,
    HARDENED_SERVER,
    OPERATOR_NAMESPACE,
    SERVER_SECRET_NAME,
    Paths,
    State,
)

CRDS = ("mysqldatabases.piwik.pro", "mysqlservers.piwik.pro")


def kubectl(
    paths: Paths, *args: str, stdin: str | None = None, kubeconfig: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [str(paths.bin / "kubectl"), f"--kubeconfig={kubeconfig or paths.kubeconfig}", *args]
    return subprocess.run(cmd, input=stdin, text=True, capture_output=True, check=check)


def apply(paths: Paths, documents: list[dict[str, object]], kubeconfig: str | None = None) -> None:
    kubectl(paths, "apply", "-f", "-", stdin=yaml.safe_dump_all(documents), kubeconfig=kubeconfig)


def bootstrap(paths: Paths, state: State) -> None:
    """The operator's namespace, the admin credentials of both local MariaDBs and the CA of their certificate."""
    apply(
        paths,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}},
            secret(SERVER_SECRET_NAME, {"username": state.mysql_admin_user, "password": state.mysql_admin_password}),
            secret(
                HARDENED_SECRET_NAME,
                {"username": state.mysql_hardened_admin_user, "password": state.mysql_hardened_admin_password},
            ),
            secret(CA_SECRET_NAME, {"ca.crt": (paths.pki / "ca.crt").read_text()}),
        ],
    )


def secret(name: str, values: dict[str, str]) -> dict[str, object]:
    """An Opaque Secret in the operator's namespace, the only one where the operator reads servers' Secrets."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": OPERATOR_NAMESPACE},
        "stringData": values,
    }


def server_manifest(name: str, port: int, credentials: str, tls: dict[str, object] | None = None) -> dict[str, object]:
    """A MySQLServer for a MariaDB of the local environment, on loopback."""
    spec: dict[str, object] = {"host": "127.0.0.1", "port": port, "credentialsSecretRef": {"name": credentials}}
    if tls:
        spec["tls"] = tls
    return {"apiVersion": "piwik.pro/v1", "kind": "MySQLServer", "metadata": {"name": name}, "spec": spec}


def default_server(state: State) -> dict[str, object]:
    """The MySQLServer `default` for the local MariaDB; plain TCP, as most clusters' first server is."""
    return server_manifest(DEFAULT_SERVER, state.mysql_port, SERVER_SECRET_NAME)


def hardened_server(state: State) -> dict[str, object]:
    """The MySQLServer `hardened` for the hardened MariaDB: TLS only, so VerifyIdentity against the local CA
    (its certificate names 127.0.0.1, hence that host and not localhost)."""
    tls: dict[str, object] = {"mode": "VerifyIdentity", "caSecretRef": {"name": CA_SECRET_NAME, "key": "ca.crt"}}
    return server_manifest(HARDENED_SERVER, state.mysql_hardened_port, HARDENED_SECRET_NAME, tls)


def install_crds(paths: Paths, kubeconfig: str | None = None, state: State | None = None) -> None:
    """Apply config/crd (built with kustomize) and wait until the API serves it; with the embedded
    environment's `state`, also create the MySQLServers `default` and `hardened` for its MariaDBs."""
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
        apply(paths, [default_server(state), hardened_server(state)], kubeconfig=kubeconfig)


def reachable(paths: Paths, kubeconfig: str) -> bool:
    result = kubectl(paths, "version", "--request-timeout=3s", kubeconfig=kubeconfig, check=False)
    return result.returncode == 0
