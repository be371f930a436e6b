"""mysqldatabase_sql's pure parts and the Session's error handling, without a server.

The SQL itself is proven against a real MariaDB in tests/unit/plugins/modules/.
"""

from __future__ import annotations

import functools
import re
import ssl

import pymysql
import pytest
from ansible.module_utils import mysqldatabase_sql as sql
from ansible.module_utils.mysqldatabase_sql import (
    GrantState,
    MySQLDatabaseError,
    Owner,
    OwnerRecord,
    ServerInfo,
    Session,
)

OWNER = Owner("team-a", "app", "uid-1")
DB_COLUMNS = ["Select_priv", "Insert_priv", "Grant_priv", "Delete_history_priv"]


def raises(reason: str, call, *args) -> MySQLDatabaseError:
    with pytest.raises(MySQLDatabaseError) as info:
        call(*args)
    assert info.value.reason == reason, info.value.msg
    return info.value


# --- quoting -------------------------------------------------------------------------------------


def test_identifier_doubles_backticks_and_percent_signs():
    assert sql.quote_identifier("a`b%c") == "`a``b%%c`"


def test_identifier_survives_pymysql_parameter_substitution():
    assert (sql.quote_identifier("x%s`y") + " %s") % ("'v'",) == "`x%s``y` 'v'"


def test_identifier_with_nul_is_invalid_spec():
    raises("InvalidSpec", sql.quote_identifier, "a\x00b")


@pytest.mark.parametrize(
    ("database", "pattern"),
    [("plain", "plain"), ("a_b", "a\\_b"), ("50%", "50\\%"), ("a\\b", "a\\\\b"), ("\\_%", "\\\\\\_\\%")],
)
def test_grant_pattern_escapes_wildcards_and_backslash(database, pattern):
    assert sql.grant_database_pattern(database) == pattern


def test_short_lock_name_is_readable():
    assert sql.lock_name("external_mysql_operator", "app") == "external_mysql_operator:app"


def test_long_lock_names_fit_the_server_limit_and_stay_distinct():
    first, second = sql.lock_name("s" * 64, "a" * 64), sql.lock_name("s" * 64, "a" * 63 + "b")

    assert len(first) <= 64 and len(second) <= 64 and first != second
    assert first == sql.lock_name("s" * 64, "a" * 64)


def test_redact_replaces_every_secret():
    assert sql.redact("a pw b pw", ["pw", ""]) == "a ******** b ********"


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "trailing ", "nul\x00", "emoji\U0001f600"])
def test_unusable_database_name_is_invalid_spec(name):
    raises("InvalidSpec", sql.validate_database_name, name, "meta")


@pytest.mark.parametrize("name", ["MySQL", "information_schema", "SYS", "performance_schema", "Meta"])
def test_reserved_database_name(name):
    assert "spec.databaseName" in raises("ReservedName", sql.validate_database_name, name, "meta").msg


def test_database_name_over_64_characters_is_too_long():
    assert "spec.databaseName" in raises("NameTooLong", sql.validate_database_name, "d" * 65, "meta").msg
    sql.validate_database_name("d" * 64, "meta")


@pytest.mark.parametrize(
    "name",
    [
        "root",
        "Root",
        "mariadb.sys",
        "MYSQL.SYS",
        "mysql.session",
        "mysql.infoschema",
        "PUBLIC",
        "rdsadmin",
        "rds_superuser_role",
        "AWS_LOAD_S3_ACCESS",
        "cloudsqlsuperuser",
        "azure_superuser",
        "debian-sys-maint",
    ],
)
def test_reserved_user_name(name):
    assert "spec.username" in raises("ReservedName", sql.validate_user_name, name, 80).msg


def test_user_name_over_the_limit_is_too_long():
    assert "spec.username" in raises("NameTooLong", sql.validate_user_name, "u" * 33, 32).msg
    sql.validate_user_name("u" * 32, 32)


@pytest.mark.parametrize(
    ("version", "limit"),
    [("10.11.6-MariaDB-0+deb12u1", 80), ("8.0.36", 32), ("5.7.8-log", 32), ("5.7.7-rc", 16), ("5.6.51", 16)],
)
def test_user_name_limit_follows_the_server(version, limit):
    assert ServerInfo(version, 0, frozenset()).user_name_limit == limit


