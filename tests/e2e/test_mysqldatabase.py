"""MySQLDatabase end to end: the real ansible-operator, kube-apiserver and MariaDB."""

from __future__ import annotations

import re

import pymysql
import pytest
import yaml
from e2e_support import (
    GROUP,
    PLURAL,
    VERSION,
    Stack,
    admin_credentials,
    app_login,
    create_cr,
    create_server,
    database_exists,
    delete_server,
    events_for,
    get_cr,
    patch_cr,
    put_secret,
    ready_condition,
    secret_values,
    server_spec,
    sql_rows,
    user_exists,
    wait_gone,
    wait_ready,
    wait_reason,
    wait_server,
    wait_until,
)
from kubernetes import client
from kubernetes.client.rest import ApiException

from external_mysql_operator.localenv.config import OPERATOR_NAMESPACE, REPO_ROOT
from external_mysql_operator.localenv.operator import OperatorProcess as Operator

pytestmark = pytest.mark.usefixtures("running_operator")


def _grants(stack: Stack, user: str, host: str = "%") -> list[str]:
    return sorted(row[0] for row in sql_rows(stack, "SHOW GRANTS FOR %s@%s", (user, host)))


def test_sample_becomes_ready_with_database_user_and_secret(stack: Stack, namespace: str) -> None:
    sample = yaml.safe_load((REPO_ROOT / "config/samples/piwik.pro_v1_mysqldatabase.yaml").read_text())
    assert sample["metadata"]["name"] == "the-database-name"
    stack.custom.create_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", sample)
    cr = wait_ready(stack, namespace, "the-database-name")
    assert cr["status"]["database"] == "the-database-name"
    assert cr["status"]["secretName"] == "the-database-name"
    values = secret_values(stack, namespace, "the-database-name")
    assert set(values) == {"host", "port", "database", "username", "password", "uri"}
    assert values["database"] == values["username"] == "the-database-name"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", values["password"])
    secret = stack.core.read_namespaced_secret("the-database-name", namespace)
    assert secret.type == "Opaque"
    assert secret.metadata.owner_references[0].uid == cr["metadata"]["uid"]


def test_application_user_sees_only_its_database(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "other-app")
    create_cr(stack, namespace, "shop")
    wait_ready(stack, namespace, "other-app")
    wait_ready(stack, namespace, "shop")
    conn = app_login(stack, secret_values(stack, namespace, "shop"))
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO orders VALUES (1)")
        cur.execute("SHOW DATABASES")
        visible = {row[0] for row in cur.fetchall()}
        assert visible == {"information_schema", "shop"}
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("CREATE DATABASE sneaky")
    conn.close()


def test_second_reconcile_keeps_password_and_secret(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "steady")
    wait_ready(stack, namespace, "steady")
    before = stack.core.read_namespaced_secret("steady", namespace)
    # Revoke a privilege and wait for the periodic reconcile to restore it: proof that reconciles ran.
    sql_rows(stack, "REVOKE SELECT ON `steady`.* FROM 'steady'@'%'")
    wait_until(
        lambda: any("ALL PRIVILEGES ON `steady`" in g for g in _grants(stack, "steady")),
        180,
        "a reconcile to restore the revoked privilege",
    )
    after = stack.core.read_namespaced_secret("steady", namespace)
    assert after.data["password"] == before.data["password"]
    assert after.metadata.resource_version == before.metadata.resource_version


def test_names_with_dash_and_dot_work(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "web.shop-v2")
    wait_ready(stack, namespace, "web.shop-v2")
    assert database_exists(stack, "web.shop-v2") and user_exists(stack, "web.shop-v2")
    conn = app_login(stack, secret_values(stack, namespace, "web.shop-v2"))
    conn.close()


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"databaseName": "mysql"}, "databaseName"),
        ({"databaseName": "information_schema"}, "databaseName"),
        ({"databaseName": "performance_schema"}, "databaseName"),
        ({"databaseName": "sys"}, "databaseName"),
        ({"databaseName": "external_mysql_operator"}, "databaseName"),
        ({"username": "root"}, "username"),
        ({"username": "mariadb.sys"}, "username"),
        ({"username": "mysql.sys"}, "username"),
        ({"username": "mysql.session"}, "username"),
        ({"username": "mysql.infoschema"}, "username"),
    ],
)
def test_system_names_are_refused(stack: Stack, namespace: str, spec: dict[str, str], field: str) -> None:
    create_cr(stack, namespace, "reserved", spec)
    condition = wait_reason(stack, namespace, "reserved", "ReservedName")
    assert next(iter(spec.values())) in condition["message"]


