"""mysqldatabase_objects against a real, throwaway MariaDB (see conftest.py).

`run(params)` is the module's logic on plain dicts; the Ansible wrapper is proven separately by
calling `main()` with module arguments and by running the module from a playbook as the role does.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mysqldatabase_objects as module
import pymysql
import pytest
from ansible.module_utils.mysql_password_hashes import native_password_hash
from ansible.module_utils.mysqldatabase_sql import MySQLDatabaseError, OwnerRecords, Session, grant_database_pattern

from tests.unit.plugins.modules.secrets_api import module_runner

REPO = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
WRITE_COUNTERS = (
    "Com_create_db",
    "Com_alter_db",
    "Com_drop_db",
    "Com_create_user",
    "Com_alter_user",
    "Com_drop_user",
    "Com_grant",
    "Com_grant_role",
    "Com_revoke",
    "Com_revoke_all",
    "Com_revoke_role",
    "Com_create_table",
    "Com_insert",
    "Com_update",
    "Com_delete",
)


def fail(params: dict, check_mode: bool = False) -> MySQLDatabaseError:
    with pytest.raises(MySQLDatabaseError) as info:
        module.run(params, check_mode=check_mode)
    return info.value


def write_counters(mariadb) -> dict:
    rows = mariadb.query("SHOW GLOBAL STATUS WHERE Variable_name IN %s", (WRITE_COUNTERS,))
    return {row["Variable_name"]: int(row["Value"]) for row in rows}


def databases(mariadb) -> set[str]:
    return {row["SCHEMA_NAME"] for row in mariadb.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")}


def accounts(mariadb, user: str) -> list[str]:
    return [row["Host"] for row in mariadb.query("SELECT Host FROM mysql.user WHERE User = %s", (user,))]


def grants(mariadb, user: str, host: str = "%") -> list[str]:
    return sorted(row[next(iter(row))] for row in mariadb.query("SHOW GRANTS FOR %s@%s", (user, host)))


def owner_rows(mariadb, kind: str, name: str) -> list[dict]:
    return mariadb.query(
        "SELECT host, cr_namespace, cr_name, cr_uid FROM external_mysql_operator.owners WHERE kind = %s AND name = %s",
        (kind, name),
    )


def can_use(mariadb, params: dict, database: str | None = None) -> bool:
    """Whether the user logs in with its password and may create a table in `database`."""
    try:
        conn = mariadb.connect(params["username"], params["password"], database or params["database"])
        with conn, conn.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS t (i INT)")
        return True
    except pymysql.MySQLError:
        return False


def other_cr(params: dict, **changes) -> dict:
    return {**params, "owner_name": "other-" + uuid.uuid4().hex[:6], "owner_uid": str(uuid.uuid4()), **changes}


# --- state=present: creation and idempotence ---------------------------------------------------


def test_first_run_creates_database_user_and_exact_grants(mariadb, params):
    result = module.run(params)

    assert result["changed"] and result["database_created"] and result["user_created"]
    assert result["flavor"] == "mariadb" and "MariaDB" in result["server_version"]
    assert can_use(mariadb, params)
    assert grants(mariadb, params["username"]) == sorted(
        [
            f"GRANT USAGE ON *.* TO `{params['username']}`@`%` IDENTIFIED BY PASSWORD "
            f"'{native_password_hash(params['password'])}'",
            f"GRANT ALL PRIVILEGES ON `{grant_database_pattern(params['database'])}`.* TO `{params['username']}`@`%`",
        ]
    )


def test_second_run_changes_nothing(mariadb, params):
    module.run(params)
    before = write_counters(mariadb)

    result = module.run(params)

    assert result["changed"] is False and result["actions"] == []
    assert not any(result[flag] for flag in ("database_created", "user_created", "password_set", "grants_repaired"))
    assert write_counters(mariadb) == before, "a steady-state run must run no DDL and write nothing"


def test_check_mode_changes_nothing(mariadb, params):
    module.run({**params, "database": params["database"] + "_seed", "username": params["username"] + "_seed"})
    before_counters, before_databases = write_counters(mariadb), databases(mariadb)

    result = module.run(params, check_mode=True)

    assert result["changed"] and result["database_created"] and result["user_created"]
    assert any("grant" in action for action in result["actions"])
    assert write_counters(mariadb) == before_counters
    assert databases(mariadb) == before_databases and accounts(mariadb, params["username"]) == []


def test_check_mode_reports_repairs_without_making_them(mariadb, params):
    module.run(params)
    mariadb.query("GRANT SELECT ON *.* TO %s@'%%'", (params["username"],))
    mariadb.query("ALTER USER %s@'%%' IDENTIFIED BY 'elsewhere'", (params["username"],))
    before = write_counters(mariadb)

    result = module.run(params, check_mode=True)

    assert result["changed"] and result["grants_repaired"] and result["password_set"]
    assert write_counters(mariadb) == before
    assert any("GRANT SELECT ON *.*" in grant for grant in grants(mariadb, params["username"]))


def test_owner_records_name_the_cr(mariadb, params):
    module.run(params)

    (db_row,) = owner_rows(mariadb, "database", params["database"])
    (user_row,) = owner_rows(mariadb, "user", params["username"])
    expected = {"cr_namespace": "team-a", "cr_name": params["owner_name"], "cr_uid": params["owner_uid"]}
    assert db_row == {"host": "", **expected} and user_row == {"host": "%", **expected}


def test_privilege_subset_grants_exactly_those(mariadb, params):
    result = module.run({**params, "privileges": ["select", "Insert", "lock  tables", "SELECT"]})

    assert result["changed"]
    assert f"GRANT SELECT, INSERT, LOCK TABLES ON `{grant_database_pattern(params['database'])}`.*" in " ".join(
        grants(mariadb, params["username"])
    )
    assert module.run({**params, "privileges": ["INSERT", "select", "LOCK TABLES"]})["changed"] is False


def test_max_user_connections_is_set_and_changed(mariadb, params):
    module.run({**params, "max_user_connections": 3})
    result = module.run({**params, "max_user_connections": 7})

    assert result["changed"] and not result["grants_repaired"]
    (row,) = mariadb.query("SELECT max_user_connections FROM mysql.user WHERE User = %s", (params["username"],))
    assert row["max_user_connections"] == 7


def test_character_set_and_collation_are_applied_then_altered(mariadb, params):
    module.run({**params, "character_set": "latin1", "collation": "latin1_bin"})
    result = module.run({**params, "character_set": "UTF8MB4", "collation": "utf8mb4_unicode_ci"})

    assert result["changed"]
    (row,) = mariadb.query(
        "SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co "
        "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
        (params["database"],),
    )
    assert row == {"cs": "utf8mb4", "co": "utf8mb4_unicode_ci"}


def test_utf8_alias_is_idempotent(params):
    module.run({**params, "character_set": "utf8", "collation": "utf8_general_ci"})

    assert module.run({**params, "character_set": "utf8", "collation": "utf8_general_ci"})["changed"] is False


@pytest.mark.parametrize(
    ("character_set", "collation"),
    [("klingon", None), (None, "utf8mb4_klingon_ci"), ("latin1", "utf8mb4_bin"), ("utf8mb4`; x", None)],
)
def test_unknown_character_set_or_collation_is_invalid_spec(mariadb, params, character_set, collation):
    error = fail({**params, "character_set": character_set, "collation": collation})

    assert error.reason == "InvalidSpec"
    assert params["database"] not in databases(mariadb)


def test_unknown_privilege_is_invalid_spec_and_changes_nothing(mariadb, params):
    error = fail({**params, "privileges": ["SELECT", "SUPER"]})

    assert error.reason == "InvalidSpec" and "SUPER" in error.msg
    assert params["database"] not in databases(mariadb)


@pytest.mark.parametrize("privilege", ["SELECT ON *.* TO x; --", "ALL PRIVILEGES ON *.*", "FILE", "GRANT OPTION"])
def test_privilege_string_never_reaches_sql(mariadb, params, privilege):
    assert fail({**params, "privileges": [privilege]}).reason == "InvalidSpec"
    assert accounts(mariadb, params["username"]) == []


# --- ownership -----------------------------------------------------------------------------------


def test_conflict_names_owner_and_changes_nothing(mariadb, params):
    module.run(params)
    intruder = other_cr(params, username=params["username"] + "_b", owner_namespace="team-b")
    before = write_counters(mariadb)

    error = fail(intruder)

    assert error.reason == "Conflict"
    assert f"team-a/{params['owner_name']}" in error.msg and "spec.databaseName" in error.msg
    assert accounts(mariadb, intruder["username"]) == []
    assert write_counters(mariadb) == before


def test_user_conflict_leaves_no_half_created_database(mariadb, params):
    module.run(params)
    intruder = other_cr(params, database=params["database"] + "_b")

    error = fail(intruder)

    assert error.reason == "Conflict" and "spec.username" in error.msg
    assert intruder["database"] not in databases(mariadb)
    assert owner_rows(mariadb, "database", intruder["database"]) == []


def test_recreated_cr_conflicts_until_adopt_existing(mariadb, params):
    module.run(params)
    recreated = {**params, "owner_uid": str(uuid.uuid4())}

    error = fail(recreated)
    result = module.run({**recreated, "adopt_existing": True})

    assert error.reason == "Conflict" and "spec.adoptExisting: true" in error.msg
    assert result["adopted"] == ["database", "user"]
    assert owner_rows(mariadb, "database", params["database"])[0]["cr_uid"] == recreated["owner_uid"]
    assert module.run(recreated)["changed"] is False


def test_adopt_existing_never_takes_over_another_crs_objects(params):
    module.run(params)

    error = fail(other_cr(params, adopt_existing=True))

    assert error.reason == "Conflict"


def test_existing_database_refused_without_adopt(mariadb, params):
    mariadb.query(f"CREATE DATABASE `{params['database']}`")

    error = fail(params)

    assert error.reason == "AlreadyExists" and "spec.adoptExisting: true" in error.msg
    assert accounts(mariadb, params["username"]) == []
    assert owner_rows(mariadb, "database", params["database"]) == []


def test_existing_user_refused_without_adopt(mariadb, params):
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY 'theirs'", (params["username"],))

    error = fail(params)

    assert error.reason == "AlreadyExists" and params["username"] in error.msg
    assert params["database"] not in databases(mariadb)


def test_adopt_existing_records_owner(mariadb, params):
    mariadb.query(f"CREATE DATABASE `{params['database']}`")
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY 'theirs'", (params["username"],))
    mariadb.query("GRANT PROCESS ON *.* TO %s@'%%'", (params["username"],))

    result = module.run({**params, "adopt_existing": True})

    assert result["adopted"] == ["database", "user"]
    assert result["password_set"] and result["grants_repaired"]
    assert not result["database_created"] and not result["user_created"]
    assert owner_rows(mariadb, "database", params["database"])[0]["cr_uid"] == params["owner_uid"]
    assert owner_rows(mariadb, "user", params["username"])[0]["cr_uid"] == params["owner_uid"]
    assert can_use(mariadb, params)
    assert module.run(params)["changed"] is False


@pytest.mark.parametrize(
    "privilege", ["ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", "CREATE USER ON *.* TO %s@'%%'"]
)
def test_adopt_existing_never_takes_over_an_administrative_account(mariadb, params, privilege):
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY 'theirs'", (params["username"],))
    mariadb.query(f"GRANT {privilege}", (params["username"],))

    error = fail({**params, "adopt_existing": True})

    assert error.reason == "ReservedName" and "never adopted" in error.msg
    assert mariadb.connect(params["username"], "theirs").open
    assert owner_rows(mariadb, "user", params["username"]) == []
    assert params["database"] not in databases(mariadb)


def test_adopt_existing_never_takes_over_the_admin_account(mariadb, params):
    error = fail({**params, "username": params["login_user"], "adopt_existing": True})

    assert error.reason == "ReservedName"
    assert module.run(params)["changed"], "the admin must still log in and work"


def test_the_admin_user_name_is_refused_before_connecting(params):
    error = fail({**params, "username": params["login_user"], "login_password": "not-the-password"})

    assert error.reason == "ReservedName" and "admin account" in error.msg


def test_second_account_beside_another_crs_user_is_refused(mariadb, params):
    module.run(params)
    intruder = other_cr(params, user_host="127.0.0.1", database=params["database"] + "_x", adopt_existing=True)

    error = fail(intruder)

    assert error.reason == "Conflict" and "'%'" in error.msg
    assert accounts(mariadb, params["username"]) == ["%"]
    assert can_use(mariadb, params)


def test_second_account_beside_an_unmanaged_account_is_refused(mariadb, params):
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY 'theirs'", (params["username"],))

    error = fail({**params, "user_host": "127.0.0.1", "adopt_existing": True})

    assert error.reason == "AlreadyExists" and "'%'" in error.msg
    assert accounts(mariadb, params["username"]) == ["%"]
    assert mariadb.connect(params["username"], "theirs").open


# --- repairs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "widen",
    [
        "GRANT SELECT ON *.* TO %s@'%%'",
        "GRANT ALL PRIVILEGES ON `mysql`.* TO %s@'%%'",
        "GRANT SELECT ON `mysql`.`user` TO %s@'%%'",
        "GRANT SELECT (User) ON `mysql`.`db` TO %s@'%%'",
        "GRANT GRANT OPTION ON `{db}`.* TO %s@'%%'",
        "REVOKE DROP ON `{db}`.* FROM %s@'%%'",
    ],
)
def test_widened_grants_are_restored(mariadb, params, widen):
    module.run(params)
    expected = grants(mariadb, params["username"])
    mariadb.query(widen.replace("{db}", grant_database_pattern(params["database"])), (params["username"],))
    assert grants(mariadb, params["username"]) != expected

    result = module.run(params)

    assert result["grants_repaired"] and not result["password_set"]
    assert grants(mariadb, params["username"]) == expected


def test_granted_role_is_revoked(mariadb, params, unique):
    module.run(params)
    role = unique("role")
    mariadb.query(f"CREATE ROLE `{role}`")
    mariadb.query(f"GRANT SELECT ON *.* TO `{role}`")
    mariadb.query(f"GRANT `{role}` TO %s@'%%'", (params["username"],))

    result = module.run(params)

    assert result["grants_repaired"]
    assert mariadb.query("SELECT * FROM mysql.roles_mapping WHERE User = %s", (params["username"],)) == []
    assert module.run(params)["changed"] is False


def test_dropped_user_is_recreated_with_same_password(mariadb, params):
    module.run(params)
    mariadb.query("DROP USER %s@'%%'", (params["username"],))

    result = module.run(params)

    assert result["user_recreated"] and not result["user_created"]
    assert can_use(mariadb, params)


def test_dropped_database_is_recreated(mariadb, params):
    module.run(params)
    mariadb.query(f"DROP DATABASE `{params['database']}`")

    result = module.run(params)

    assert result["database_recreated"] and not result["database_created"]
    assert params["database"] in databases(mariadb)


def test_password_changed_on_server_is_set_back(mariadb, params):
    module.run(params)
    mariadb.query("ALTER USER %s@'%%' IDENTIFIED BY 'changed-by-someone'", (params["username"],))

    result = module.run(params)

    assert result["password_set"] and can_use(mariadb, params)


def test_password_changed_by_hand_is_reported_as_drift_repaired(mariadb, params):
    module.run(params)
    mariadb.query("ALTER USER %s@'%%' IDENTIFIED BY 'changed-by-someone'", (params["username"],))

    result = module.run(params)

    assert result["password_drift_repaired"] and not result["password_replaced"]


def test_matching_password_under_ed25519_is_left_alone(mariadb, params):
    # Compared by computing the plugin's hash: no login as the user, no ALTER USER.
    module.run(params)
    mariadb.query(
        "ALTER USER %s@'%%' IDENTIFIED VIA ed25519 USING PASSWORD(%s)", (params["username"], params["password"])
    )
    before = write_counters(mariadb)

    result = module.run(params)

    assert not result["changed"] and not result["password_set"]
    assert write_counters(mariadb) == before


def test_password_changed_by_hand_under_ed25519_is_set_back(mariadb, params):
    module.run(params)
    mariadb.query("ALTER USER %s@'%%' IDENTIFIED VIA ed25519 USING PASSWORD('Changed-by-1-DBA')", (params["username"],))

    result = module.run(params)

    assert result["password_set"] and result["password_drift_repaired"] and can_use(mariadb, params)


def test_drift_check_never_logs_in_as_the_user(mariadb, params):
    # A failed login would count towards FAILED_LOGIN_ATTEMPTS and a successful one take a connection slot.
    module.run(params)
    mariadb.query("ALTER USER %s@'%%' IDENTIFIED BY 'changed-by-someone'", (params["username"],))
    before = mariadb.query("SHOW GLOBAL STATUS LIKE 'Aborted_connects'")[0]["Value"]

    module.run(params)

    assert mariadb.query("SHOW GLOBAL STATUS LIKE 'Aborted_connects'")[0]["Value"] == before


def test_expired_password_is_replaced_with_the_replacement(mariadb, params):
    module.run(params)
    mariadb.query("ALTER USER %s@'%%' PASSWORD EXPIRE", (params["username"],))
    replaced = {**params, "replacement_password": "Replacement-" + uuid.uuid4().hex}

    result = module.run(replaced)

    assert result["password_replaced"] and result["password_expired"] and not result["password_set"]
    assert can_use(mariadb, {**params, "password": replaced["replacement_password"]})
    assert mariadb.query("SELECT password_expired FROM mysql.user WHERE User = %s", (params["username"],)) == [
        {"password_expired": "N"}
    ]


def test_password_past_its_lifetime_counts_as_expired(mariadb, params):
    module.run(params)
    mariadb.query("ALTER USER %s@'%%' PASSWORD EXPIRE INTERVAL 1 DAY", (params["username"],))
    mariadb.query(
        "UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.password_last_changed', UNIX_TIMESTAMP() - 90000) "
        "WHERE User = %s",
        (params["username"],),
    )
    mariadb.query("FLUSH PRIVILEGES")

    result = module.run({**params, "replacement_password": "Replacement-" + uuid.uuid4().hex})

    assert result["password_expired"]


def test_locked_account_is_reported_and_stays_locked(mariadb, params):
    module.run(params)
    mariadb.query("ALTER USER %s@'%%' ACCOUNT LOCK", (params["username"],))

    error = fail({**params, "password_changed": True, "password": "Other-" + uuid.uuid4().hex})

    assert error.reason == "AccountLocked" and "ACCOUNT UNLOCK" in error.msg
    locked = mariadb.query("SELECT Priv FROM mysql.global_priv WHERE User = %s", (params["username"],))[0]["Priv"]
    assert '"account_locked": true' in locked.replace('":true', '": true')


def test_password_changed_sets_new_password(mariadb, params):
    module.run(params)
    rotated = {**params, "password": "Rotated-" + uuid.uuid4().hex, "password_changed": True}

    result = module.run(rotated)

    assert result["password_set"] and can_use(mariadb, rotated) and not can_use(mariadb, params)


# --- names ---------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "bt`ick@",
    "quo'te@",
    'dou"ble@',
    "back\\slash@",
    "per%cent@",
    "under_sc@",
    "new\nline@",
    "x@; DROP DATABASE mysql; --",
    "ünïcødé-名前@",
    "pct%s@",
    "pct%(x)s@",
    "dot.slash/@",
    " lead@",
    "\\_%@",
    "``@''",
]
REFUSED_NAMES = ["trail@ ", "emoji😀@", "nul\x00@", ""]


def _name(template: str, token: str) -> str:
    return template.replace("@", token)


@pytest.mark.parametrize("template", HOSTILE_NAMES)
def test_hostile_database_name_is_used_literally(mariadb, params, template):
    database = _name(template, uuid.uuid4().hex[:6])
    before = databases(mariadb)

    module.run({**params, "database": database})

    assert databases(mariadb) - before - {"external_mysql_operator"} == {database}
    assert [row["Db"] for row in mariadb.query("SELECT Db FROM mysql.db WHERE User = %s", (params["username"],))] == [
        grant_database_pattern(database)
    ]
    assert can_use(mariadb, {**params, "database": database})
    assert module.run({**params, "database": database})["changed"] is False


@pytest.mark.parametrize("template", HOSTILE_NAMES)
def test_hostile_user_name_is_used_literally(mariadb, params, template):
    username = _name(template, uuid.uuid4().hex[:6])

    module.run({**params, "username": username})

    assert accounts(mariadb, username) == ["%"]
    assert can_use(mariadb, {**params, "username": username})
    assert module.run({**params, "username": username})["changed"] is False


@pytest.mark.parametrize("template", REFUSED_NAMES)
def test_unusable_names_are_refused_as_invalid_spec(mariadb, params, template):
    before = databases(mariadb)
    name = _name(template, uuid.uuid4().hex[:6])

    assert fail({**params, "database": name}).reason == "InvalidSpec"
    assert fail({**params, "username": name}).reason == "InvalidSpec"
    assert databases(mariadb) == before and accounts(mariadb, params["username"]) == []


def test_legacy_mysql50_database_prefix_is_refused(params):
    assert fail({**params, "database": "#mysql50#" + params["database"]}).reason == "InvalidSpec"


def test_underscore_database_grant_is_not_a_wildcard(mariadb, params, unique):
    database = unique("a_b")
    lookalike = database.replace("a_b", "aXb")
    mariadb.query(f"CREATE DATABASE `{lookalike}`")

    module.run({**params, "database": database})

    assert can_use(mariadb, {**params, "database": database})
    assert not can_use(mariadb, {**params, "database": lookalike})


@pytest.mark.parametrize(
    "database", ["mysql", "INFORMATION_SCHEMA", "Performance_Schema", "sys", "External_MySQL_Operator"]
)
def test_reserved_database_names_are_refused(params, database):
    error = fail({**params, "database": database})

    assert error.reason == "ReservedName" and "spec.databaseName" in error.msg


@pytest.mark.parametrize("username", ["root", "ROOT", "mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema"])
def test_reserved_user_names_are_refused(params, username):
    error = fail({**params, "username": username})

    assert error.reason == "ReservedName" and "spec.username" in error.msg


def test_long_database_name_asks_for_database_name(params):
    error = fail({**params, "database": "d" * 65})

    assert error.reason == "NameTooLong" and "spec.databaseName" in error.msg


def test_long_user_name_asks_for_username(mariadb, params):
    module.run({**params, "username": "u" * 70 + uuid.uuid4().hex[:10]})  # 80 fits on MariaDB

    error = fail({**params, "username": "u" * 81})

    assert error.reason == "NameTooLong" and "spec.username" in error.msg and "80" in error.msg


def test_user_host_is_case_insensitive(mariadb, params):
    module.run({**params, "user_host": "App.Example.com"})

    assert module.run({**params, "user_host": "APP.EXAMPLE.COM"})["changed"] is False
    assert accounts(mariadb, params["username"]) == ["app.example.com"]


# --- state=absent --------------------------------------------------------------------------------


def absent(params: dict, policy: str, **changes) -> dict:
    return {**params, "state": "absent", "deletion_policy": policy, "password": None, **changes}


def test_delete_policy_drops_only_own_objects(mariadb, params):
    module.run(params)
    stranger = other_cr(params)

    skipped = module.run(absent(stranger, "Delete"))
    dropped = module.run(absent(params, "Delete"))

    assert skipped["changed"] is False and skipped["dropped"] == []
    assert [entry["reason"] for entry in skipped["untouched"]] == ["OwnedByOther", "OwnedByOther"]
    assert f"team-a/{params['owner_name']}" in skipped["untouched"][0]["msg"]
    assert dropped["dropped"] == ["database", "user"] and dropped["released"] == ["database", "user"]
    assert params["database"] not in databases(mariadb) and accounts(mariadb, params["username"]) == []
    assert owner_rows(mariadb, "database", params["database"]) == []


def test_delete_policy_never_drops_unrecorded_objects(mariadb, params):
    mariadb.query(f"CREATE DATABASE `{params['database']}`")
    mariadb.query("CREATE USER %s@'%%'", (params["username"],))

    result = module.run(absent(params, "Delete"))

    assert result["changed"] is False
    assert [entry["reason"] for entry in result["untouched"]] == ["NotRecorded", "NotRecorded"]
    assert params["database"] in databases(mariadb) and accounts(mariadb, params["username"]) == ["%"]


def test_retain_policy_keeps_database_and_user(mariadb, params):
    module.run(params)

    result = module.run(absent(params, "Retain"))

    assert result["released"] == ["database", "user"] and result["dropped"] == []
    assert params["database"] in databases(mariadb) and can_use(mariadb, params)
    assert owner_rows(mariadb, "user", params["username"]) == []


def test_absent_check_mode_changes_nothing(mariadb, params):
    module.run(params)
    before = write_counters(mariadb)

    result = module.run(absent(params, "Delete"), check_mode=True)

    assert result["changed"] and result["dropped"] == ["database", "user"]
    assert write_counters(mariadb) == before and can_use(mariadb, params)


def test_absent_second_run_changes_nothing(mariadb, params):
    module.run(params)
    module.run(absent(params, "Delete"))

    result = module.run(absent(params, "Delete"))

    assert result["changed"] is False and len(result["untouched"]) == 2


def test_absent_accepts_a_spec_that_present_refused(params):
    result = module.run(absent(params, "Delete", database="x" * 100, username="root"))

    assert result["changed"] is False and [e["reason"] for e in result["untouched"]] == ["NotRecorded"] * 2


# --- quota ----------------------------------------------------------------------------------------


def claims(params: dict, namespace: str, count: int, **changes) -> list[dict]:
    """`count` fresh MySQLDatabases of `namespace`, each with its own database and user."""
    suffixes = [uuid.uuid4().hex[:6] for _ in range(count)]
    return [
        other_cr(
            params,
            database=f"{params['database']}_{suffix}",
            username=f"{params['username']}_{suffix}",
            owner_namespace=namespace,
            **changes,
        )
        for suffix in suffixes
    ]


def test_claim_over_the_namespace_quota_is_refused_and_creates_nothing(mariadb, params, unique):
    first, second, third = claims(params, unique("ns"), 3, max_databases_per_namespace=2)
    module.run(first)
    module.run(second)

    error = fail(third)

    assert (
        error.reason == "QuotaExceeded"
        and "already has 2 databases" in error.msg
        and third["owner_namespace"] in error.msg
    )
    assert third["database"] not in databases(mariadb) and accounts(mariadb, third["username"]) == []
    assert owner_rows(mariadb, "database", third["database"]) == []
    assert owner_rows(mariadb, "user", third["username"]) == []


def test_databases_of_other_namespaces_do_not_count_against_the_quota(params, unique):
    for claim in claims(params, unique("other"), 2):
        module.run(claim)
    (mine,) = claims(params, unique("ns"), 1, max_databases_per_namespace=1)

    assert module.run(mine)["database_created"]


def test_a_namespace_at_its_quota_keeps_reconciling_its_databases(mariadb, params, unique):
    (claim,) = claims(params, unique("ns"), 1, max_databases_per_namespace=1)
    module.run(claim)
    mariadb.query(f"DROP DATABASE `{claim['database']}`")

    assert module.run(claim)["database_recreated"]


def test_quota_zero_is_unlimited(params, unique):
    for claim in claims(params, unique("ns"), 3, max_databases_per_namespace=0):
        assert module.run(claim)["database_created"]


def run_at_once(contenders: list[dict], success: str) -> list[str]:
    """Run the module for every contender at the same moment; each outcome is `success` or the error's reason."""
    start = threading.Barrier(len(contenders))

    def claim(candidate: dict) -> str:
        start.wait()
        try:
            module.run(candidate)
            return success
        except MySQLDatabaseError as error:
            return error.reason

    with ThreadPoolExecutor(len(contenders)) as pool:
        return list(pool.map(claim, contenders))


