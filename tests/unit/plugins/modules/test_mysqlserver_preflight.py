"""mysqlserver_preflight against the real, throwaway MariaDB (see conftest.py).

`run(params)` is the check on plain dicts; `main()` is called with module arguments for the failure
shape the role reads (`failed`, `reason`, `msg`, and the findings).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import mysqldatabase_objects
import mysqlserver_preflight as module
import pytest
from ansible.module_utils.mysqldatabase_sql import MySQLDatabaseError, required_admin_privileges

from tests.unit.plugins.modules.secrets_api import module_runner

DEFAULTS = {name: spec.get("default") for name, spec in module.ARGUMENT_SPEC.items()}
# Everything the operator needs, as a GRANT lists it (GRANT OPTION goes in WITH GRANT OPTION).
GRANTABLE = ", ".join(name for name in required_admin_privileges("mariadb") if name != "GRANT OPTION")


@pytest.fixture
def login(mariadb) -> dict:
    return {**DEFAULTS, **mariadb.login_params()}


def fail(params: dict) -> MySQLDatabaseError:
    with pytest.raises(MySQLDatabaseError) as info:
        module.run(params)
    return info.value


@pytest.fixture
def role_admin(mariadb, unique: Callable[[str], str]) -> dict:
    """An admin holding nothing itself: every required privilege comes from its default role."""
    role, user, password = unique("opadmin"), unique("roleadm"), "Role-" + uuid.uuid4().hex
    mariadb.query(f"CREATE ROLE `{role}`")
    mariadb.query(f"GRANT {GRANTABLE} ON *.* TO `{role}` WITH GRANT OPTION")
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
    mariadb.query(f"GRANT `{role}` TO %s@'%%'", (user,))
    mariadb.query(f"SET DEFAULT ROLE `{role}` FOR %s@'%%'", (user,))
    return {"role": role, "login_user": user, "login_password": password}


# --- the admin's privileges --------------------------------------------------------------------


def test_full_admin_is_connected_with_nothing_missing(login):
    result = module.run(login)

    assert (result["reason"], result["changed"], result["missing_privileges"]) == ("Connected", False, [])
    assert "failed" not in result
    assert result["flavor"] == "mariadb" and "MariaDB" in result["version"]
    assert result["required_privileges"] == list(required_admin_privileges("mariadb"))
    assert "holds every privilege" in result["msg"]


def test_admin_whose_privileges_come_from_its_default_role_is_connected(login, role_admin):
    result = module.run({**login, **role_admin})

    assert (result["reason"], result["missing_privileges"]) == ("Connected", [])


def test_privilege_revoked_from_the_role_is_missing(mariadb, login, role_admin):
    mariadb.query(f"REVOKE CREATE USER ON *.* FROM `{role_admin['role']}`")

    result = module.run({**login, **role_admin})

    assert (result["failed"], result["reason"]) == (True, "AdminPrivilegesMissing")
    assert result["missing_privileges"] == ["CREATE USER"]
    assert "CREATE USER" in result["msg"] and role_admin["login_user"] in result["msg"]


def test_role_granted_but_not_active_gives_no_privileges(mariadb, login, role_admin):
    mariadb.query("SET DEFAULT ROLE NONE FOR %s@'%%'", (role_admin["login_user"],))

    result = module.run({**login, **role_admin})

    assert result["reason"] == "AdminPrivilegesMissing"
    assert "CREATE USER" in result["missing_privileges"] and "SELECT" in result["missing_privileges"]


def test_grant_option_missing_from_the_role_is_named(mariadb, login, role_admin):
    mariadb.query(f"REVOKE GRANT OPTION ON *.* FROM `{role_admin['role']}`")

    assert module.run({**login, **role_admin})["missing_privileges"] == ["GRANT OPTION"]


def test_wrong_admin_password_is_admin_auth_failed(login):
    error = fail({**login, "login_password": "not-the-admin-password"})

    assert error.reason == "AdminAuthFailed" and "not-the-admin-password" not in error.msg


def test_expired_admin_password_is_admin_password_expired(mariadb, login, role_admin):
    mariadb.query("ALTER USER %s@'%%' PASSWORD EXPIRE", (role_admin["login_user"],))

    error = fail({**login, **role_admin})

    assert error.reason == "AdminPasswordExpired" and role_admin["login_user"] in error.msg
    assert role_admin["login_password"] not in error.msg


# --- TLS (the server's certificate names 127.0.0.1, not localhost: see conftest.py) ------------------


@pytest.mark.parametrize(
    ("mode", "host"), [("Required", "localhost"), ("VerifyCA", "localhost"), ("VerifyIdentity", "127.0.0.1")]
)
def test_tls_modes_connect_over_tls(mariadb, login, mode, host):
    result = module.run({**login, "login_host": host, "tls_mode": mode, "ca_cert": mariadb.ca_cert})

    assert (result["reason"], result["tls"]) == ("Connected", True)
    assert "over TLS" in result["msg"]


def test_disabled_connects_without_tls_although_the_server_offers_it(mariadb, login):
    result = module.run({**login, "tls_mode": "Disabled", "ca_cert": mariadb.ca_cert})

    assert (result["reason"], result["tls"]) == ("Connected", False)


def test_verify_identity_refuses_a_name_not_in_the_certificate(mariadb, login):
    error = fail({**login, "login_host": "localhost", "tls_mode": "VerifyIdentity", "ca_cert": mariadb.ca_cert})

    assert error.reason == "TLSFailed"


def test_wrong_ca_is_tls_failed(mariadb, login):
    error = fail({**login, "tls_mode": "VerifyCA", "ca_cert": mariadb.other_ca_cert})

    assert error.reason == "TLSFailed" and "CERTIFICATE_VERIFY_FAILED" in error.msg


def test_server_without_tls_is_tls_failed(login, no_tls_server):
    error = fail({**login, "login_port": no_tls_server, "tls_mode": "Required", "connect_timeout": 2})

    assert error.reason == "TLSFailed"


def test_disabled_on_a_tls_only_server_is_tls_required(login, secure_transport_required):
    error = fail({**login, "tls_mode": "Disabled"})

    assert error.reason == "TLSRequired" and "spec.tls.mode" in error.msg


def test_tls_on_a_tls_only_server_is_connected(login, secure_transport_required):
    result = module.run({**login, "tls_mode": "Required"})

    assert (result["reason"], result["tls"]) == ("Connected", True)


# --- the databases the operator owns -------------------------------------------------------------


def test_databases_are_the_database_ownership_records(params, login, unique):
    schema = unique("meta")
    for index in range(2):
        mysqldatabase_objects.run(
            {
                **params,
                "database": f"{params['database']}_{index}",
                "username": f"{params['username']}_{index}",
                "metadata_schema": schema,
            }
        )

    # Two databases, two users: only the databases count.
    assert module.run({**login, "metadata_schema": schema})["databases"] == 2


def test_without_ownership_records_there_are_no_databases(login, unique):
    assert module.run({**login, "metadata_schema": unique("meta")})["databases"] == 0


# --- the Ansible module --------------------------------------------------------------------------


@pytest.fixture
def call_main(monkeypatch, capsys) -> Callable[..., dict]:
    """main() with module arguments, as Ansible calls it; returns its JSON result."""
    return module_runner(module.main, monkeypatch, capsys)


def test_main_reports_connected_in_check_mode(call_main, login):
    result = call_main(check_mode=True, **login)

    assert (result["reason"], result["changed"]) == ("Connected", False) and "failed" not in result


def test_main_fails_with_the_findings_when_privileges_are_missing(call_main, mariadb, login, role_admin):
    mariadb.query(f"REVOKE CREATE USER ON *.* FROM `{role_admin['role']}`")
    del role_admin["role"]

    result = call_main(**{**login, **role_admin})

    assert (result["failed"], result["reason"], result["missing_privileges"]) == (
        True,
        "AdminPrivilegesMissing",
        ["CREATE USER"],
    )
    assert result["flavor"] == "mariadb" and isinstance(result["databases"], int)
    assert role_admin["login_password"] not in json.dumps(result)


def test_main_fails_with_reason_and_msg_never_the_password(call_main, login):
    result = call_main(**{**login, "login_password": "wrong-admin-password"})

    assert (result["failed"], result["reason"]) == (True, "AdminAuthFailed")
    assert "wrong-admin-password" not in json.dumps(result)
