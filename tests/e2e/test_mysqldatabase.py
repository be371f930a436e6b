"""MySQLDatabase end to end: the real ansible-operator, kube-apiserver and MariaDB.

The tests that take `mysql_server` run once per server profile (conftest.py): `[default]` and
`[hardened]`, or `[external]` against a server of the user's own. The others are about what does not
depend on the server (the CRD schema, the operator's own validation, templating, Kubernetes objects) or
are about one server by nature, and run on the default server only."""

from __future__ import annotations

import re

import pymysql
import pytest
import yaml
from e2e_support import (
    GROUP,
    PLURAL,
    VERSION,
    ServerProfile,
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
    secret_that_logs_in,
    secret_values,
    server_spec,
    wait_gone,
    wait_ready,
    wait_reason,
    wait_server,
    wait_until,
)
from kubernetes import client
from kubernetes.client.rest import ApiException

from testbed.localenv.config import OPERATOR_NAMESPACE, REPO_ROOT
from testbed.localenv.operator import OperatorProcess as Operator

pytestmark = pytest.mark.usefixtures("running_operator")
# MySQL lists performance_schema to every account (some of its tables are readable by all); MariaDB does not.
SCHEMAS_EVERYONE_SEES = {"information_schema", "performance_schema"}


def test_sample_becomes_ready_with_database_user_and_secret(
    stack: Stack, namespace: str, mysql_server: ServerProfile
) -> None:
    sample = yaml.safe_load((REPO_ROOT / "config/samples/piwik.pro_v1_mysqldatabase.yaml").read_text())
    assert sample["metadata"]["name"] == "the-database-name"
    sample["spec"] = mysql_server.spec()
    stack.custom.create_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", sample)
    cr = wait_ready(stack, namespace, "the-database-name")
    assert cr["status"]["database"] == "the-database-name"
    assert cr["status"]["secretName"] == "the-database-name"
    values = secret_values(stack, namespace, "the-database-name")
    tls_keys = {"sslMode"} if mysql_server.ssl_mode else set()
    tls_keys |= {"ca.crt"} if mysql_server.ca_pem else set()
    assert set(values) == {"host", "port", "database", "username", "password", "uri", *tls_keys}
    assert (values["host"], values["port"]) == (mysql_server.host, str(mysql_server.port))
    assert values["database"] == values["username"] == "the-database-name"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", values["password"])
    assert values.get("sslMode") == mysql_server.ssl_mode
    assert values.get("ca.crt") == mysql_server.ca_pem
    query = f"?ssl-mode={mysql_server.ssl_mode}" if mysql_server.ssl_mode else ""
    assert values["uri"].endswith(f"@{values['host']}:{values['port']}/the-database-name{query}")
    secret = stack.core.read_namespaced_secret("the-database-name", namespace)
    assert secret.type == "Opaque"
    assert secret.metadata.owner_references[0].uid == cr["metadata"]["uid"]


def test_application_user_sees_only_its_database(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "other-app", mysql_server.spec())
    create_cr(stack, namespace, "shop", mysql_server.spec())
    wait_ready(stack, namespace, "other-app")
    wait_ready(stack, namespace, "shop")
    with app_login(stack, secret_values(stack, namespace, "shop")) as conn, conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()[1].startswith("TLS") == bool(mysql_server.ssl_mode)
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO orders VALUES (1)")
        cur.execute("SHOW DATABASES")
        visible = {row[0] for row in cur.fetchall()}
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("CREATE DATABASE sneaky")
    assert visible - SCHEMAS_EVERYONE_SEES == {"shop"}
    assert mysql_server.grants("shop") == [
        "GRANT ALL PRIVILEGES ON `shop`.* TO `shop`@`%`",
        "GRANT USAGE ON *.* TO `shop`@`%`",
    ]


def test_revoked_grants_are_restored_and_the_secret_is_kept(
    stack: Stack, namespace: str, mysql_server: ServerProfile
) -> None:
    create_cr(stack, namespace, "revoked", mysql_server.spec())
    wait_ready(stack, namespace, "revoked")
    expected = mysql_server.grants("revoked")
    before = stack.core.read_namespaced_secret("revoked", namespace)
    # Nothing in Kubernetes changes: only the periodic reconcile can notice and repair.
    mysql_server.rows("REVOKE ALL PRIVILEGES ON `revoked`.* FROM 'revoked'@'%'")
    wait_until(lambda: mysql_server.grants("revoked") == expected, 180, f"grants to return to {expected}")
    after = stack.core.read_namespaced_secret("revoked", namespace)
    kept = after.data["password"] == before.data["password"]
    assert kept, "the repair changed the password"
    assert after.metadata.resource_version == before.metadata.resource_version