@contextlib.contextmanager
def owner_records(params: dict, schema: str) -> Iterator[OwnerRecords]:
    """The ownership records in `schema`, loaded over a session of their own."""
    session = Session.connect({**module.DEFAULTS, **params})
    try:
        store = OwnerRecords(session, schema)
        store.load()
        yield store
    finally:
        session.close()


def test_concurrent_claims_of_one_namespace_never_exceed_its_quota(mariadb, params, unique):
    """Distinct databases of one namespace at once: the quota's named lock serialises count and claim."""
    limit, contenders = 2, claims(params, unique("ns"), 8, max_databases_per_namespace=2)

    outcomes = run_at_once(contenders, "Created")

    assert sorted(outcomes) == ["Created"] * limit + ["QuotaExceeded"] * (len(contenders) - limit)
    namespace = contenders[0]["owner_namespace"]
    (row,) = mariadb.query(
        "SELECT COUNT(*) AS n FROM external_mysql_operator.owners WHERE kind = 'database' AND cr_namespace = %s",
        (namespace,),
    )
    assert row["n"] == limit
    assert sum(c["database"] in databases(mariadb) for c in contenders) == limit


def test_owned_databases_are_counted_per_namespace_or_in_all(mariadb, params, unique):
    schema, team_a, team_b = unique("meta"), unique("a"), unique("b")
    for claim in [
        *claims(params, team_a, 2, metadata_schema=schema),
        *claims(params, team_b, 1, metadata_schema=schema),
    ]:
        module.run(claim)
    with owner_records(params, schema) as store:
        counts = (store.count_databases(), store.count_databases(team_a), store.count_databases(unique("c")))

    assert counts == (3, 2, 0)


