"""MySQLServer end to end: health status, TLS modes, tenancy, quota, propagation and deletion, on the real
ansible-operator, kube-apiserver and MariaDB."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pymysql
import pytest
from e2e_support import (
    GROUP,
    PLURAL,
    VERSION,
    Stack,
    create_cr,
    create_server,
    database_exists,
    delete_server,
    get_cr,
    get_server,
    patch_server,
    put_secret,
    ready_condition,
    secret_values,
    server_spec,
    sql_rows,
    wait_gone,
    wait_ready,
    wait_reason,
    wait_server,
    wait_until,
)
from kubernetes.client.rest import ApiException

from testbed.localenv.config import CA_SECRET_NAME, OPERATOR_NAMESPACE

pytestmark = pytest.mark.usefixtures("running_operator")

# What the operator's admin needs on MariaDB; plugins/module_utils/mysqldatabase_sql.py defines it
# (required_admin_privileges) and the README prints it.
ADMIN_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, CREATE USER, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, "
    "LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER, DELETE HISTORY"
)


def on(server: str, **spec: object) -> dict[str, object]:
    """A MySQLDatabase spec on `server` that drops its database when deleted, so tests leave nothing behind."""
    return {"serverRef": {"name": server}, "deletionPolicy": "Delete", **spec}


def remove_server(stack: Stack, name: str) -> None:
    """Delete the MySQLDatabases on a server (their finalizers need it), then the server."""
    for item in stack.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]:
        if (item["spec"].get("serverRef") or {}).get("name") == name:
            ns, cr = item["metadata"]["namespace"], item["metadata"]["name"]
            try:
                stack.custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, cr)
            except ApiException as err:
                if err.status != 404:  # the namespace fixture may have deleted it first
                    raise
            wait_gone(stack, ns, cr)
    delete_server(stack, name)


@pytest.fixture
def server(stack: Stack, request: pytest.FixtureRequest) -> Iterator[str]:
    """A name for a MySQLServer this test creates; it and its databases are deleted afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()[5:45]).strip("-")
    name = f"s-{slug}-{int(time.time() * 1000) % 10000:04d}"
    yield name
    remove_server(stack, name)


@pytest.fixture
def role_admin(stack: Stack, server: str) -> Iterator[tuple[str, str]]:
    """An admin account without SUPER whose every privilege comes from a role set as its default role,
    as managed services hand them out; (user, its credentials Secret)."""
    user, role, secret = f"adm_{server[-4:]}", f"opadmin_{server[-4:]}", f"creds-{server}"
    password = "Adm1n-" + server[-4:] + "-pw"
    for statement in (
        f"CREATE ROLE {role}",
        f"GRANT {ADMIN_PRIVILEGES} ON *.* TO {role} WITH GRANT OPTION",
        f"CREATE USER {user}@'%' IDENTIFIED BY '{password}'",
        f"GRANT {role} TO {user}@'%'",
        f"SET DEFAULT ROLE {role} FOR {user}@'%'",
    ):
        sql_rows(stack, statement)
    put_secret(stack, secret, {"username": user, "password": password})
    yield user, secret
    remove_server(stack, server)  # while its admin can still clean up
    sql_rows(stack, f"DROP USER IF EXISTS {user}@'%'")
    sql_rows(stack, f"DROP ROLE IF EXISTS {role}")
    stack.core.delete_namespaced_secret(secret, OPERATOR_NAMESPACE)


def test_default_server_is_ready_with_flavor_version_and_database_count(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "counted")
    wait_ready(stack, namespace, "counted")
    count = "SELECT COUNT(*) FROM external_mysql_operator.owners WHERE kind = 'database'"

    # Other tests' databases come and go: the check's count must match the records as they are now.
    def counted() -> dict | None:
        status = wait_server(stack, "default")["status"]
        return status if status["databases"] == sql_rows(stack, count)[0][0] >= 1 else None

    status = wait_until(counted, 120, "the default server to count the new database")
    assert status["flavor"] == "mariadb"
    assert "MariaDB" in status["version"]
    assert status["missingPrivileges"] == []


def test_admin_from_a_default_role_is_ready_and_a_revoked_privilege_is_named(
    stack: Stack, server: str, role_admin: tuple[str, str]
) -> None:
    _user, secret = role_admin
    create_server(stack, server, server_spec(stack, credentials=secret))
    wait_server(stack, server, "Connected")
    role = f"opadmin_{server[-4:]}"
    sql_rows(stack, f"REVOKE CREATE USER ON *.* FROM {role}")
    status = wait_server(stack, server, "AdminPrivilegesMissing")["status"]
    assert status["missingPrivileges"] == ["CREATE USER"]
    assert "CREATE USER" in ready_condition(get_server(stack, server))["message"]
    sql_rows(stack, f"GRANT CREATE USER ON *.* TO {role} WITH GRANT OPTION")
    assert wait_server(stack, server, "Connected")["status"]["missingPrivileges"] == []


