"""The embedded local environment is a real control plane and a real MariaDB."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pymysql
import pytest
from e2e_support import Stack, wait_until
from kubernetes import client
from kubernetes.client.rest import ApiException

from testbed.localenv import env, process
from testbed.localenv.config import OPERATOR_NAMESPACE, SERVER_SECRET_NAME, Paths


def test_api_server_stores_namespace_crd_and_secret(stack: Stack) -> None:
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="localenv-store")))
    stack.core.create_namespaced_secret(
        "localenv-store", client.V1Secret(metadata=client.V1ObjectMeta(name="kept"), string_data={"k": "v"})
    )
    secret = stack.core.read_namespaced_secret("kept", "localenv-store")
    assert base64.b64decode(secret.data["k"]) == b"v"
    crd = client.ApiextensionsV1Api(stack.api).read_custom_resource_definition("mysqldatabases.piwik.pro")
    assert crd.spec.group == "piwik.pro"
    stack.core.delete_namespace("localenv-store")


def test_server_reports_stamped_version(stack: Stack) -> None:
    info = client.VersionApi(stack.api).get_code()
    assert info.git_version.startswith("v1.") and info.major == "1" and info.minor.isdigit()
    out = stack.kubectl("version", "-o", "json").stdout
    assert '"serverVersion"' in out and "v0.0.0-master" not in out


def test_garbage_collector_deletes_dependents_of_deleted_owner(stack: Stack) -> None:
    ns = "localenv-gc"
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    owner = stack.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner")))
    ref = client.V1OwnerReference(api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)
    stack.core.create_namespaced_secret(
        ns, client.V1Secret(metadata=client.V1ObjectMeta(name="dependent", owner_references=[ref]))
    )
    stack.core.delete_namespaced_config_map("owner", ns)

    def dependent_gone() -> bool:
        try:
            stack.core.read_namespaced_secret("dependent", ns)
        except ApiException as err:
            return err.status == 404
        return False

    wait_until(dependent_gone, 60, "the garbage collector to delete the Secret owned by a deleted ConfigMap")
    stack.core.delete_namespace(ns)


def test_service_account_token_is_authorized_by_rbac(stack: Stack) -> None:
    ns = "localenv-rbac"
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    stack.core.create_namespaced_service_account(
        ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="reader"))
    )
    rbac = client.RbacAuthorizationV1Api(stack.api)
    rbac.create_namespaced_role(
        ns,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="read-configmaps"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["get", "list"])],
        ),
    )
    rbac.create_namespaced_role_binding(
        ns,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="reader"),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="read-configmaps"),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="reader", namespace=ns)],
        ),
    )
    token = stack.core.create_namespaced_service_account_token(
        "reader", ns, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    ).status.token

    sa_config = client.Configuration()
    sa_config.host = f"https://127.0.0.1:{stack.state.apiserver_port}"
    sa_config.ssl_ca_cert = str(stack.paths.pki / "ca.crt")
    sa_config.api_key = {"authorization": f"Bearer {token}"}
    sa_core = client.CoreV1Api(client.ApiClient(sa_config))

    def can_list() -> bool:
        sa_core.list_namespaced_config_map(ns)
        return True

    wait_until(can_list, 30, "the Role to allow listing ConfigMaps")
    with pytest.raises(ApiException) as refused:
        sa_core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x")))
    assert refused.value.status == 403
    with pytest.raises(ApiException) as refused_secret:
        sa_core.list_namespaced_secret(ns)
    assert refused_secret.value.status == 403
    stack.core.delete_namespace(ns)


def test_default_server_and_its_admin_secret_log_in(stack: Stack) -> None:
    server = stack.custom.get_cluster_custom_object("piwik.pro", "v1", "mysqlservers", "default")
    assert server["spec"]["credentialsSecretRef"]["name"] == SERVER_SECRET_NAME
    secret = stack.core.read_namespaced_secret(SERVER_SECRET_NAME, OPERATOR_NAMESPACE)
    values = {k: base64.b64decode(v).decode() for k, v in secret.data.items()}
    conn = pymysql.connect(
        host=server["spec"]["host"],
        port=int(server["spec"]["port"]),
        user=values["username"],
        password=values["password"],
    )
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        assert "MariaDB" in cur.fetchone()[0]
    conn.close()


def test_env_prints_exports_for_the_environment(stack: Stack) -> None:
    exports = env.exports(stack.paths, stack.state)
    assert exports["KUBECONFIG"] == str(stack.paths.kubeconfig)
    assert set(exports) >= {
        "MYSQL_HOST",
        "MYSQL_PORT",
        "MYSQL_ADMIN_USER",
        "MYSQL_ADMIN_PASSWORD",
        "MYSQL_HARDENED_PORT",
        "OPERATOR_NAMESPACE",
    }


def test_down_leaves_no_process(tmp_path: os.PathLike[str], stack: Stack) -> None:
    """A second environment in its own state folder comes up and goes down without leftovers."""
    paths = Paths(root=stack.paths.root, state=tmp_path / "second")
    env.up(paths)
    pids = [pid for pid in env.status(paths).values() if pid]
    assert len(pids) == len(env.COMPONENTS)
    env.down(paths)
    assert all(process.pid_of(paths, name) is None for name in env.COMPONENTS)
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split()[2] == "Z", f"pid {pid} still runs after down"