def test_no_ownership_table_counts_no_databases(params, unique):
    with owner_records(params, unique("meta")) as store:
        count = store.count_databases()

    assert count == 0


# --- concurrency ---------------------------------------------------------------------------------


def test_concurrent_claims_of_one_database_yield_one_owner(mariadb, params, unique):
    """Several CRs (or replicas) at once, on a server without the metadata table yet."""
    schema = unique("meta")
    contenders = [other_cr(params, username=f"{params['username']}_{i}", metadata_schema=schema) for i in range(4)]

    outcomes = run_at_once(contenders, "Owner")

    assert sorted(outcomes) == ["Conflict", "Conflict", "Conflict", "Owner"]
    winner = contenders[outcomes.index("Owner")]
    rows = mariadb.query(f"SELECT kind, name, cr_uid FROM `{schema}`.owners")  # noqa: S608 - our own name
    assert sorted((row["kind"], row["cr_uid"]) for row in rows) == [
        ("database", winner["owner_uid"]),
        ("user", winner["owner_uid"]),
    ]
    assert sum(len(accounts(mariadb, c["username"])) for c in contenders) == 1


# --- connection failures -------------------------------------------------------------------------


def test_wrong_admin_password_reason(params):
    error = fail({**params, "login_password": "not-the-admin-password"})

    assert error.reason == "AdminAuthFailed" and "not-the-admin-password" not in error.msg