# --- privileges ----------------------------------------------------------------------------------


def test_privileges_are_normalized_deduplicated_and_ordered():
    assert sql.normalize_privileges(["insert", " Select ", "lock   tables", "SELECT"]) == (
        "SELECT",
        "INSERT",
        "LOCK TABLES",
    )


def test_all_wins_over_other_privileges():
    assert sql.normalize_privileges(["SELECT", "all"]) == ("ALL PRIVILEGES",)


@pytest.mark.parametrize("privilege", ["SUPER", "FILE", "SELECT ON *.* TO x", "GRANT OPTION", "PROXY"])
def test_unknown_privilege_is_invalid_spec(privilege):
    raises("InvalidSpec", sql.normalize_privileges, [privilege])


def test_delete_history_is_mariadb_only():
    raises("InvalidSpec", sql.normalize_privileges, ["DELETE HISTORY"], "mysql")
    assert sql.normalize_privileges(["delete history"], "mariadb") == ("DELETE HISTORY",)


def test_no_privileges_is_invalid_spec():
    raises("InvalidSpec", sql.normalize_privileges, [])


def test_all_privileges_means_every_db_column_but_grant_option():
    assert sql.wanted_columns(("ALL PRIVILEGES",), DB_COLUMNS) == {"Select_priv", "Insert_priv", "Delete_history_priv"}


def test_privilege_the_server_lacks_is_invalid_spec():
    raises("InvalidSpec", sql.wanted_columns, ("TRIGGER",), DB_COLUMNS)


def test_exact_grants_have_no_differences():
    state = GrantState(db_rows=[("a\\_b", frozenset({"Select_priv"}))])

    assert sql.grant_differences(state, "a\\_b", frozenset({"Select_priv"})) == []


@pytest.mark.parametrize(
    "state",
    [
        GrantState(),
        GrantState(db_rows=[("a_b", frozenset({"Select_priv"}))]),
        GrantState(db_rows=[("a\\_b", frozenset({"Select_priv", "Grant_priv"}))]),
        GrantState(db_rows=[("a\\_b", frozenset({"Select_priv"})), ("other", frozenset({"Select_priv"}))]),
        GrantState(global_privileges=["Process_priv"], db_rows=[("a\\_b", frozenset({"Select_priv"}))]),
        GrantState(db_rows=[("a\\_b", frozenset({"Select_priv"}))], other_grants=["tables_priv"]),
        GrantState(db_rows=[("a\\_b", frozenset({"Select_priv"}))], roles=[("dba", "")]),
    ],
    ids=["nothing", "wildcard-row", "grant-option", "extra-database", "global", "table", "role"],
)
def test_any_other_grant_is_a_difference(state):
    assert sql.grant_differences(state, "a\\_b", frozenset({"Select_priv"}))


def test_roles_are_revoked_as_identifiers_on_mariadb_and_accounts_on_mysql():
    assert sql.revoke_role_sql("mariadb", "r`x", "") == ("REVOKE `r``x` FROM %s@%s", ())
    assert sql.revoke_role_sql("mysql", "r`x", "%") == ("REVOKE %s@%s FROM %s@%s", ("r`x", "%"))


# --- ownership -----------------------------------------------------------------------------------


def record(owner: Owner) -> OwnerRecord:
    return OwnerRecord("database", "app", "", owner)


@pytest.mark.parametrize(
    ("existing", "exists", "adopt", "action"),
    [
        (OWNER, True, False, "ours"),
        (OWNER, False, False, "ours"),
        (None, False, False, "claim"),
        (None, True, True, "adopt"),
        (Owner("team-a", "app", "uid-0"), True, True, "take_over"),
    ],
)
def test_ownership_action(existing, exists, adopt, action):
    found = record(existing) if existing else None

    assert sql.ownership_action("database 'app'", "spec.databaseName", found, exists, OWNER, adopt) == action


@pytest.mark.parametrize(
    ("recorded", "adopt", "way_out"),
    [
        (Owner("team-b", "shop", "uid-2"), True, "spec.databaseName"),
        (Owner("team-a", "app", "uid-0"), False, "spec.adoptExisting: true"),
    ],
    ids=["another CR's record, even with adopt", "a deleted CR's record of the same name"],
)
def test_a_record_of_another_cr_is_a_conflict_naming_it_and_the_way_out(recorded, adopt, way_out):
    found = record(recorded)

    error = raises("Conflict", sql.ownership_action, "database 'app'", "spec.databaseName", found, True, OWNER, adopt)

    assert f"{recorded.namespace}/{recorded.name}" in error.msg and way_out in error.msg