def test_the_admin_account_is_never_taken_over(stack: Stack, namespace: str) -> None:
    admin = stack.state.mysql_admin_user
    create_cr(stack, namespace, "takeover", {"username": admin, "adoptExisting": True})
    condition = wait_reason(stack, namespace, "takeover", "ReservedName")
    assert "admin account" in condition["message"]
    # The admin keeps its password and privileges: another CR still becomes Ready.
    create_cr(stack, namespace, "afterwards")
    wait_ready(stack, namespace, "afterwards")


def test_too_long_name_tells_which_field_to_set(stack: Stack, namespace: str) -> None:
    name = "a" * 70
    create_cr(stack, namespace, name)
    condition = wait_reason(stack, namespace, name, "NameTooLong")
    assert "spec.databaseName" in condition["message"]
    assert not database_exists(stack, name)


def test_same_name_in_two_namespaces_conflicts(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "shared-name")
    owner = wait_ready(stack, namespace, "shared-name")
    password = secret_values(stack, namespace, "shared-name")["password"]
    other = f"{namespace}-b"
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
    try:
        create_cr(stack, other, "shared-name", {"deletionPolicy": "Delete"})
        condition = wait_reason(stack, other, "shared-name", "Conflict")
        assert f"{namespace}/shared-name" in condition["message"]
        # Deleting the CR in conflict must not drop anything of the owner's.
        stack.custom.delete_namespaced_custom_object("piwik.pro", "v1", other, "mysqldatabases", "shared-name")
        wait_gone(stack, other, "shared-name")
        assert database_exists(stack, "shared-name") and user_exists(stack, "shared-name")
        conn = app_login(stack, secret_values(stack, namespace, "shared-name"))
        conn.close()
        assert secret_values(stack, namespace, "shared-name")["password"] == password
        assert get_cr(stack, namespace, "shared-name")["metadata"]["uid"] == owner["metadata"]["uid"]
    finally:
        stack.core.delete_namespace(other)


def test_existing_database_refused_without_adopt(stack: Stack, namespace: str) -> None:
    sql_rows(stack, "CREATE DATABASE `handmade`")
    sql_rows(stack, "CREATE TABLE `handmade`.`keep` (id INT)")
    create_cr(stack, namespace, "handmade")
    condition = wait_reason(stack, namespace, "handmade", "AlreadyExists")
    assert "adoptExisting" in condition["message"]
    assert not user_exists(stack, "handmade")
    patch_cr(stack, namespace, "handmade", {"spec": {"adoptExisting": True}})
    wait_ready(stack, namespace, "handmade")
    assert sql_rows(stack, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='handmade'")[0][0] == 1


def test_foreign_secret_is_not_overwritten(stack: Stack, namespace: str) -> None:
    stack.core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="taken"), string_data={"password": "not-yours"})
    )
    create_cr(stack, namespace, "taken")
    wait_reason(stack, namespace, "taken", "SecretNotOwned")
    assert secret_values(stack, namespace, "taken") == {"password": "not-yours"}


def test_deleted_secret_gets_new_password(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "lost-secret")
    wait_ready(stack, namespace, "lost-secret")
    old = secret_values(stack, namespace, "lost-secret")["password"]
    stack.core.delete_namespaced_secret("lost-secret", namespace)
    new = wait_until(
        lambda: secret_values(stack, namespace, "lost-secret")["password"], 180, "the Secret to be written again"
    )
    assert new != old
    conn = app_login(stack, secret_values(stack, namespace, "lost-secret"))
    conn.close()
    with pytest.raises(pymysql.err.OperationalError):
        app_login(stack, {**secret_values(stack, namespace, "lost-secret"), "password": old})


def test_dropped_user_is_recreated_with_secret_password(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "dropped-user")
    wait_ready(stack, namespace, "dropped-user")
    values = secret_values(stack, namespace, "dropped-user")
    sql_rows(stack, "DROP USER 'dropped-user'@'%'")
    wait_until(lambda: user_exists(stack, "dropped-user"), 180, "the user to be recreated")
    conn = wait_until(lambda: app_login(stack, values), 120, "the recreated user to log in with the Secret's password")
    conn.close()
    assert secret_values(stack, namespace, "dropped-user") == values