def test_unreachable_reason(params):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused

        error = fail({**params, "login_port": port, "connect_timeout": 2})

    assert error.reason == "ServerUnreachable" and str(port) in error.msg


# --- TLS (the server's certificate names 127.0.0.1, not localhost: see conftest.py) ------------------


def tls(params: dict, mode: str | None, ca_cert: str | None = None, host: str = "127.0.0.1") -> dict:
    return {**params, "login_host": host, "tls_mode": mode, "ca_cert": ca_cert}


def test_verify_identity_connects_to_the_address_in_the_certificate(mariadb, params):
    assert module.run(tls(params, "VerifyIdentity", mariadb.ca_cert))["changed"]


def test_verify_identity_refuses_a_name_not_in_the_certificate(mariadb, params):
    error = fail(tls(params, "VerifyIdentity", mariadb.ca_cert, host="localhost"))

    assert error.reason == "TLSFailed" and "localhost" in error.msg
    assert params["database"] not in databases(mariadb)


def test_ca_cert_without_a_mode_means_verify_identity(mariadb, params):
    assert fail(tls(params, None, mariadb.ca_cert, host="localhost")).reason == "TLSFailed"


def test_verify_ca_accepts_a_name_not_in_the_certificate(mariadb, params):
    assert module.run(tls(params, "VerifyCA", mariadb.ca_cert, host="localhost"))["changed"]