def test_unrecorded_existing_object_asks_for_adopt():
    error = raises("AlreadyExists", sql.ownership_action, "database 'app'", "x", None, True, OWNER, False)

    assert "spec.adoptExisting: true" in error.msg


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (2013, "ServerUnreachable"),
        (2006, "ServerUnreachable"),
        (1227, "AdminPrivilegesMissing"),
        (1044, "AdminPrivilegesMissing"),
        (1142, "AdminPrivilegesMissing"),
        (1102, "InvalidSpec"),
        (1146, "ServerError"),
    ],
)
def test_errors_after_login_map_to_reasons(code, reason):
    error = sql.translate_error(pymysql.err.OperationalError(code, "text"), "doing x")

    assert error.reason == reason and str(code) in error.msg


def test_statement_with_password_never_echoes_the_server_text():
    echoed = pymysql.err.ProgrammingError(1064, "You have an error near 'hunter2' at line 1")

    error = sql.translate_error(echoed, "creating user 'u'@'%'", secret=True)

    assert error.reason == "ServerError" and "1064" in error.msg and "hunter2" not in error.msg


def test_statement_with_password_keeps_safe_server_text():
    denied = pymysql.err.OperationalError(1227, "Access denied; you need the CREATE USER privilege")

    assert "CREATE USER privilege" in sql.translate_error(denied, "creating user", secret=True).msg


@pytest.mark.parametrize(("code", "reason"), [(1045, "AdminAuthFailed"), (2003, "ServerUnreachable")])
def test_login_errors_map_to_reasons(code, reason):
    error = sql._connect_error(pymysql.err.OperationalError(code, "text"), "db.example", 3306, "admin")

    assert error.reason == reason and "db.example:3306" in error.msg


def test_secure_transport_required_at_login_is_tls_required():
    error = sql._connect_error(pymysql.err.OperationalError(3159, "insecure"), "db.example", 3306, "admin")

    assert error.reason == "TLSRequired" and "spec.tls.mode" in error.msg


@pytest.mark.parametrize("mode", ["Required", "VerifyCA", "VerifyIdentity"])
def test_server_offering_no_tls_is_tls_failed_when_tls_is_asked(mode):
    refused = pymysql.err.OperationalError(2026, "SSL is required but the server doesn't support it")

    assert sql._connect_error(refused, "db.example", 3306, "admin", mode).reason == "TLSFailed"


def test_certificate_error_is_tls_failed():
    error = pymysql.err.OperationalError(2003, "Can't connect")
    error.original_exception = ssl.SSLCertVerificationError(1, "certificate verify failed")

    assert sql._connect_error(error, "db.example", 3306, "admin", "VerifyCA").reason == "TLSFailed"


def test_without_tls_a_connection_error_is_not_blamed_on_tls():
    error = pymysql.err.OperationalError(2026, "SSL connection error")

    assert sql._connect_error(error, "db.example", 3306, "admin", "Disabled").reason == "ServerUnreachable"


# --- TLS modes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "mode"),
    [
        ({}, "Disabled"),
        ({"tls_mode": None, "ca_cert": ""}, "Disabled"),
        ({"ca_cert": "PEM"}, "VerifyIdentity"),
        ({"tls_mode": "Disabled", "ca_cert": "PEM"}, "Disabled"),
        ({"tls_mode": "Required"}, "Required"),
        ({"tls_mode": "VerifyCA", "ca_cert": "PEM"}, "VerifyCA"),
    ],
)
def test_tls_mode_defaults_to_verify_identity_with_a_ca_and_disabled_without(params, mode):
    assert sql.tls_mode_of(params) == mode


@pytest.mark.parametrize("mode", ["VerifyCA", "VerifyIdentity"])
def test_verifying_mode_without_a_ca_is_tls_failed(mode):
    assert "caSecretRef" in raises("TLSFailed", sql.tls_mode_of, {"tls_mode": mode}).msg


def test_unknown_tls_mode_is_invalid_spec():
    raises("InvalidSpec", sql.tls_mode_of, {"tls_mode": "Preferred"})


