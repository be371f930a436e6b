"""The product on the hardened server profile (external_mysql_operator/localenv/hardened.py): MariaDB with
simple_password_check and password_reuse_check, TLS only, expiring passwords, and an admin without SUPER
whose every privilege (the list Amazon RDS gives its master user) comes from its default role.

The lifecycle tests share one MySQLDatabase on that server (fixture `shop`) and run in file order:
ready, drift repair, rotation, deletion."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pymysql
import pytest
from e2e_support import (
    GROUP,
    PLURAL,
    VERSION,
    Stack,
    create_cr,
    events_for,
    get_cr,
    hardened_rows,
    patch_cr,
    ready_condition,
    secret_values,
    tls_login,
    wait_gone,
    wait_ready,
    wait_reason,
    wait_server,
    wait_until,
)
from kubernetes import client
from kubernetes.client.rest import ApiException

from external_mysql_operator.localenv import hardened
from external_mysql_operator.localenv.config import HARDENED_SERVER

pytestmark = pytest.mark.usefixtures("running_operator")

ROTATE = "piwik.pro/rotate-password"
# The e2e operator reconciles every 5 s (conftest.py); a repair takes one reconcile plus the server's check.
REPAIR_SECONDS = 120


def on_hardened(**spec: object) -> dict[str, object]:
    return {"serverRef": {"name": HARDENED_SERVER}, "deletionPolicy": "Delete", **spec}


def account_exists(stack: Stack, user: str) -> bool:
    return bool(hardened_rows(stack, "SELECT 1 FROM mysql.user WHERE User = %s AND Host = '%%'", (user,)))


def database_exists(stack: Stack, name: str) -> bool:
    return bool(hardened_rows(stack, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)))


def logged_in_values(stack: Stack, namespace: str, name: str) -> dict[str, str]:
    """The Secret's values once they log in over TLS (raises, for wait_until, while they do not)."""
    values = secret_values(stack, namespace, name)
    tls_login(values).close()
    return values


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Iterator[tuple[str, str]]:
    """The MySQLDatabase `shop` on the hardened server, Ready, in a namespace of its own; (namespace, name)."""
    namespace = f"t-hardened-{os.urandom(2).hex()}"
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    create_cr(stack, namespace, "shop", on_hardened())
    wait_ready(stack, namespace, "shop")
    yield namespace, "shop"
    with contextlib.suppress(ApiException):  # test_deletion_policy_delete_drops_database_and_user did it
        stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "shop")
    wait_gone(stack, namespace, "shop")
    stack.core.delete_namespace(namespace)


def test_hardened_profile_is_configured_like_production(stack: Stack) -> None:
    plugins = hardened_rows(
        stack,
        "SELECT PLUGIN_NAME, PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_TYPE = 'PASSWORD VALIDATION'",
    )
    assert dict(plugins) == {"simple_password_check": "ACTIVE", "password_reuse_check": "ACTIVE"}
    settings = hardened_rows(
        stack,
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('require_secure_transport', 'default_password_lifetime')",
    )
    assert dict(settings) == {"require_secure_transport": "ON", "default_password_lifetime": "90"}
    admin = stack.state.mysql_hardened_admin_user
    own = [row[0] for row in hardened_rows(stack, "SHOW GRANTS FOR %s@'%%'", (admin,))]
    role = [row[0] for row in hardened_rows(stack, f"SHOW GRANTS FOR `{hardened.ADMIN_ROLE}`")]
    assert f"SET DEFAULT ROLE `{hardened.ADMIN_ROLE}` FOR `{admin}`@`%`" in own
    assert not any("ON *.*" in line and "USAGE" not in line for line in own), own
    assert not any("SUPER" in line or "ALL PRIVILEGES" in line for line in own + role), role
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(
            host="127.0.0.1",
            port=stack.state.mysql_hardened_port,
            user=admin,
            password=stack.state.mysql_hardened_admin_password,
            ssl_disabled=True,
        )


def test_hardened_server_is_connected_over_tls_with_no_privilege_missing(stack: Stack) -> None:
    server = wait_server(stack, HARDENED_SERVER, "Connected")

    assert server["status"]["missingPrivileges"] == []
    assert server["status"]["flavor"] == "mariadb"
    assert "over TLS" in ready_condition(server)["message"]