def test_required_encrypts_without_verifying_the_certificate(mariadb, params):
    assert module.run(tls(params, "Required", mariadb.other_ca_cert, host="localhost"))["changed"]


@pytest.mark.parametrize("mode", ["VerifyCA", "VerifyIdentity"])
def test_unrelated_ca_is_tls_failed(mariadb, params, mode):
    error = fail(tls(params, mode, mariadb.other_ca_cert))

    assert error.reason == "TLSFailed" and "CERTIFICATE_VERIFY_FAILED" in error.msg
    assert params["database"] not in databases(mariadb)


def test_unparsable_ca_cert_is_tls_failed(params):
    error = fail(tls(params, "VerifyCA", "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"))

    assert error.reason == "TLSFailed" and "ca_cert" in error.msg


@pytest.mark.parametrize("mode", ["VerifyCA", "VerifyIdentity"])
def test_verifying_mode_without_a_ca_is_tls_failed(params, mode):
    error = fail(tls(params, mode))

    assert error.reason == "TLSFailed" and "caSecretRef" in error.msg


def test_server_without_tls_is_tls_failed(params, no_tls_server):
    error = fail({**tls(params, "Required"), "login_port": no_tls_server, "connect_timeout": 2})

    assert error.reason == "TLSFailed" and "2026" in error.msg