def test_disabled_has_no_tls_context():
    assert sql.tls_context("Disabled", "PEM") is None


def test_required_encrypts_without_verifying():
    context = sql.tls_context("Required", None)

    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)


@pytest.mark.parametrize("mode", ["VerifyCA", "VerifyIdentity"])
def test_unparsable_ca_cert_is_tls_failed(mode):
    assert "ca_cert" in raises("TLSFailed", sql.tls_context, mode, "not a certificate").msg


# --- Session -------------------------------------------------------------------------------------


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def execute(self, statement: str, args: tuple) -> None:
        self.connection.executed.append((statement, args))
        if self.connection.failures:
            raise self.connection.failures.pop(0)

    def fetchall(self) -> list[dict]:
        return self.connection.rows


class FakeConnection:
    def __init__(self, failures: list[Exception] | None = None, rows: list[dict] | None = None) -> None:
        self.failures = failures or []
        self.rows = rows or []
        self.executed: list[tuple[str, tuple]] = []

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(sql.time, "sleep", lambda _seconds: None)


def test_deadlock_is_retried(no_sleep):
    connection = FakeConnection([pymysql.err.OperationalError(1213, "Deadlock found")], [{"x": 1}])

    assert Session(connection).rows("SELECT 1", purpose="reading") == [{"x": 1}]
    assert len(connection.executed) == 2


def test_lock_wait_timeouts_give_up_after_a_few_retries(no_sleep):
    failures = [pymysql.err.OperationalError(1205, "Lock wait timeout exceeded") for _ in range(10)]
    connection = FakeConnection(failures)

    raises("ServerError", Session(connection).change, "update t", "UPDATE t SET x = 1")
    assert len(connection.executed) == len(sql.RETRY_DELAYS) + 1


def test_check_mode_records_changes_without_running_them():
    connection = FakeConnection()
    session = Session(connection, check_mode=True)

    session.change("create database 'x'", "CREATE DATABASE `x`")

    assert session.actions == ["create database 'x'"] and connection.executed == []


def test_lock_timeout_is_reported():
    session = Session(FakeConnection(rows=[{"got": 0}]))

    assert "lock" in raises("ServerError", session.acquire_locks, ["meta:app"]).msg


def test_locks_are_taken_in_sorted_order():
    connection = FakeConnection(rows=[{"got": 1}])

    Session(connection).acquire_locks(["meta:b", "meta:a", "meta:b"])

    assert [args[0] for _statement, args in connection.executed] == ["meta:a", "meta:b"]


# --- the admin account ---------------------------------------------------------------------------

# SHOW GRANTS lines as MySQL 8.0 prints them (dynamic privileges on a line of their own).
MYSQL_STATIC = (
    "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, SHUTDOWN, PROCESS, FILE, REFERENCES, INDEX, "
    "ALTER, SHOW DATABASES, SUPER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, "
    "REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, "
    "CREATE TABLESPACE, CREATE ROLE, DROP ROLE ON *.* TO `u`@`%` WITH GRANT OPTION"
)
MYSQL_DYNAMIC = "GRANT BACKUP_ADMIN,BINLOG_ADMIN,CONNECTION_ADMIN,ROLE_ADMIN,SYSTEM_USER ON *.* TO `u`@`%`"
# ...and as MariaDB prints them.
MARIADB_ADMIN = (
    "GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` IDENTIFIED BY PASSWORD "
    "'*4ACFE3202A5FF5CF467898FC58AAB1D615029441' WITH GRANT OPTION"
)


def test_required_privileges_are_the_operators_then_every_grantable_one():
    required = sql.required_admin_privileges("mariadb")

    assert required[: len(sql.OPERATOR_PRIVILEGES)] == sql.OPERATOR_PRIVILEGES
    assert set(required) == {*sql.OPERATOR_PRIVILEGES, *sql.PRIVILEGE_COLUMNS}
    assert len(required) == len(set(required))


def test_mysql_needs_no_mariadb_only_privilege():
    assert set(sql.required_admin_privileges("mariadb")) - set(sql.required_admin_privileges("mysql")) == {
        "DELETE HISTORY"
    }