def test_widened_grants_are_restored(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "narrow", {"privileges": ["SELECT", "INSERT"]})
    wait_ready(stack, namespace, "narrow")
    expected = _grants(stack, "narrow")
    sql_rows(stack, "GRANT ALL PRIVILEGES ON *.* TO 'narrow'@'%'")
    sql_rows(stack, "GRANT DELETE ON `narrow`.* TO 'narrow'@'%'")
    wait_until(lambda: _grants(stack, "narrow") == expected, 180, f"grants to return to {expected}")
    events = wait_until(
        lambda: [e for e in events_for(stack, namespace, "narrow") if e.reason == "GrantsRepaired"],
        120,
        "a GrantsRepaired event",
    )
    assert events[0].type == "Warning"


def test_removed_grants_are_restored(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "revoked")
    wait_ready(stack, namespace, "revoked")
    expected = _grants(stack, "revoked")
    sql_rows(stack, "REVOKE ALL PRIVILEGES ON `revoked`.* FROM 'revoked'@'%'")
    wait_until(lambda: _grants(stack, "revoked") == expected, 180, f"grants to return to {expected}")


def test_dropped_database_is_recreated_with_warning_event(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "dropped-db")
    wait_ready(stack, namespace, "dropped-db")
    sql_rows(stack, "DROP DATABASE `dropped-db`")
    wait_until(lambda: database_exists(stack, "dropped-db"), 180, "the database to be recreated")
    events = wait_until(
        lambda: [e for e in events_for(stack, namespace, "dropped-db") if e.reason == "DatabaseRecreated"],
        120,
        "a DatabaseRecreated event",
    )
    assert events[0].type == "Warning"


def test_retain_policy_keeps_database_and_user(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "retained")
    wait_ready(stack, namespace, "retained")
    stack.custom.delete_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", "retained")
    wait_gone(stack, namespace, "retained")
    assert database_exists(stack, "retained") and user_exists(stack, "retained")
    owners = sql_rows(stack, "SELECT COUNT(*) FROM external_mysql_operator.owners WHERE name=%s", ("retained",))
    assert owners[0][0] == 0


def test_delete_policy_drops_database_and_user(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "dropped-on-delete", {"deletionPolicy": "Delete"})
    wait_ready(stack, namespace, "dropped-on-delete")
    stack.custom.delete_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", "dropped-on-delete")
    wait_gone(stack, namespace, "dropped-on-delete")
    assert not database_exists(stack, "dropped-on-delete") and not user_exists(stack, "dropped-on-delete")


def test_rotation_annotation_sets_new_password(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "rotated")
    wait_ready(stack, namespace, "rotated")
    old = secret_values(stack, namespace, "rotated")
    patch_cr(stack, namespace, "rotated", {"metadata": {"annotations": {"piwik.pro/rotate-password": "2026-11-26"}}})
    new = wait_until(
        lambda: (v := secret_values(stack, namespace, "rotated"))["password"] != old["password"] and v,
        180,
        "the Secret to carry a new password",
    )
    conn = app_login(stack, new)
    conn.close()
    with pytest.raises(pymysql.err.OperationalError):
        app_login(stack, old)
    wait_until(
        lambda: [e for e in events_for(stack, namespace, "rotated") if e.reason == "PasswordRotated"],
        120,
        "a PasswordRotated event",
    )


def test_secret_template_renders_placeholders_only(stack: Stack, namespace: str) -> None:
    canary = stack.paths.state / "pwned-template"
    template = {
        "jdbcUrl": "jdbc:mysql://{host}:{port}/{database}?user={username}",
        "literal": "{{ lookup('pipe', 'touch " + str(canary) + "') }} {host.__class__} {0}",
    }
    create_cr(stack, namespace, "templated", {"secretTemplate": template})
    wait_ready(stack, namespace, "templated")
    values = secret_values(stack, namespace, "templated")
    assert values["jdbcUrl"] == f"jdbc:mysql://{values['host']}:{values['port']}/templated?user=templated"
    assert values["literal"] == template["literal"]
    assert not canary.exists()


def test_jinja_in_annotations_is_stored_and_never_executed(stack: Stack, namespace: str) -> None:
    canary = stack.paths.state / "pwned-annotation"
    payload = "{{ lookup('pipe', 'touch " + str(canary) + "') }}"
    create_cr(stack, namespace, "jinja", annotations={"note": payload, "piwik.pro/rotate-password": payload})
    cr = wait_ready(stack, namespace, "jinja")
    assert cr["metadata"]["annotations"]["note"] == payload
    assert not canary.exists()