@pytest.mark.parametrize("mode", ["Disabled", "Required", "VerifyCA", "VerifyIdentity"])
def test_each_tls_mode_connects_as_it_says(stack: Stack, server: str, namespace: str, mode: str) -> None:
    tls = {"mode": mode, **({"caSecretRef": {"name": CA_SECRET_NAME}} if mode.startswith("Verify") else {})}
    create_server(stack, server, server_spec(stack, tls=tls))
    message = ready_condition(wait_server(stack, server, "Connected"))["message"]
    assert ("over TLS" in message) == (mode != "Disabled"), message
    create_cr(stack, namespace, "tls", on(server))
    wait_ready(stack, namespace, "tls")
    values = secret_values(stack, namespace, "tls")
    expected = {"Disabled": None, "Required": "REQUIRED", "VerifyCA": "VERIFY_CA", "VerifyIdentity": "VERIFY_IDENTITY"}
    assert values.get("sslMode") == expected[mode]
    assert ("ca.crt" in values) == mode.startswith("Verify")
    assert values["uri"].endswith(f"?ssl-mode={expected[mode]}" if expected[mode] else f"/{values['database']}")


def test_verify_identity_refuses_a_host_the_certificate_does_not_name(stack: Stack, server: str) -> None:
    # The local MariaDB's certificate names 127.0.0.1 only.
    tls = {"mode": "VerifyIdentity", "caSecretRef": {"name": CA_SECRET_NAME}}
    create_server(stack, server, server_spec(stack, host="localhost", tls=tls))
    assert "localhost" in ready_condition(wait_server(stack, server, "TLSFailed"))["message"]
    patch_server(stack, server, {"spec": {"tls": {"mode": "VerifyCA"}}})
    wait_server(stack, server, "Connected")


def test_an_unrelated_ca_is_tls_failed(stack: Stack, server: str, tmp_path: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k"), "-out",
         str(tmp_path / "c"), "-days", "1", "-subj", "/CN=unrelated"],
        check=True, capture_output=True,
    )  # fmt: skip
    put_secret(stack, f"ca-{server}", {"ca.crt": (tmp_path / "c").read_text()})
    try:
        create_server(
            stack, server, server_spec(stack, tls={"mode": "VerifyCA", "caSecretRef": {"name": f"ca-{server}"}})
        )
        assert "CERTIFICATE_VERIFY_FAILED" in ready_condition(wait_server(stack, server, "TLSFailed"))["message"]
    finally:
        delete_server(stack, server)
        stack.core.delete_namespaced_secret(f"ca-{server}", OPERATOR_NAMESPACE)


@pytest.fixture
def secure_transport_required(stack: Stack) -> Iterator[None]:
    sql_rows(stack, "SET GLOBAL require_secure_transport = ON")
    try:
        yield
    finally:
        sql_rows_tls(stack, "SET GLOBAL require_secure_transport = OFF")
    wait_server(stack, "default", "Connected")


def sql_rows_tls(stack: Stack, query: str) -> None:
    conn = pymysql.connect(
        host="127.0.0.1",
        port=stack.state.mysql_port,
        user=stack.state.mysql_admin_user,
        password=stack.state.mysql_admin_password,
        ssl={"ca": str(stack.paths.pki / "ca.crt")},
    )
    with conn, conn.cursor() as cur:
        cur.execute(query)


@pytest.mark.usefixtures("secure_transport_required")
def test_a_server_demanding_tls_with_mode_disabled_is_tls_required(stack: Stack, server: str) -> None:
    create_server(stack, server, server_spec(stack, tls={"mode": "Disabled"}))
    assert "require_secure_transport" in ready_condition(wait_server(stack, server, "TLSRequired"))["message"]
    patch_server(stack, server, {"spec": {"tls": {"mode": "Required"}}})
    wait_server(stack, server, "Connected")


def test_a_namespace_outside_the_selector_gets_nothing_until_it_is_labelled(
    stack: Stack, server: str, namespace: str
) -> None:
    create_server(
        stack, server, server_spec(stack, tenancy={"namespaceSelector": {"matchLabels": {"team": "payments"}}})
    )
    wait_server(stack, server, "Connected")
    create_cr(stack, namespace, "tenant", on(server, databaseName=f"t_{server[-4:]}"))
    wait_reason(stack, namespace, "tenant", "ServerNotAllowed")
    assert not database_exists(stack, f"t_{server[-4:]}")
    stack.core.patch_namespace(namespace, {"metadata": {"labels": {"team": "payments"}}})
    wait_ready(stack, namespace, "tenant", timeout=120)
    assert database_exists(stack, f"t_{server[-4:]}")