def test_mysql_static_grant_line_gives_each_privilege_and_grant_option():
    held = sql.parse_global_grant(MYSQL_STATIC)

    assert {"SELECT", "CREATE USER", "CREATE TEMPORARY TABLES", "DROP ROLE", "GRANT OPTION"} <= held
    assert sql.missing_admin_privileges(held, "mysql") == []


def test_mysql_dynamic_privileges_are_read_without_spaces():
    assert sql.parse_global_grant(MYSQL_DYNAMIC) == {
        "BACKUP_ADMIN",
        "BINLOG_ADMIN",
        "CONNECTION_ADMIN",
        "ROLE_ADMIN",
        "SYSTEM_USER",
    }


def test_mariadb_all_privileges_line_with_password_and_grant_option():
    assert sql.parse_global_grant(MARIADB_ADMIN) == {"ALL PRIVILEGES", "GRANT OPTION"}


def test_all_is_all_privileges():
    assert sql.parse_global_grant("GRANT ALL ON *.* TO `u`@`%`") == {"ALL", "ALL PRIVILEGES"}


@pytest.mark.parametrize(
    "line",
    [
        "GRANT ALL PRIVILEGES ON `db`.* TO `u`@`%` WITH GRANT OPTION",
        "GRANT SELECT ON `db`.`t` TO `u`@`%`",
        "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*4ACFE3202A5FF5CF467898FC58AAB1D615029441'",
        "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
        "GRANT `r1`@`%` TO `u`@`%`",
        "SET DEFAULT ROLE `opadmin` FOR `r`@`%`",
    ],
    ids=["database", "table", "usage", "proxy", "role", "default-role"],
)
def test_lines_that_grant_no_global_privilege_give_nothing(line):
    assert sql.parse_global_grant(line) == set()


@pytest.mark.parametrize(
    ("line", "roles"),
    [
        ("GRANT `r1`@`%`,`r2`@`%` TO `u`@`%`", [("r1", "%"), ("r2", "%")]),
        ("GRANT `r1`@`localhost` TO `u`@`%` WITH ADMIN OPTION", [("r1", "localhost")]),
        ("GRANT `opadmin` TO `r`@`%`", [("opadmin", "")]),
        ("GRANT `op``admin` TO `r`@`%`", [("op`admin", "")]),
    ],
    ids=["mysql-two-roles", "mysql-admin-option", "mariadb", "mariadb-backtick"],
)
def test_role_grant_lines_name_the_roles(line, roles):
    assert sql.parse_role_grant(line) == roles


@pytest.mark.parametrize(
    "line", ["GRANT SELECT ON *.* TO `u`@`%`", MARIADB_ADMIN, "SET DEFAULT ROLE `opadmin` FOR `r`@`%`"]
)
def test_privilege_lines_name_no_role(line):
    assert sql.parse_role_grant(line) == []


@pytest.mark.parametrize(
    ("value", "flavor", "roles"),
    [
        ("`r1`@`%`,`r2`@`%`", "mysql", [("r1", "%"), ("r2", "%")]),
        ("NONE", "mysql", []),
        ("opadmin", "mariadb", [("opadmin", "")]),
        (None, "mariadb", []),
        ("", "mariadb", []),
    ],
)
def test_current_role_answers_are_parsed_per_flavor(value, flavor, roles):
    assert sql.parse_current_roles(value, flavor) == roles


def test_all_privileges_still_needs_grant_option():
    assert sql.missing_admin_privileges({"ALL PRIVILEGES"}, "mariadb") == ["GRANT OPTION"]


def test_missing_privileges_are_named_in_the_required_order():
    held = set(sql.required_admin_privileges("mysql")) - {"CREATE USER", "TRIGGER"}

    assert sql.missing_admin_privileges(held, "mysql") == ["CREATE USER", "TRIGGER"]


class ScriptedConnection:
    """Answers each statement, with its arguments, from a script, as a DictCursor would."""

    def __init__(self, script: dict[tuple[str, tuple], list[dict]]) -> None:
        self.script = script
        self.failures: list[Exception] = []
        self.executed: list[tuple[str, tuple]] = []

    @property
    def rows(self) -> list[dict]:
        return self.script[self.executed[-1]]

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)


def grants(*lines: str) -> list[dict]:
    return [{"Grants for x": line} for line in lines]


