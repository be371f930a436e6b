"""etcd, kube-apiserver and kube-controller-manager on loopback."""

from __future__ import annotations

import base64
import ssl
import urllib.request

import yaml

from . import process
from .config import Paths, State

SERVICE_CIDR = "10.0.0.0/24"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"


def start_etcd(paths: Paths, state: State) -> None:
    if process.pid_of(paths, "etcd"):
        return
    client = f"http://127.0.0.1:{state.etcd_client_port}"
    peer = f"http://127.0.0.1:{state.etcd_peer_port}"
    process.start(
        paths,
        "etcd",
        [
            str(paths.bin / "etcd"),
            "--name=localenv",
            f"--data-dir={paths.state / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=localenv={peer}",
            "--log-level=warn",
            # Loopback-only test cluster: durability against power loss is not worth the fsync latency.
            "--unsafe-no-fsync",
        ],
    )
    process.wait_for(paths, "etcd", lambda: process.http_ok(f"{client}/health"), timeout=30)


def start_apiserver(paths: Paths, state: State) -> None:
    if process.pid_of(paths, "kube-apiserver"):
        return
    tokens = paths.pki / "tokens.csv"
    tokens.write_text(f'{state.admin_token},localenv-admin,localenv-admin,"system:masters"\n')
    tokens.chmod(0o600)
    pki = paths.pki
    process.start(
        paths,
        "kube-apiserver",
        [
            str(paths.bin / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{state.etcd_client_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={state.apiserver_port}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--token-auth-file={tokens}",
            "--authorization-mode=Node,RBAC",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--profiling=false",
            "--v=1",
        ],
    )
    process.wait_for(paths, "kube-apiserver", lambda: api_ready(paths, state), timeout=90)


def start_controller_manager(paths: Paths, state: State) -> None:
    if process.pid_of(paths, "kube-controller-manager"):
        return
    process.start(
        paths,
        "kube-controller-manager",
        [
            str(paths.bin / "kube-controller-manager"),
            f"--kubeconfig={paths.kubeconfig}",
            "--controllers=garbagecollector,serviceaccount-token,serviceaccount,namespace",
            f"--service-account-private-key-file={paths.pki / 'sa.key'}",
            f"--root-ca-file={paths.pki / 'ca.crt'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={state.controller_manager_port}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ],
    )
    process.wait_for(
        paths, "kube-controller-manager", lambda: process.port_open(state.controller_manager_port), timeout=60
    )


def write_kubeconfig(paths: Paths, state: State) -> None:
    ca = (paths.pki / "ca.crt").read_bytes()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "localenv",
                "cluster": {
                    "server": f"https://127.0.0.1:{state.apiserver_port}",
                    "certificate-authority-data": base64.b64encode(ca).decode(),
                },
            }
        ],
        "users": [{"name": "localenv-admin", "user": {"token": state.admin_token}}],
        "contexts": [{"name": "localenv", "context": {"cluster": "localenv", "user": "localenv-admin"}}],
        "current-context": "localenv",
    }
    paths.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
    paths.kubeconfig.chmod(0o600)


def api_ready(paths: Paths, state: State) -> bool:
    ctx = ssl.create_default_context(cafile=str(paths.pki / "ca.crt"))
    request = urllib.request.Request(
        f"https://127.0.0.1:{state.apiserver_port}/readyz", headers={"Authorization": f"Bearer {state.admin_token}"}
    )
    return process.http_ok(request, ctx)