def test_plain_login_to_a_tls_only_server_is_tls_required(mariadb, params, secure_transport_required):
    error = fail(tls(params, "Disabled"))

    assert error.reason == "TLSRequired" and "spec.tls.mode" in error.msg
    assert params["database"] not in databases(mariadb)


def test_wrong_password_to_a_tls_only_server_stays_admin_auth_failed(params, secure_transport_required):
    error = fail({**tls(params, "Disabled"), "login_password": "not-the-admin-password"})

    assert error.reason == "AdminAuthFailed" and "not-the-admin-password" not in error.msg


@pytest.fixture
def limited_admin(mariadb, unique) -> dict:
    """An admin that may create databases and write ownership records, but not create users."""
    name, password = unique("limited"), "Limited-" + uuid.uuid4().hex
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
    mariadb.query("GRANT SELECT, CREATE, DROP ON *.* TO %s@'%%'", (name,))
    mariadb.query("GRANT INSERT, UPDATE, DELETE ON external_mysql_operator.* TO %s@'%%'", (name,))
    return {"login_user": name, "login_password": password}


def test_admin_without_create_user_reason(mariadb, params, limited_admin):
    error = fail({**params, **limited_admin})

    assert error.reason == "AdminPrivilegesMissing" and "status.missingPrivileges" in error.msg
    assert owner_rows(mariadb, "user", params["username"]) == []