def test_missing_server_reports_server_not_found_and_deletion_completes(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "nowhere", {"serverRef": {"name": "absent"}})
    condition = wait_reason(stack, namespace, "nowhere", "ServerNotFound")
    assert "No MySQLServer 'absent'" in condition["message"]
    # A server that does not exist holds nothing of this CR: its finalizer lets it go.
    stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "nowhere")
    wait_gone(stack, namespace, "nowhere", timeout=120)


def test_wrong_admin_password_reports_admin_auth_failed_and_heals(stack: Stack, namespace: str) -> None:
    put_secret(stack, "mysql-server-wrongpass", admin_credentials(stack, password="not-the-password"))
    create_server(stack, "wrongpass", server_spec(stack, credentials="mysql-server-wrongpass"))
    try:
        create_cr(stack, namespace, "badauth", {"serverRef": {"name": "wrongpass"}})
        condition = ready_condition(wait_server(stack, "wrongpass", "AdminAuthFailed"))
        assert "not-the-password" not in condition["message"]

        # The database waits for its server, with the server's reason in its message.
        def server_reason_shown() -> dict | None:
            found = ready_condition(get_cr(stack, namespace, "badauth"))
            return found if found.get("reason") == "ServerNotReady" and "AdminAuthFailed" in found["message"] else None

        wait_until(server_reason_shown, 120, "badauth to report ServerNotReady with the server's AdminAuthFailed")
        # Fixing the Secret heals the server at once (its Secrets are watched), and the server makes the
        # database retry.
        put_secret(stack, "mysql-server-wrongpass", admin_credentials(stack))
        wait_server(stack, "wrongpass", "Connected", timeout=120)
        wait_ready(stack, namespace, "badauth", timeout=120)
    finally:
        put_secret(stack, "mysql-server-wrongpass", admin_credentials(stack))  # its finalizer needs the server
        stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "badauth")
        wait_gone(stack, namespace, "badauth")
        delete_server(stack, "wrongpass")
        stack.core.delete_namespaced_secret("mysql-server-wrongpass", OPERATOR_NAMESPACE)


def test_unreachable_server_reports_server_unreachable(stack: Stack) -> None:
    create_server(stack, "closed", server_spec(stack, port=1))
    try:
        wait_server(stack, "closed", "ServerUnreachable")
    finally:
        delete_server(stack, "closed")


@pytest.mark.parametrize(
    "spec",
    [
        {"databaseName": "a`; DROP DATABASE mysql; --"},
        {"username": "x'@'%"},
        {"privileges": ["ALL PRIVILEGES ON *.* TO 'x'"]},
        {"userHost": "%' IDENTIFIED BY 'x"},
        {"deletionPolicy": "Purge"},
        {"maxUserConnections": -1},
    ],
)
def test_schema_refuses_hostile_fields(stack: Stack, namespace: str, spec: dict[str, object]) -> None:
    with pytest.raises(ApiException) as refused:
        create_cr(stack, namespace, "hostile", spec)
    assert refused.value.status == 422


def test_passwords_never_reach_status_events_or_operator_log(
    stack: Stack, namespace: str, running_operator: Operator
) -> None:
    create_cr(stack, namespace, "quiet")
    cr = wait_ready(stack, namespace, "quiet")
    password = secret_values(stack, namespace, "quiet")["password"]
    admin_password = stack.state.mysql_admin_password
    text = yaml.safe_dump(cr) + "".join(str(e.message) for e in events_for(stack, namespace, "quiet"))
    text += running_operator.log.read_text(errors="replace")
    assert password not in text
    assert admin_password not in text


@pytest.mark.parametrize(
    "change",
    [
        {"databaseName": "elsewhere"},
        {"username": "someone_else"},
        {"userHost": "10.0.0.%"},
        {"serverRef": {"name": "hardened"}},
    ],
    ids=["databaseName", "username", "userHost", "serverRef"],
)
def test_identity_fields_cannot_change_on_a_live_cr(stack: Stack, namespace: str, change: dict[str, object]) -> None:
    # Set later or changed, either would orphan what the CR owns: its finalizer drops only current names.
    create_cr(stack, namespace, "fixed")
    with pytest.raises(ApiException) as refused:
        patch_cr(stack, namespace, "fixed", {"spec": change})
    assert refused.value.status == 422 and "is immutable" in refused.value.body
    patch_cr(stack, namespace, "fixed", {"spec": {"adoptExisting": True}})  # other fields stay editable