def test_names_with_dash_and_dot_work(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "web.shop-v2", mysql_server.spec())
    wait_ready(stack, namespace, "web.shop-v2")
    assert mysql_server.database_exists("web.shop-v2") and mysql_server.user_exists("web.shop-v2")
    app_login(stack, secret_values(stack, namespace, "web.shop-v2")).close()


# Refused by the operator's own rules before it connects: the same on every server.
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
    ids=lambda value: next(iter(value.values())) if isinstance(value, dict) else value,
)
def test_system_names_are_refused(stack: Stack, namespace: str, spec: dict[str, str], field: str) -> None:
    create_cr(stack, namespace, "reserved", spec)
    condition = wait_reason(stack, namespace, "reserved", "ReservedName")
    assert next(iter(spec.values())) in condition["message"]


def test_the_admin_account_is_never_taken_over(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "takeover", mysql_server.spec(username=mysql_server.admin_user, adoptExisting=True))
    condition = wait_reason(stack, namespace, "takeover", "ReservedName")
    assert "admin account" in condition["message"]
    # The admin keeps its password and privileges: another CR still becomes Ready.
    create_cr(stack, namespace, "afterwards", mysql_server.spec())
    wait_ready(stack, namespace, "afterwards")


# A length the operator refuses before it connects: the same on every server.
def test_too_long_name_tells_which_field_to_set(stack: Stack, namespace: str) -> None:
    name = "a" * 70
    create_cr(stack, namespace, name)
    condition = wait_reason(stack, namespace, name, "NameTooLong")
    assert "spec.databaseName" in condition["message"]
    assert not database_exists(stack, name)


def test_same_name_in_two_namespaces_conflicts(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "shared-name", mysql_server.spec())
    owner = wait_ready(stack, namespace, "shared-name")
    password = secret_values(stack, namespace, "shared-name")["password"]
    other = f"{namespace}-b"
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
    try:
        create_cr(stack, other, "shared-name", mysql_server.spec())
        condition = wait_reason(stack, other, "shared-name", "Conflict")
        assert f"{namespace}/shared-name" in condition["message"]
        # Deleting the CR in conflict must not drop anything of the owner's.
        stack.custom.delete_namespaced_custom_object("piwik.pro", "v1", other, "mysqldatabases", "shared-name")
        wait_gone(stack, other, "shared-name")
        assert mysql_server.database_exists("shared-name") and mysql_server.user_exists("shared-name")
        kept = secret_that_logs_in(stack, namespace, "shared-name")["password"] == password
        assert kept, "the owner's password changed"
        assert get_cr(stack, namespace, "shared-name")["metadata"]["uid"] == owner["metadata"]["uid"]
    finally:
        stack.core.delete_namespace(other)


def test_existing_database_refused_without_adopt(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    mysql_server.rows("CREATE DATABASE `handmade`")
    mysql_server.rows("CREATE TABLE `handmade`.`keep` (id INT)")
    create_cr(stack, namespace, "handmade", mysql_server.spec())
    condition = wait_reason(stack, namespace, "handmade", "AlreadyExists")
    assert "adoptExisting" in condition["message"]
    assert not mysql_server.user_exists("handmade")
    patch_cr(stack, namespace, "handmade", {"spec": {"adoptExisting": True}})
    wait_ready(stack, namespace, "handmade")
    tables = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='handmade'"
    assert mysql_server.rows(tables)[0][0] == 1


# About the Kubernetes Secret, which the operator checks before it touches any server.
def test_foreign_secret_is_not_overwritten(stack: Stack, namespace: str) -> None:
    stack.core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="taken"), string_data={"password": "not-yours"})
    )
    create_cr(stack, namespace, "taken")
    wait_reason(stack, namespace, "taken", "SecretNotOwned")
    assert secret_values(stack, namespace, "taken") == {"password": "not-yours"}