def test_mysql_admin_holds_the_privileges_of_its_active_roles_and_theirs():
    connection = ScriptedConnection(
        {
            ("SHOW GRANTS FOR CURRENT_USER()", ()): grants(
                "GRANT SELECT ON *.* TO `u`@`%`", "GRANT `r1`@`%`,`unused`@`%` TO `u`@`%`"
            ),
            ("SELECT CURRENT_ROLE() AS role", ()): [{"role": "`r1`@`%`"}],
            ("SHOW GRANTS FOR %s@%s", ("r1", "%")): grants(
                "GRANT INSERT ON *.* TO `r1`@`%`", "GRANT `r2`@`%` TO `r1`@`%`"
            ),
            ("SHOW GRANTS FOR %s@%s", ("r2", "%")): grants(
                "GRANT CREATE USER ON *.* TO `r2`@`%`", "GRANT `r1`@`%` TO `r2`@`%`"
            ),
        }
    )

    held = sql.admin_global_privileges(Session(connection), "mysql")

    assert held == {"SELECT", "INSERT", "CREATE USER"}
    assert ("SHOW GRANTS FOR %s@%s", ("unused", "%")) not in connection.executed
    assert connection.executed.count(("SHOW GRANTS FOR %s@%s", ("r1", "%"))) == 1


def test_any_account_holds_the_privileges_of_every_role_granted_to_it_on_mysql():
    # Unlike the admin's check (active roles only), every granted role counts: the account may SET ROLE.
    connection = ScriptedConnection(
        {
            ("SHOW GRANTS FOR %s@%s", ("dba", "%")): grants(
                "GRANT USAGE ON *.* TO `dba`@`%`", "GRANT `inactive`@`%` TO `dba`@`%`"
            ),
            ("SHOW GRANTS FOR %s@%s", ("inactive", "%")): grants(
                "GRANT SELECT ON *.* TO `inactive`@`%`", "GRANT `nested`@`%` TO `inactive`@`%`"
            ),
            ("SHOW GRANTS FOR %s@%s", ("nested", "%")): grants(
                "GRANT CREATE USER ON *.* TO `nested`@`%`",
                "GRANT SYSTEM_USER ON *.* TO `nested`@`%` WITH GRANT OPTION",
            ),
        }
    )

    held = sql.account_global_privileges(Session(connection), "mysql", "dba", "%")

    assert held == {"SELECT", "CREATE USER", "SYSTEM_USER", "GRANT OPTION"}
    assert sql.administrative_privileges(Session(connection), "mysql", "dba", "%") == ["GRANT OPTION", "CREATE USER"]


def test_all_privileges_is_administrative():
    connection = ScriptedConnection(
        {("SHOW GRANTS FOR %s@%s", ("old", "%")): grants("GRANT ALL PRIVILEGES ON *.* TO `old`@`%`")}
    )

    assert sql.administrative_privileges(Session(connection), "mysql", "old", "%") == ["CREATE USER", "SUPER"]


@pytest.mark.parametrize("code", [1820, 1862])
def test_expired_admin_password_at_login_is_admin_password_expired(code):
    expired = pymysql.err.OperationalError(code, "You must SET PASSWORD before executing this statement")

    error = sql._connect_error(expired, "db.example", 3306, "admin")

    assert error.reason == "AdminPasswordExpired" and "db.example:3306" in error.msg and "ALTER USER" in error.msg


def test_expired_admin_password_after_login_is_admin_password_expired():
    expired = pymysql.err.OperationalError(1820, "You must SET PASSWORD before executing this statement")

    assert sql.translate_error(expired, "reading the version").reason == "AdminPasswordExpired"


def test_refused_password_is_password_policy_with_the_servers_text():
    refused = pymysql.err.OperationalError(1819, "Your password does not satisfy the current policy requirements")

    error = sql.translate_error(refused, "creating user 'u'@'%'", secret=True)

    assert error.reason == "PasswordPolicy" and "policy requirements" in error.msg


def test_mysql_password_history_refusal_is_password_policy():
    # MySQL's password_history answers with 3638, its documented text never quoting the password.
    refused = pymysql.err.OperationalError(
        3638, "Cannot use these credentials for 'u@%' because they contradict the password history policy"
    )

    error = sql.translate_error(refused, "setting the password of 'u'@'%'", secret=True)

    assert error.reason == "PasswordPolicy" and "password history" in error.msg