def test_database_is_ready_and_its_secret_logs_in_over_tls_to_exactly_its_database(
    stack: Stack, shop: tuple[str, str]
) -> None:
    namespace, name = shop
    values = secret_values(stack, namespace, name)
    assert values["sslMode"] == "VERIFY_IDENTITY"
    assert values["ca.crt"] == (stack.paths.pki / "ca.crt").read_text()
    assert values["uri"].endswith("?ssl-mode=VERIFY_IDENTITY")
    with tls_login(values) as conn, conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()[1].startswith("TLS")
        cur.execute("SHOW GRANTS")
        granted = sorted(row[0] for row in cur.fetchall())
        cur.execute("SHOW DATABASES")
        visible = {row[0] for row in cur.fetchall()}
    assert granted[0] == "GRANT ALL PRIVILEGES ON `shop`.* TO `shop`@`%`"
    assert granted[1].startswith("GRANT USAGE ON *.* TO `shop`@`%`") and len(granted) == 2
    assert visible == {"information_schema", "shop"}


def test_user_dropped_by_hand_comes_back_with_a_new_password_the_reuse_check_accepts(
    stack: Stack, shop: tuple[str, str]
) -> None:
    namespace, name = shop
    before = secret_values(stack, namespace, name)["password"]
    hardened_rows(stack, "DROP USER 'shop'@'%'")

    values = wait_until(
        lambda: logged_in_values(stack, namespace, name), REPAIR_SECONDS, "the dropped user to log in again"
    )

    # password_reuse_check refuses the user's old password for ever, also after DROP USER.
    assert values["password"] != before

    def reasons() -> set[str] | None:
        seen = {event.reason for event in events_for(stack, namespace, name)}
        return seen if seen >= {"UserRecreated", "PasswordReplaced"} else None

    assert "PasswordPolicy" not in wait_until(reasons, 60, "the UserRecreated and PasswordReplaced events")


def test_rotation_annotation_sets_a_new_password(stack: Stack, shop: tuple[str, str]) -> None:
    namespace, name = shop
    before = secret_values(stack, namespace, name)

    patch_cr(stack, namespace, name, {"metadata": {"annotations": {ROTATE: "hardened-1"}}})

    values = wait_until(
        lambda: (v := logged_in_values(stack, namespace, name))["password"] != before["password"] and v,
        REPAIR_SECONDS,
        "the rotated password in the Secret to log in",
    )
    assert ready_condition(get_cr(stack, namespace, name))["status"] == "True"
    with pytest.raises(pymysql.err.OperationalError):
        tls_login(values, password=before["password"])


def test_deletion_policy_delete_drops_database_and_user(stack: Stack, shop: tuple[str, str]) -> None:
    namespace, name = shop
    assert database_exists(stack, "shop") and account_exists(stack, "shop")

    stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    wait_gone(stack, namespace, name)

    assert not database_exists(stack, "shop") and not account_exists(stack, "shop")


@pytest.fixture
def role_admin(stack: Stack) -> Iterator[tuple[str, str]]:
    """A second admin account on the hardened server holding nothing itself: CREATE USER comes from its
    default role, as managed services hand admin power out; (user, password)."""
    user = f"dba_{os.urandom(3).hex()}"
    password = f"Dba-{os.urandom(8).hex()}-9Z"
    hardened_rows(stack, f"CREATE ROLE `{user}_role`")
    hardened_rows(stack, f"GRANT CREATE USER ON *.* TO `{user}_role`")
    hardened_rows(stack, "CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
    hardened_rows(stack, f"GRANT `{user}_role` TO %s@'%%'", (user,))
    hardened_rows(stack, f"SET DEFAULT ROLE `{user}_role` FOR %s@'%%'", (user,))
    yield user, password
    hardened_rows(stack, "DROP USER IF EXISTS %s@'%%'", (user,))
    hardened_rows(stack, f"DROP ROLE IF EXISTS `{user}_role`")


def test_admin_whose_power_comes_from_a_role_is_never_adopted(
    stack: Stack, namespace: str, role_admin: tuple[str, str]
) -> None:
    user, password = role_admin
    name = user.replace("_", "-")

    create_cr(stack, namespace, name, on_hardened(username=user, adoptExisting=True))

    condition = wait_reason(stack, namespace, name, "ReservedName")
    assert "CREATE USER" in condition["message"] and "through a role" in condition["message"]
    assert not database_exists(stack, name)
    ca = (stack.paths.pki / "ca.crt").read_text()
    login = {"host": "127.0.0.1", "port": str(stack.state.mysql_hardened_port), "username": user, "database": ""}
    with tls_login({**login, "password": password, "ca.crt": ca}) as conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_ROLE()")
        assert cur.fetchone()[0] == f"{user}_role", "the account keeps its role and its password"