def test_deleted_secret_gets_new_password(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "lost-secret", mysql_server.spec())
    wait_ready(stack, namespace, "lost-secret")
    old = secret_values(stack, namespace, "lost-secret")["password"]
    stack.core.delete_namespaced_secret("lost-secret", namespace)
    new = wait_until(
        lambda: secret_that_logs_in(stack, namespace, "lost-secret"), 180, "the Secret to be written again and log in"
    )
    changed = new["password"] != old
    assert changed, "the rewritten Secret kept the old password"
    with pytest.raises(pymysql.err.OperationalError):
        app_login(stack, new, password=old)


def test_dropped_user_is_recreated_and_its_secret_logs_in(
    stack: Stack, namespace: str, mysql_server: ServerProfile
) -> None:
    create_cr(stack, namespace, "dropped-user", mysql_server.spec())
    wait_ready(stack, namespace, "dropped-user")
    before = secret_values(stack, namespace, "dropped-user")
    mysql_server.rows("DROP USER 'dropped-user'@'%'")
    after = wait_until(
        lambda: secret_that_logs_in(stack, namespace, "dropped-user"), 180, "the recreated user to log in"
    )
    replaced = after["password"] != before["password"]
    # A server that refuses the old password again (password_reuse_check keeps it after DROP USER) gets a
    # fresh one, said by an event; any other keeps the Secret as it was.
    if mysql_server.refuses_reused_passwords is not None:
        assert replaced == mysql_server.refuses_reused_passwords, f"password replaced: {replaced}"
    if not replaced:
        unchanged = secret_values(stack, namespace, "dropped-user") == before
        assert unchanged, "the Secret changed although the password was kept"
        return

    def reasons() -> set[str] | None:
        seen = {event.reason for event in events_for(stack, namespace, "dropped-user")}
        return seen if seen >= {"UserRecreated", "PasswordReplaced"} else None

    assert "PasswordPolicy" not in wait_until(reasons, 60, "the UserRecreated and PasswordReplaced events")


def test_widened_grants_are_restored(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "narrow", mysql_server.spec(privileges=["SELECT", "INSERT"]))
    wait_ready(stack, namespace, "narrow")
    expected = mysql_server.grants("narrow")
    # Global privileges the admin holds (not ALL PRIVILEGES, which an admin without SUPER cannot grant).
    mysql_server.rows("GRANT SELECT, INSERT ON *.* TO 'narrow'@'%'")
    mysql_server.rows("GRANT DELETE ON `narrow`.* TO 'narrow'@'%'")
    wait_until(lambda: mysql_server.grants("narrow") == expected, 180, f"grants to return to {expected}")
    events = wait_until(
        lambda: [e for e in events_for(stack, namespace, "narrow") if e.reason == "GrantsRepaired"],
        120,
        "a GrantsRepaired event",
    )
    assert events[0].type == "Warning"


def test_dropped_database_is_recreated_with_warning_event(
    stack: Stack, namespace: str, mysql_server: ServerProfile
) -> None:
    create_cr(stack, namespace, "dropped-db", mysql_server.spec())
    wait_ready(stack, namespace, "dropped-db")
    mysql_server.rows("DROP DATABASE `dropped-db`")
    wait_until(lambda: mysql_server.database_exists("dropped-db"), 180, "the database to be recreated")
    events = wait_until(
        lambda: [e for e in events_for(stack, namespace, "dropped-db") if e.reason == "DatabaseRecreated"],
        120,
        "a DatabaseRecreated event",
    )
    assert events[0].type == "Warning"


def test_retain_policy_keeps_database_and_user(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "retained", mysql_server.spec(deletionPolicy="Retain"))
    wait_ready(stack, namespace, "retained")
    try:
        stack.custom.delete_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", "retained")
        wait_gone(stack, namespace, "retained")
        assert mysql_server.database_exists("retained") and mysql_server.user_exists("retained")
        owners = "SELECT COUNT(*) FROM external_mysql_operator.owners WHERE name=%s"
        assert mysql_server.rows(owners, ("retained",))[0][0] == 0
    finally:  # what the operator let go is the DBA's: on a server that outlives the session, that is us
        mysql_server.rows("DROP DATABASE IF EXISTS `retained`")
        mysql_server.rows("DROP USER IF EXISTS 'retained'@'%'")


