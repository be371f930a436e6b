"""What is particular to the hardened server profile (testbed/localenv/hardened.py): MariaDB
with simple_password_check and password_reuse_check, TLS only, expiring passwords, and an admin without
SUPER whose every privilege (the list Amazon RDS gives its master user) comes from its default role.

The product's own tests run on this server too, as the `[hardened]` runs of test_mysqldatabase.py
(conftest.py's `mysql_server`); among them the reuse check's replacement of a recreated user's password
(test_dropped_user_is_recreated_and_its_secret_logs_in[hardened])."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pymysql
import pytest
from e2e_support import (
    Stack,
    create_cr,
    hardened_profile,
    hardened_rows,
    ready_condition,
    wait_reason,
    wait_server,
)

from testbed.localenv import hardened
from testbed.localenv.config import HARDENED_SERVER

pytestmark = pytest.mark.usefixtures("running_operator")


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
    without_tls = dataclasses.replace(hardened_profile(stack), tls_mode="Disabled")
    with pytest.raises(pymysql.err.OperationalError):
        without_tls.admin_sql()


def test_hardened_server_is_connected_over_tls_with_no_privilege_missing(stack: Stack) -> None:
    server = wait_server(stack, HARDENED_SERVER, "Connected")

    assert server["status"]["missingPrivileges"] == []
    assert server["status"]["flavor"] == "mariadb"
    assert "over TLS" in ready_condition(server)["message"]


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
    server = hardened_profile(stack)

    create_cr(stack, namespace, name, server.spec(username=user, adoptExisting=True))

    condition = wait_reason(stack, namespace, name, "ReservedName")
    assert "CREATE USER" in condition["message"] and "through a role" in condition["message"]
    assert not server.database_exists(name)
    as_that_admin = dataclasses.replace(server, admin_user=user, admin_password=password)
    assert as_that_admin.rows("SELECT CURRENT_ROLE()") == [(f"{user}_role",)], "it keeps its role and password"