ALTER, ARGS = "ALTER USER %s@%s IDENTIFIED BY %s", ("u", "%", "pw")


def test_alter_user_failure_caused_by_the_password_policy_is_password_policy():
    # MariaDB answers ALTER USER with 1396 and leaves the policy's refusal in the diagnostics area.
    warnings = [
        {"Level": "Warning", "Code": 1819, "Message": "password_reuse_check: The password was already used"},
        {"Level": "Error", "Code": 1819, "Message": "Your password does not satisfy the current policy requirements"},
        {"Level": "Error", "Code": 1396, "Message": "Operation ALTER USER failed for 'u'@'%'"},
    ]
    connection = ScriptedConnection({("SHOW WARNINGS", ()): warnings})
    connection.failures = [pymysql.err.OperationalError(1396, "Operation ALTER USER failed for 'u'@'%'")]

    error = raises("PasswordPolicy", functools.partial(Session(connection).rows, purpose="setting"), ALTER, ARGS)

    assert "already used" in error.msg and "(1819)" in error.msg


def test_alter_user_failure_for_another_cause_keeps_its_code():
    connection = ScriptedConnection({("SHOW WARNINGS", ()): []})
    connection.failures = [pymysql.err.OperationalError(1396, "Operation ALTER USER failed for 'u'@'%'")]

    error = raises("ServerError", functools.partial(Session(connection).rows, purpose="setting"), ALTER, ARGS)

    assert "1396" in error.msg


def test_password_policy_settings_are_named_in_the_refusal():
    settings = [
        {"Variable_name": "simple_password_check_minimal_length", "Value": "8"},
        {"Variable_name": "password_reuse_check_interval", "Value": "0"},
    ]
    where = " OR ".join("Variable_name LIKE %s" for _ in sql.PASSWORD_POLICY_VARIABLES)
    connection = ScriptedConnection({(f"SHOW GLOBAL VARIABLES WHERE {where}", sql.PASSWORD_POLICY_VARIABLES): settings})
    refused = MySQLDatabaseError("PasswordPolicy", "The server's password policy refused a password")

    error = sql.password_policy_refused(Session(connection), refused)

    assert error.reason == "PasswordPolicy"
    assert "simple_password_check_minimal_length=8, password_reuse_check_interval=0" in error.msg


@pytest.mark.parametrize(
    ("version", "product"),
    [
        ("5.7.25-TiDB-v7.5.0", "TiDB"),
        ("8.0.11-TiDB-v8.1.0", "TiDB"),
        ("8.0.30-Vitess", "Vitess"),
        ("5.7.9-vitess-12.0.0", "Vitess"),
        ("8.0.23-PlanetScale", "PlanetScale"),
    ],
)
def test_servers_that_only_look_like_mysql_are_unsupported(version, product):
    assert product in sql.unsupported_server(version)


@pytest.mark.parametrize(
    ("version", "needs"),
    [("5.6.51-log", "MySQL 5.7"), ("10.3.39-MariaDB", "MariaDB 10.4"), ("5.5.5-10.3.39-MariaDB-1", "MariaDB 10.4")],
)
def test_too_old_servers_are_unsupported(version, needs):
    assert needs in sql.unsupported_server(version)


@pytest.mark.parametrize(
    "version",
    [
        "8.0.36",
        "8.4.3",
        "5.7.44-log",
        "8.0.mysql_aurora.3.04.0",
        "8.0.35-27",
        "5.5.5-10.11.6-MariaDB-0+deb12u1",
        "11.4.2-MariaDB",
    ],
)
def test_mysql_mariadb_aurora_and_percona_are_supported(version):
    assert sql.unsupported_server(version) is None


class RecordingConnection:
    """What Session.start sends, with the handshake version PyMySQL read before any statement."""

    def __init__(self, server_version):
        self.server_version = server_version
        self.statements = []

    def cursor(self):
        return RecordingCursor(self.statements)

    def close(self):
        pass


class RecordingCursor:
    def __init__(self, statements):
        self.statements = statements

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, statement, args):
        self.statements.append(statement)

    def fetchall(self):
        return []