def test_delete_policy_drops_database_and_user(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "dropped-on-delete", mysql_server.spec(deletionPolicy="Delete"))
    wait_ready(stack, namespace, "dropped-on-delete")
    assert mysql_server.database_exists("dropped-on-delete") and mysql_server.user_exists("dropped-on-delete")
    stack.custom.delete_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", "dropped-on-delete")
    wait_gone(stack, namespace, "dropped-on-delete")
    assert not mysql_server.database_exists("dropped-on-delete")
    assert not mysql_server.user_exists("dropped-on-delete")


def test_rotation_annotation_sets_new_password(stack: Stack, namespace: str, mysql_server: ServerProfile) -> None:
    create_cr(stack, namespace, "rotated", mysql_server.spec())
    wait_ready(stack, namespace, "rotated")
    old = secret_values(stack, namespace, "rotated")
    patch_cr(stack, namespace, "rotated", {"metadata": {"annotations": {"piwik.pro/rotate-password": "2026-11-26"}}})
    wait_until(
        lambda: secret_that_logs_in(stack, namespace, "rotated")["password"] != old["password"],
        180,
        "the Secret to carry a new password that logs in",
    )
    with pytest.raises(pymysql.err.OperationalError):
        app_login(stack, old)
    wait_until(
        lambda: [e for e in events_for(stack, namespace, "rotated") if e.reason == "PasswordRotated"],
        120,
        "a PasswordRotated event",
    )
    assert ready_condition(get_cr(stack, namespace, "rotated"))["status"] == "True"


# Templating is the operator's own: the same on every server.
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


# Input handling is the operator's own: the same on every server.
def test_jinja_in_annotations_is_stored_and_never_executed(stack: Stack, namespace: str) -> None:
    canary = stack.paths.state / "pwned-annotation"
    payload = "{{ lookup('pipe', 'touch " + str(canary) + "') }}"
    create_cr(stack, namespace, "jinja", annotations={"note": payload, "piwik.pro/rotate-password": payload})
    cr = wait_ready(stack, namespace, "jinja")
    assert cr["metadata"]["annotations"]["note"] == payload
    assert not canary.exists()


# About a server that does not exist.
def test_missing_server_reports_server_not_found_and_deletion_completes(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "nowhere", {"serverRef": {"name": "absent"}})
    condition = wait_reason(stack, namespace, "nowhere", "ServerNotFound")
    assert "No MySQLServer 'absent'" in condition["message"]
    # A server that does not exist holds nothing of this CR: its finalizer lets it go.
    stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "nowhere")
    wait_gone(stack, namespace, "nowhere", timeout=120)


# Needs a second MySQLServer on a server whose admin password the test knows and breaks: the default one.
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


# About a server that does not answer.
def test_unreachable_server_reports_server_unreachable(stack: Stack) -> None:
    create_server(stack, "closed", server_spec(stack, port=1))
    try:
        wait_server(stack, "closed", "ServerUnreachable")
    finally:
        delete_server(stack, "closed")


# The CRD schema refuses them before any server is involved.
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
    ids=lambda spec: next(iter(spec)),
)
def test_schema_refuses_hostile_fields(stack: Stack, namespace: str, spec: dict[str, object]) -> None:
    with pytest.raises(ApiException) as refused:
        create_cr(stack, namespace, "hostile", spec)
    assert refused.value.status == 422


def test_passwords_never_reach_status_events_or_operator_log(
    stack: Stack, namespace: str, running_operator: Operator, mysql_server: ServerProfile
) -> None:
    create_cr(stack, namespace, "quiet", mysql_server.spec())
    cr = wait_ready(stack, namespace, "quiet")
    password = secret_values(stack, namespace, "quiet")["password"]
    text = yaml.safe_dump(cr) + "".join(str(e.message) for e in events_for(stack, namespace, "quiet"))
    text += running_operator.log.read_text(errors="replace")
    # Booleans, so that a failure never prints the password it found.
    leaked_application_password = password in text
    leaked_admin_password = mysql_server.admin_password in text
    assert not leaked_application_password
    assert not leaked_admin_password


# The CRD's immutability rules refuse them before any server is involved.
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