def test_password_never_in_failure_message(params, limited_admin):
    password = "Sekr3t'; DROP USER x; -- " + uuid.uuid4().hex
    wanted = {**params, **limited_admin, "password": password}

    error = fail(wanted)

    assert error.reason == "AdminPrivilegesMissing"
    assert password not in error.msg and password[:8] not in error.msg
    assert limited_admin["login_password"] not in error.msg


# --- the Ansible module --------------------------------------------------------------------------


@pytest.fixture
def call_main(monkeypatch, capsys) -> Callable[..., dict]:
    """main() with module arguments, as Ansible calls it; returns its JSON result."""
    return module_runner(module.main, monkeypatch, capsys)


def test_main_returns_result(call_main, params):
    result = call_main(**params)

    assert result["changed"] and result["user_created"] and "failed" not in result


def test_main_fails_with_reason_and_msg(call_main, mariadb, params):
    mariadb.query(f"CREATE DATABASE `{params['database']}`")

    result = call_main(**params)

    assert result["failed"] and result["reason"] == "AlreadyExists" and "adoptExisting" in result["msg"]


def test_main_check_mode_changes_nothing(call_main, mariadb, params):
    result = call_main(check_mode=True, **params)

    assert result["changed"] and params["database"] not in databases(mariadb)


def test_main_requires_password_for_present(call_main, params):
    result = call_main(**{**params, "password": None})

    assert result["reason"] == "InvalidSpec" and "password" in result["msg"]