def test_a_burst_over_the_quota_creates_exactly_the_quota(stack: Stack, server: str, namespace: str) -> None:
    quota = 10
    create_server(stack, server, server_spec(stack, tenancy={"maxDatabasesPerNamespace": quota}))
    wait_server(stack, server, "Connected")
    names = [f"q{i}" for i in range(quota + 1)]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        list(pool.map(lambda name: create_cr(stack, namespace, name, on(server)), names))

    def settled() -> dict[str, str] | None:
        reasons = {name: ready_condition(get_cr(stack, namespace, name)).get("reason", "") for name in names}
        done = all(reason in ("Reconciled", "QuotaExceeded") for reason in reasons.values())
        return reasons if done else None

    reasons = wait_until(settled, 300, f"{len(names)} MySQLDatabases to be Ready or over quota")
    assert sorted(reasons.values()).count("Reconciled") == quota, reasons
    assert list(reasons.values()).count("QuotaExceeded") == 1, reasons
    owned = sql_rows(
        stack, "SELECT COUNT(*) FROM external_mysql_operator.owners WHERE kind = 'database' AND cr_namespace = %s",
        (namespace,),
    )[0][0]  # fmt: skip
    assert owned == quota


def test_a_server_change_reaches_every_database_on_it(stack: Stack, server: str, namespace: str) -> None:
    create_server(stack, server, server_spec(stack))
    wait_server(stack, server, "Connected")
    names = [f"moved{i}" for i in range(3)]
    for name in names:
        create_cr(stack, namespace, name, on(server))
    for name in names:
        wait_ready(stack, namespace, name)
    patch_server(stack, server, {"spec": {"publishHost": "mysql.example.test", "publishPort": 13306}})

    def moved() -> bool:
        return all(
            secret_values(stack, namespace, name)["host"] == "mysql.example.test"
            and secret_values(stack, namespace, name)["port"] == "13306"
            for name in names
        )

    wait_until(moved, 60, "every application Secret to carry the new publishHost and publishPort")


def test_a_rotated_admin_password_is_picked_up(
    stack: Stack, server: str, namespace: str, role_admin: tuple[str, str]
) -> None:
    user, secret = role_admin
    create_server(stack, server, server_spec(stack, credentials=secret))
    wait_server(stack, server, "Connected")
    create_cr(stack, namespace, "rotated-admin", on(server))
    wait_ready(stack, namespace, "rotated-admin")
    sql_rows(stack, f"ALTER USER {user}@'%' IDENTIFIED BY 'Rotated-Pw-1'")
    put_secret(stack, secret, {"username": user, "password": "Rotated-Pw-1"})
    revision = get_server(stack, server)["status"]["revision"]
    wait_until(
        lambda: (
            get_server(stack, server)["status"].get("revision") != revision
            and ready_condition(get_server(stack, server)).get("reason") == "Connected"
        ),
        120,
        "the server to check again with the rotated password",
    )
    # The database reconciles with the new password: a user dropped by hand comes back at once.
    sql_rows(stack, "DROP USER `rotated-admin`@'%'")
    wait_until(
        lambda: sql_rows(stack, "SELECT 1 FROM mysql.user WHERE User = 'rotated-admin'"), 120, "the user to return"
    )
    assert ready_condition(get_cr(stack, namespace, "rotated-admin"))["status"] == "True"


def test_deleting_a_server_waits_for_its_databases(stack: Stack, server: str, namespace: str) -> None:
    create_server(stack, server, server_spec(stack))
    wait_server(stack, server, "Connected")
    create_cr(stack, namespace, "pinned", on(server))
    wait_ready(stack, namespace, "pinned")
    delete_server(stack, server, wait=False)
    condition = ready_condition(wait_server(stack, server, "DependentsExist"))
    assert f"{namespace}/pinned" in condition["message"]
    assert get_server(stack, server)["metadata"].get("deletionTimestamp")
    stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "pinned")
    wait_gone(stack, namespace, "pinned")
    delete_server(stack, server)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"host": "h", "credentialsSecretRef": {"name": "x", "namespace": "kube-system"}}, "operator's namespace only"),
        (
            {"host": "h", "credentialsSecretRef": {"name": "x"},
             "tenancy": {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "NotIn"}]}}},
            "need at least one value",
        ),
        ({"host": "h", "credentialsSecretRef": {"name": "x"}, "tls": {"mode": "VerifyCA"}}, "need caSecretRef"),
        ({"host": "h; DROP", "credentialsSecretRef": {"name": "x"}}, "spec.host"),
    ],
)  # fmt: skip
def test_schema_refuses_hostile_servers(stack: Stack, spec: dict, message: str) -> None:
    with pytest.raises(ApiException) as refused:
        create_server(stack, "hostile", spec)
    assert refused.value.status == 422 and message in refused.value.body