@pytest.mark.parametrize(
    ("version", "statements"),
    [
        ("8.0.36", ["SET ROLE ALL"]),
        ("8.4.3", ["SET ROLE ALL"]),
        ("5.7.44", []),
        ("5.5.5-10.11.6-MariaDB", []),
        ("11.4.2-MariaDB", []),
    ],
)
def test_mysql_8_activates_every_granted_role_after_login(version, statements):
    # MySQL activates only default roles at login; an admin whose privileges come from a granted but not
    # default role (activate_all_roles_on_login=OFF) needs SET ROLE ALL. MariaDB has no SET ROLE ALL.
    connection = RecordingConnection(version)
    sql.Session(connection).start(version)
    assert connection.statements == statements


def test_an_unsupported_server_is_refused_before_any_statement():
    connection = RecordingConnection("8.0.11-TiDB-v8.1.0")
    error = raises("UnsupportedServer", sql.Session(connection).start, connection.server_version)
    assert "TiDB" in error.msg
    assert connection.statements == []


class PlainConnection:
    """What PyMySQL's auth plugins see of a connection without TLS; records what would go to the server."""

    _secure = False
    password = b"admin password"
    salt = b"s" * 20
    server_public_key = sql.NO_PUBLIC_KEY

    def __init__(self):
        self.sent = []

    def write_packet(self, data):
        self.sent.append(data)

    def _read_packet(self):
        raise AssertionError("nothing may be read: the password must not be sent")


@pytest.mark.parametrize(
    ("plugin", "packet"),
    [
        # caching_sha2_password's "perform full authentication" (0x01 0x04) after the fast path failed.
        ("caching_sha2_password_auth", b"\x01\x04"),
        # sha256_password's auth switch request, carrying the scramble.
        ("sha256_password_auth", b"\xfesha256_password\x00" + b"s" * 20 + b"\x00"),
    ],
)
def test_without_tls_the_servers_public_key_is_never_requested_and_the_password_never_sent(plugin, packet):
    # Runs PyMySQL's own auth code, so a PyMySQL release that stops honouring server_public_key fails here.
    from pymysql import _auth
    from pymysql.protocol import MysqlPacket

    connection = PlainConnection()
    with pytest.raises((ValueError, RuntimeError)):
        getattr(_auth, plugin)(connection, MysqlPacket(packet, "utf8"))
    assert connection.sent == []


def test_a_login_that_needs_the_full_password_without_tls_is_tls_required(monkeypatch):
    def refuse_to_encrypt(**options):
        assert options["server_public_key"] == sql.NO_PUBLIC_KEY and options["ssl_disabled"]
        raise ValueError("Could not deserialize key data")

    monkeypatch.setattr(sql.pymysql, "connect", refuse_to_encrypt)
    params = {"login_host": "db", "login_port": 3306, "login_user": "admin", "login_password": "pw"}
    params |= {"connect_timeout": 5, "query_timeout": 30, "tls_mode": "Disabled"}
    error = raises("TLSRequired", sql.Session.connect, params)
    assert "spec.tls.mode" in error.msg and "pw" not in error.msg


# mysql.user of MySQL 8.0 / 8.4 as its reference manual lists it ("The user and db Grant Tables"): the
# columns the account-state query may use (MariaDB's mysql.user is a view without the last four).
MYSQL_8_USER_COLUMNS = {"Host", "User", "plugin", "authentication_string", "max_user_connections"} | {
    "password_expired",
    "password_last_changed",
    "password_lifetime",
    "account_locked",
}


def test_mysql_account_state_reads_only_columns_mysql_8_documents():
    query = sql.ACCOUNT_STATE_SQL["mysql"]
    from_user = re.findall(r"\b([A-Za-z_]+)\b", query.split("FROM mysql.user")[0])
    sql_words = {"SELECT", "AS", "CAST", "BINARY", "IFNULL", "OR", "AND", "INTERVAL", "DAY", "NOW", "Y"}
    aliases = {"host", "auth_string", "locked", "expired", "default_password_lifetime"}
    assert set(from_user) - sql_words - aliases <= MYSQL_8_USER_COLUMNS
    assert {"account_locked", "password_expired", "password_last_changed", "password_lifetime"} <= set(from_user)


def test_mariadb_account_state_reads_lock_and_lifetime_from_global_priv():
    query = sql.ACCOUNT_STATE_SQL["mariadb"]
    for key in ("$.account_locked", "$.password_lifetime", "$.password_last_changed"):
        assert key in query