def test_playbook_task_reports_reason_under_no_log(tmp_path, params):
    """As the role runs it: no_log, failed_when false, reason and msg read from the registered result."""
    task_args = {**params, "login_password": "wrong-admin-password"}
    playbook = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Run the module",
                    "mysqldatabase_objects": task_args,
                    "register": "r",
                    "failed_when": False,
                    "no_log": True,
                },
                {
                    "name": "Save the result",
                    "ansible.builtin.copy": {
                        "content": "{{ {'reason': r.reason, 'msg': r.msg} | to_json }}",
                        "dest": str(tmp_path / "r.json"),
                    },
                },
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(json.dumps(playbook))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    run = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(tmp_path / "play.yml"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["reason"] == "AdminAuthFailed" and "wrong-admin-password" not in saved["msg"]
    assert "wrong-admin-password" not in run.stdout + run.stderr


# --- servers with password policies, role-based admins and expiring passwords --------------------


def replacement() -> str:
    return "Rp-" + uuid.uuid4().hex + "X"


@pytest.mark.usefixtures("password_policies")
@pytest.mark.parametrize(
    ("by_hand", "repair"),
    [("DROP USER %s@'%%'", "user_recreated"), ("ALTER USER %s@'%%' IDENTIFIED BY 'By-hand-Pa55'", "password_set")],
    ids=["user dropped by hand comes back", "password changed by hand is reset"],
)
def test_repair_uses_the_replacement_when_reuse_is_refused(mariadb, params, by_hand, repair):
    module.run(params)
    mariadb.query(by_hand, (params["username"],))
    spare = replacement()

    result = module.run({**params, "replacement_password": spare})

    assert result[repair] and result["password_replaced"]
    assert can_use(mariadb, {**params, "password": spare}) and not can_use(mariadb, params)
    assert module.run({**params, "password": spare, "replacement_password": replacement()})["changed"] is False


@pytest.mark.usefixtures("password_policies")
def test_password_the_policy_accepts_needs_no_replacement(mariadb, params):
    result = module.run({**params, "replacement_password": replacement()})

    assert result["user_created"] and not result["password_replaced"] and can_use(mariadb, params)


@pytest.mark.usefixtures("password_policies")
def test_reuse_refused_without_replacement_is_password_policy_naming_the_settings(mariadb, params):
    module.run(params)
    mariadb.query("DROP USER %s@'%%'", (params["username"],))

    error = fail(params)

    assert error.reason == "PasswordPolicy" and "password_reuse_check" in error.msg
    assert "simple_password_check_minimal_length=8" in error.msg and params["password"] not in error.msg
    assert accounts(mariadb, params["username"]) == []


@pytest.mark.usefixtures("password_policies")
def test_weak_password_and_weak_replacement_are_password_policy_and_leave_nothing(mariadb, params):
    weak = {**params, "password": "weakpassword", "replacement_password": "alsoweak"}

    error = fail(weak)

    assert error.reason == "PasswordPolicy" and "simple_password_check" in error.msg
    assert "weakpassword" not in error.msg and "alsoweak" not in error.msg
    assert accounts(mariadb, params["username"]) == [] and owner_rows(mariadb, "user", params["username"]) == []


@pytest.mark.usefixtures("password_policies")
def test_refused_password_never_reaches_the_module_output(call_main, mariadb, params):
    module.run(params)
    mariadb.query("DROP USER %s@'%%'", (params["username"],))

    result = call_main(**params)

    assert result["failed"] and result["reason"] == "PasswordPolicy"
    assert params["password"] not in json.dumps(result)


@pytest.mark.parametrize(
    "arrangement",
    [
        [
            "GRANT CREATE USER ON *.* TO {role}",
            "GRANT {role} TO {user}@'%%'",
            "SET DEFAULT ROLE {role} FOR {user}@'%%'",
        ],
        ["GRANT SELECT ON *.* TO {role} WITH GRANT OPTION", "GRANT {role} TO {user}@'%%'"],
        [
            "CREATE ROLE {role}_inner",
            "GRANT SUPER ON *.* TO {role}_inner",
            "GRANT {role}_inner TO {role}",
            "GRANT {role} TO {user}@'%%'",
        ],
    ],
    ids=["default-role-create-user", "inactive-role-grant-option", "nested-role-super"],
)
def test_adopt_existing_never_takes_over_an_account_whose_power_comes_from_a_role(mariadb, params, arrangement):
    user, role = params["username"], "r_" + params["username"]
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY 'Theirs-Pa55'", (user,))
    mariadb.query(f"CREATE ROLE {role}")
    for statement in arrangement:
        mariadb.query(statement.format(role=role, user=user))

    error = fail({**params, "adopt_existing": True})

    assert error.reason == "ReservedName" and "through a role" in error.msg
    assert mariadb.connect(user, "Theirs-Pa55").open
    assert any(role in line for line in grants(mariadb, user))
    assert owner_rows(mariadb, "user", user) == [] and params["database"] not in databases(mariadb)


def test_admin_whose_password_expired_is_admin_password_expired(mariadb, params):
    admin = "exp_" + uuid.uuid4().hex[:8]
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED BY 'Expired-Pa55'", (admin,))
    mariadb.query("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (admin,))
    mariadb.query("ALTER USER %s@'%%' PASSWORD EXPIRE", (admin,))

    error = fail({**params, "login_user": admin, "login_password": "Expired-Pa55"})

    assert error.reason == "AdminPasswordExpired" and admin in error.msg and "Expired-Pa55" not in error.msg
    assert params["database"] not in databases(mariadb)


def test_admin_account_on_ed25519_logs_in(mariadb, params, unique):
    # Hardened MariaDB servers often keep their admin accounts on ed25519 (PyMySQL's [ed25519] extra).
    admin, password = unique("ed_admin"), "Ed-admin-" + uuid.uuid4().hex
    mariadb.query("CREATE USER %s@'%%' IDENTIFIED VIA ed25519 USING PASSWORD(%s)", (admin, password))
    mariadb.query("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (admin,))
    try:
        result = module.run({**params, "login_user": admin, "login_password": password})
    finally:
        mariadb.query("DROP USER %s@'%%'", (admin,))

    assert result["user_created"] and can_use(mariadb, params)
