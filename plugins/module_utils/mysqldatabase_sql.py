# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talks to the external MySQL/MariaDB server for the mysqldatabase_objects module.

One connection per module run (`Session`), values always sent as PyMySQL parameters, identifiers
only through `quote_identifier`, ownership records kept in the server itself (`OwnerRecords`) and
the user's privileges compared exactly against mysql.* (`read_grants`, `grant_differences`).
Every expected failure is a `MySQLDatabaseError` with a CamelCase reason and a message that never
carries a password.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from ansible.module_utils.mysqldatabase_rules import (
    ALL_PRIVILEGES,
    MARIADB_ONLY_PRIVILEGES,
    MAX_DATABASE_NAME,
    MAX_HOST_NAME,
    MAX_USER_NAME,
    MAX_USER_NAME_MYSQL,
    MAX_USER_NAME_MYSQL_BEFORE_5_7_8,
    PRIVILEGE_COLUMNS,
    RESERVED_USERS,
    SERVER_DATABASES,
)

try:
    import pymysql
    import pymysql.cursors

    PYMYSQL_IMPORT_ERROR: str | None = None
except ImportError as exc:  # pragma: no cover - the operator image and the venv ship PyMySQL
    PYMYSQL_IMPORT_ERROR = str(exc)

MAX_OWNER_FIELD = 255
MAX_LOCK_NAME = 64
LOCK_WAIT_SECONDS = 10
# Statements are retried after a deadlock (1213) or lock wait timeout (1205); autocommit makes
# every statement its own transaction, so repeating one is safe.
RETRY_DELAYS = (0.2, 0.5, 1.0)
RETRY_ERRORS = frozenset({1205, 1213})
UNREACHABLE_ERRORS = frozenset({1040, 1129, 1203, 2002, 2003, 2005, 2006, 2013, 2026, 2055})
AUTH_ERRORS = frozenset({1045, 1130, 1251, 1698, 2059})
# The login's own password has expired: MySQL refuses the login (1862, and MariaDB with
# disconnect_on_expired_password), MariaDB's default lets it in and refuses every statement (1820).
PASSWORD_EXPIRED_ERRORS = frozenset({1820, 1862})
# A password validation plugin (validate_password, simple_password_check, password_reuse_check, ...)
# refused a password.
PASSWORD_POLICY_ERROR = 1819
# MySQL's password_history / password_reuse_interval refusal (ER_CREDENTIALS_CONTRADICT_TO_HISTORY).
PASSWORD_HISTORY_ERROR = 3638
# ER_CANNOT_USER: "Operation CREATE USER/ALTER USER/DROP USER failed for ...".
ACCOUNT_OPERATION_FAILED = 1396
# After login, "access denied" (1045, 1698 too) means the admin lacks a privilege.
PRIVILEGE_ERRORS = frozenset({1044, 1045, 1142, 1143, 1211, 1227, 1370, 1410, 1698})
INVALID_NAME_ERRORS = frozenset({1059, 1102, 1103, 1300, 1470})
# Errors whose server text never quotes the statement, so it may be shown even for a statement
# that carries a password (1064 and friends echo the statement: never shown).
SAFE_TEXT_ERRORS = frozenset(
    {1044, 1045, 1142, 1205, 1211, 1213, 1227, 1290, 1396, 1410, 1470, 1698, 1819, 1820, 1862, 2006, 2013, 3638}
)

GRANT_OPTION_COLUMN = "Grant_priv"


class MySQLDatabaseError(Exception):
    """An expected failure: `reason` is CamelCase, `msg` tells the user what to do."""

    def __init__(self, reason: str, msg: str) -> None:
        super().__init__(msg)
        self.reason = reason
        self.msg = msg


def invalid_spec(msg: str) -> MySQLDatabaseError:
    return MySQLDatabaseError("InvalidSpec", msg)


# --- names and quoting -------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    """Backtick-quote an identifier for a statement run with PyMySQL parameters.

    The only place where a caller's string enters SQL text. `%` is doubled because every statement
    goes through PyMySQL's pyformat substitution.
    """
    if "\x00" in name:
        raise invalid_spec("Names must not contain a NUL character.")
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


def grant_database_pattern(database: str) -> str:
    """The database name as written in GRANT ... ON <db>.*, where `_` and `%` are wildcards."""
    return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _check_text(what: str, value: str, hint: str) -> None:
    if not value:
        raise invalid_spec(f"The {what} must not be empty; {hint}.")
    if "\x00" in value:
        raise invalid_spec(f"The {what} {value!r} contains a NUL character; {hint}.")
    if value != value.rstrip(" "):
        raise invalid_spec(f"The {what} {value!r} ends with a space, which MySQL ignores or refuses; {hint}.")
    if any(ord(char) > 0xFFFF for char in value):
        raise invalid_spec(
            f"The {what} {value!r} contains characters outside the Basic Multilingual Plane "
            f"(for example emoji), which MySQL does not allow in names; {hint}."
        )


def _check_length(what: str, value: str, limit: int, whose_limit: str, hint: str) -> None:
    if len(value) > limit:
        raise MySQLDatabaseError(
            "NameTooLong",
            f"The {what} {value!r} has {len(value)} characters, more than {whose_limit} "
            f"limit of {limit}; {hint} to a shorter name.",
        )


def validate_database_name(database: str, metadata_schema: str) -> None:
    hint = "set spec.databaseName"
    _check_text("database name", database, hint)
    _check_length("database name", database, MAX_DATABASE_NAME, "MySQL's", hint)
    if database.lower().startswith("#mysql50#"):
        raise invalid_spec(f"The database name {database!r} uses MySQL's reserved #mysql50# prefix; {hint}.")
    if database.casefold() in SERVER_DATABASES | {metadata_schema.casefold()}:
        raise MySQLDatabaseError(
            "ReservedName",
            f"The database name {database!r} is reserved for the server or the operator; {hint} to another name.",
        )


def validate_user_name(username: str, limit: int) -> None:
    hint = "set spec.username"
    _check_text("user name", username, hint)
    _check_length("user name", username, limit, "this server's", hint)
    if username.casefold() in RESERVED_USERS:
        raise MySQLDatabaseError(
            "ReservedName",
            f"The user name {username!r} is reserved for the server; {hint} to another name.",
        )


def validate_user_host(host: str) -> None:
    _check_text("user host", host, "use '%' for any host")
    if len(host) > MAX_HOST_NAME:
        raise invalid_spec(f"The user host has more than {MAX_HOST_NAME} characters.")


def validate_metadata_schema(schema: str) -> None:
    _check_text("metadata schema", schema, "set it to a plain name such as external_mysql_operator")
    if len(schema) > MAX_DATABASE_NAME or schema.casefold() in SERVER_DATABASES:
        raise invalid_spec(f"The metadata schema {schema!r} is too long or reserved for the server.")


def lock_name(schema: str, subject: str) -> str:
    """GET_LOCK name for a database or account; hashed when longer than the servers accept."""
    name = f"{schema}:{subject}"
    if len(name) <= MAX_LOCK_NAME:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:40]
    return f"{schema[: MAX_LOCK_NAME - 41]}:{digest}"


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


# --- privileges --------------------------------------------------------------------------------


def normalize_privileges(privileges: list[str], flavor: str | None = None) -> tuple[str, ...]:
    """Upper-cased, de-duplicated privilege names in GRANT order; ALL wins over the rest."""
    if not privileges:
        raise invalid_spec("spec.privileges must name at least one privilege.")
    names: set[str] = set()
    for raw in privileges:
        key = " ".join(str(raw).split()).upper()
        key = ALL_PRIVILEGES if key == "ALL" else key
        if key != ALL_PRIVILEGES and key not in PRIVILEGE_COLUMNS:
            allowed = ", ".join(["ALL", ALL_PRIVILEGES, *PRIVILEGE_COLUMNS])
            raise invalid_spec(f"Unknown privilege {raw!r} in spec.privileges; allowed: {allowed}.")
        if key in MARIADB_ONLY_PRIVILEGES and flavor == "mysql":
            raise invalid_spec(f"The privilege {key} exists only on MariaDB; remove it from spec.privileges.")
        names.add(key)
    if ALL_PRIVILEGES in names:
        return (ALL_PRIVILEGES,)
    return tuple(name for name in PRIVILEGE_COLUMNS if name in names)


def wanted_columns(privileges: tuple[str, ...], db_columns: list[str]) -> frozenset[str]:
    """The mysql.db *_priv columns that must be 'Y' for exactly these privileges."""
    if privileges == (ALL_PRIVILEGES,):
        return frozenset(column for column in db_columns if column != GRANT_OPTION_COLUMN)
    missing = [name for name in privileges if PRIVILEGE_COLUMNS[name] not in db_columns]
    if missing:
        raise invalid_spec(f"This server does not support the privilege(s) {', '.join(missing)}.")
    return frozenset(PRIVILEGE_COLUMNS[name] for name in privileges)


@dataclass
class GrantState:
    """What an account holds, read from the mysql.* grant tables."""

    global_privileges: list[str] = field(default_factory=list)
    db_rows: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    other_grants: list[str] = field(default_factory=list)
    roles: list[tuple[str, str]] = field(default_factory=list)


def grant_differences(state: GrantState, pattern: str, wanted: frozenset[str]) -> list[str]:
    """Why the account's privileges are not exactly `wanted` on `pattern`.*; empty when they are."""
    problems = []
    if state.global_privileges:
        problems.append("global privileges " + ", ".join(sorted(state.global_privileges)))
    if [row for row in state.db_rows if row != (pattern, wanted)] or len(state.db_rows) != 1:
        problems.append("database-level privileges differ")
    problems.extend(f"privileges in mysql.{table}" for table in state.other_grants)
    problems.extend(f"role {role!r}" for role, _host in state.roles)
    return problems


# --- the connection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerInfo:
    version: str
    lower_case_table_names: int
    mysql_tables: frozenset[str]

    @property
    def flavor(self) -> str:
        return "mariadb" if "mariadb" in self.version.lower() else "mysql"

    @property
    def user_name_limit(self) -> int:
        """Longest account name: 80 on MariaDB, 32 on MySQL >= 5.7.8, 16 before."""
        if self.flavor == "mariadb":
            return MAX_USER_NAME
        return MAX_USER_NAME_MYSQL if version_tuple(self.version) >= (5, 7, 8) else MAX_USER_NAME_MYSQL_BEFORE_5_7_8


def error_code(exc: BaseException) -> int:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def error_text(exc: BaseException) -> str:
    args: tuple[object, ...] = getattr(exc, "args", ())
    return str(args[1]) if len(args) > 1 else str(exc)


def translate_error(
    exc: BaseException, purpose: str, secret: bool = False, login: str = "admin user"
) -> MySQLDatabaseError:
    """Map a PyMySQL error raised after the `login` (who logged in where) to a reason and an actionable message."""
    code = error_code(exc)
    if secret and code not in SAFE_TEXT_ERRORS:
        text = "(server message withheld: the statement carries a password)"
    else:
        text = error_text(exc)
    if code in UNREACHABLE_ERRORS or (code == 0 and isinstance(exc, pymysql.err.InterfaceError)):
        return MySQLDatabaseError(
            "ServerUnreachable", f"Lost the connection to the MySQL server while {purpose}: ({code}) {text}"
        )
    if code in PASSWORD_EXPIRED_ERRORS:
        return admin_password_expired(login, f"while {purpose}: ({code}) {text}")
    if code in (PASSWORD_POLICY_ERROR, PASSWORD_HISTORY_ERROR):
        return MySQLDatabaseError(
            "PasswordPolicy", f"The server's password policy refused a password while {purpose}: ({code}) {text}"
        )
    if code in PRIVILEGE_ERRORS:
        return MySQLDatabaseError(
            "AdminPrivilegesMissing",
            f"The admin user may not do this while {purpose}: ({code}) {text}. Grant the admin user "
            "the privileges its MySQLServer's status.missingPrivileges names.",
        )
    if code in INVALID_NAME_ERRORS:
        return invalid_spec(f"The server refused a name while {purpose}: ({code}) {text}")
    return MySQLDatabaseError("ServerError", f"MySQL error {code} while {purpose}: {text}")


def _connect_error(exc: BaseException, host: str, port: int, user: str, mode: str = "Disabled") -> MySQLDatabaseError:
    code = error_code(exc)
    text = error_text(exc)
    if code == SECURE_TRANSPORT_REQUIRED:
        return tls_required(host, port)
    if mode != "Disabled" and (
        code == TLS_NOT_OFFERED or isinstance(getattr(exc, "original_exception", None), ssl.SSLError)
    ):
        return MySQLDatabaseError(
            "TLSFailed",
            f"TLS to the MySQL server {host}:{port} failed in mode {mode}: ({code}) {text}. Check the "
            "server's certificate, the CA (spec.tls.caSecretRef) and that the host name is in the certificate.",
        )
    if code in PASSWORD_EXPIRED_ERRORS:
        return admin_password_expired(admin_login(host, port, user), f"({code}) {text}")
    if code in AUTH_ERRORS:
        return MySQLDatabaseError(
            "AdminAuthFailed",
            f"The server {host}:{port} refused the login of admin user {user!r}: ({code}) {text}. "
            "Check the admin user name and password of the server connection.",
        )
    if code in UNREACHABLE_ERRORS or isinstance(exc, pymysql.err.OperationalError):
        return MySQLDatabaseError(
            "ServerUnreachable",
            f"Cannot connect to the MySQL server {host}:{port}: ({code}) {text}. Check the host, the "
            "port, the network path and, with TLS, the CA certificate.",
        )
    return translate_error(exc, f"connecting to {host}:{port}")


def admin_login(host: str, port: int, user: str) -> str:
    return f"admin user {user!r} at {host}:{port}"


def admin_password_expired(login: str, detail: str) -> MySQLDatabaseError:
    return MySQLDatabaseError(
        "AdminPasswordExpired",
        f"The password of the {login} has expired: {detail}. Set a new password for it on the server "
        "(ALTER USER ... IDENTIFIED BY ..., or exempt it with PASSWORD EXPIRE NEVER) and put it into the "
        "server's credentials Secret.",
    )


def tls_required(host: str, port: int) -> MySQLDatabaseError:
    return MySQLDatabaseError(
        "TLSRequired",
        f"The MySQL server {host}:{port} accepts only TLS connections (require_secure_transport); set "
        "spec.tls.mode to Required, VerifyCA or VerifyIdentity.",
    )


# The value PyMySQL gets as the server's RSA public key on connections without TLS. MySQL's
# caching_sha2_password (when the server has no cached hash, e.g. after a restart) and sha256_password
# send the password RSA-encrypted; PyMySQL would ask the server for its key over that same unverified
# connection, where a man in the middle could answer with its own and read the admin password. Like the
# mysql client without --get-server-public-key, never ask: this is no key, so such a login fails, and
# says to use TLS (full_password_needs_tls). Logins that need no key (fast path, other plugins) work.
NO_PUBLIC_KEY = b"(no public key: never fetched over a connection without TLS)"


def full_password_needs_tls(host: str, port: int, user: str) -> MySQLDatabaseError:
    return MySQLDatabaseError(
        "TLSRequired",
        f"The MySQL server {host}:{port} asks for the full password of admin user {user!r} "
        "(caching_sha2_password or sha256_password). Without TLS that needs the server's RSA public key, "
        "which the operator never fetches over an unverified connection; set spec.tls.mode to Required, "
        "VerifyCA or VerifyIdentity.",
    )


# Servers that speak the MySQL protocol but are not MySQL or MariaDB: the grant tables, roles and named
# locks the operator relies on differ or do not exist there. Matched in the handshake's version string.
UNSUPPORTED_SERVERS = (("tidb", "TiDB"), ("vitess", "Vitess"), ("planetscale", "PlanetScale"))
# Oldest versions with what the operator uses: MySQL 5.7 (account locking, password expiry, 32-character
# user names), MariaDB 10.4 (mysql.global_priv, ACCOUNT LOCK).
MIN_MYSQL_VERSION = (5, 7, 0)
MIN_MARIADB_VERSION = (10, 4, 0)
# MariaDB before 11 prefixes its handshake version with this, for old MySQL clients.
MARIADB_HANDSHAKE_PREFIX = "5.5.5-"


def version_tuple(version: str) -> tuple[int, int, int]:
    """The first three numbers of a version string ("8.0.mysql_aurora.3.04.0" gives (8, 0, 0))."""
    parts = [*version.split("-")[0].split(".")[:3], "", "", ""]
    major, minor, patch = (int(re.match(r"\d*", part).group() or 0) for part in parts[:3])  # type: ignore[union-attr]
    return major, minor, patch


def unsupported_server(handshake_version: str) -> str | None:
    """Why the server that greeted with this version cannot be managed, or None."""
    lowered = handshake_version.lower()
    for marker, product in UNSUPPORTED_SERVERS:
        if marker in lowered:
            return (
                f"The server is {product} ({handshake_version}), not MySQL or MariaDB; its accounts, grants "
                "and locks work differently and the operator does not support it."
            )
    version = handshake_version.removeprefix(MARIADB_HANDSHAKE_PREFIX)
    flavor, minimum = ("MariaDB", MIN_MARIADB_VERSION) if "mariadb" in lowered else ("MySQL", MIN_MYSQL_VERSION)
    if version and version_tuple(version) < minimum:
        return (
            f"The server is {flavor} {version}; the operator needs {flavor} {'.'.join(map(str, minimum[:2]))} or later."
        )
    return None


# MySQL's --ssl-mode values, as MySQLServer.spec.tls.mode names them.
TLS_MODES = ("Disabled", "Required", "VerifyCA", "VerifyIdentity")
TLS_VERIFYING_MODES = frozenset({"VerifyCA", "VerifyIdentity"})
# MySQL's ER_SECURE_TRANSPORT_REQUIRED; MariaDB answers a plain login to such a server with 1045.
SECURE_TRANSPORT_REQUIRED = 3159
TLS_NOT_OFFERED = 2026


def login_argument_spec(query_timeout: int) -> dict[str, Any]:
    """The connection options every module of ours that talks to the MySQL server takes."""
    return {
        "login_host": {"type": "str", "required": True},
        "login_port": {"type": "int", "default": 3306},
        "login_user": {"type": "str", "required": True},
        "login_password": {"type": "str", "required": True, "no_log": True},
        "ca_cert": {"type": "str", "no_log": False},
        "tls_mode": {"type": "str", "choices": list(TLS_MODES)},
        "connect_timeout": {"type": "int", "default": 5},
        "query_timeout": {"type": "int", "default": query_timeout},
    }


def tls_mode_of(params: dict[str, Any]) -> str:
    """The TLS mode of a run: `tls_mode`, else VerifyIdentity with a CA and Disabled without."""
    mode = params.get("tls_mode") or ("VerifyIdentity" if params.get("ca_cert") else "Disabled")
    if mode not in TLS_MODES:
        raise invalid_spec(f"Unknown TLS mode {mode!r}; use one of {', '.join(TLS_MODES)}.")
    if mode in TLS_VERIFYING_MODES and not params.get("ca_cert"):
        raise MySQLDatabaseError("TLSFailed", f"TLS mode {mode} needs the CA certificate (spec.tls.caSecretRef).")
    return mode


def tls_context(mode: str, ca_cert: str | None) -> ssl.SSLContext | None:
    """The client's TLS context for a mode: None (Disabled), unverified (Required), or verifying
    the chain against this PEM CA only (VerifyCA) and also the host name (VerifyIdentity)."""
    if mode == "Disabled":
        return None
    if mode == "Required":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        context = ssl.create_default_context(cadata=ca_cert)
    except (ssl.SSLError, ValueError) as exc:
        raise MySQLDatabaseError("TLSFailed", f"The CA certificate (ca_cert) cannot be loaded as PEM: {exc}") from None
    context.check_hostname = mode == "VerifyIdentity"
    return context


def _tls_only(options: dict[str, Any]) -> bool:
    """Whether a login refused in plain text succeeds over TLS: MariaDB refuses plain logins to a
    server with require_secure_transport as "access denied", where MySQL says 3159. The same
    credentials go over a channel at least as private as the plain one just tried."""
    options = {key: value for key, value in options.items() if key != "ssl_disabled"}
    try:
        pymysql.connect(**{**options, "ssl": tls_context("Required", None)}).close()
    except (pymysql.MySQLError, OSError):
        return False
    return True


class Session:
    """The one connection of a module run.

    Reads run directly; changes go through `change()`, which records what it does and, in check
    mode, only records it.
    """

    def __init__(self, connection: Any, check_mode: bool = False, login: str = "admin user") -> None:
        self._connection = connection
        self.check_mode = check_mode
        self.login = login
        self.actions: list[str] = []
        self._locks: list[str] = []

    @classmethod
    def connect(cls, params: dict[str, Any], check_mode: bool = False) -> Session:
        if PYMYSQL_IMPORT_ERROR is not None:
            raise MySQLDatabaseError("ServerError", f"PyMySQL is not installed: {PYMYSQL_IMPORT_ERROR}")
        host, port, user = params["login_host"], params["login_port"], params["login_user"]
        options = {
            "host": host,
            "port": port,
            "user": user,
            # Bytes: PyMySQL would encode a str password as latin-1 and fail on other characters.
            "password": params["login_password"].encode("utf-8"),
            "connect_timeout": params["connect_timeout"],
            "read_timeout": params["query_timeout"],
            "write_timeout": params["query_timeout"],
            "charset": "utf8mb4",
            # Known quoting rules whatever the server's default (no ANSI_QUOTES, backslash escapes).
            "sql_mode": "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION",
            "autocommit": True,
            "cursorclass": pymysql.cursors.DictCursor,
        }
        mode = tls_mode_of(params)
        context = tls_context(mode, params.get("ca_cert"))
        # PyMySQL negotiates TLS when the server offers it unless told not to: Disabled means never.
        # Without TLS it never fetches an RSA public key either (see NO_PUBLIC_KEY).
        options.update({"ssl": context} if context else {"ssl_disabled": True, "server_public_key": NO_PUBLIC_KEY})
        try:
            connection = pymysql.connect(**options)
        except pymysql.MySQLError as exc:
            error = _connect_error(exc, host, port, user, mode)
            if mode == "Disabled" and error.reason == "AdminAuthFailed" and _tls_only(options):
                raise tls_required(host, port) from None
            raise error from None
        except OSError as exc:
            raise MySQLDatabaseError(
                "ServerUnreachable", f"Cannot connect to the MySQL server {host}:{port}: {exc}"
            ) from None
        except (ValueError, RuntimeError):
            # PyMySQL could not RSA-encrypt the password with NO_PUBLIC_KEY (ValueError), or has no
            # `cryptography` to try (RuntimeError): the server wants the password in full.
            raise full_password_needs_tls(host, port, user) from None
        session = cls(connection, check_mode, admin_login(host, port, user))
        try:
            session.start(str(getattr(connection, "server_version", "")))
        except MySQLDatabaseError:
            session.close()
            raise
        return session

    def start(self, handshake_version: str) -> None:
        """Refuse a server that only looks like MySQL before any statement runs, then make the admin's
        role privileges active: MySQL activates only default roles at login (unless
        activate_all_roles_on_login), MariaDB activates its default role and has no SET ROLE ALL."""
        refusal = unsupported_server(handshake_version)
        if refusal:
            raise MySQLDatabaseError("UnsupportedServer", refusal)
        version = handshake_version.removeprefix(MARIADB_HANDSHAKE_PREFIX)
        if "mariadb" not in version.lower() and version_tuple(version) >= (8, 0, 0):
            self.rows("SET ROLE ALL", purpose="activating the admin user's roles")

    def rows(
        self, sql: str, args: tuple[object, ...] = (), *, purpose: str, secret: bool = False
    ) -> list[dict[str, Any]]:
        for delay in (*RETRY_DELAYS, None):
            try:
                with self._connection.cursor() as cursor:
                    cursor.execute(sql, args)
                    return list(cursor.fetchall())
            except pymysql.MySQLError as exc:
                if error_code(exc) in RETRY_ERRORS and delay is not None:
                    time.sleep(delay)
                    continue
                raise translate_error(self._policy_refusal(exc), purpose, secret, self.login) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _policy_refusal(self, exc: BaseException) -> BaseException:
        """The password-policy refusal behind an account statement's error, else the error itself.

        MariaDB's ALTER USER reports a refused password as "(1396) Operation ALTER USER failed" and
        leaves the cause, 1819, in the diagnostics area, together with the plugins' reasons (warnings
        such as "password_reuse_check: The password was already used"); those never quote the password.
        """
        if error_code(exc) not in (ACCOUNT_OPERATION_FAILED, PASSWORD_POLICY_ERROR):
            return exc
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SHOW WARNINGS", ())
                notes = [row for row in cursor.fetchall() if row.get("Code") == PASSWORD_POLICY_ERROR]
        except pymysql.MySQLError:
            return exc
        errors = [str(row.get("Message")) for row in notes if row.get("Level") == "Error"]
        if not errors:
            return exc
        details = [str(row.get("Message")) for row in notes if row.get("Level") != "Error"]
        return pymysql.err.OperationalError(PASSWORD_POLICY_ERROR, "; ".join([errors[0], *details]))

    def change(self, description: str, sql: str, args: tuple[object, ...] = (), *, secret: bool = False) -> None:
        """Run one statement that changes the server and note it; in check mode only note it. A statement
        the server refused is not noted: it changed nothing."""
        if not self.check_mode:
            self.rows(sql, args, purpose=description, secret=secret)
        self.actions.append(description)

    def server_info(self) -> ServerInfo:
        row = self.rows("SELECT VERSION() AS version, @@lower_case_table_names AS lctn", purpose="reading the version")[
            0
        ]
        tables = self.rows(
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql'",
            purpose="listing the grant tables",
        )
        return ServerInfo(
            version=str(row["version"]),
            lower_case_table_names=int(row["lctn"] or 0),
            mysql_tables=frozenset(str(table["name"]).lower() for table in tables),
        )

    def acquire_locks(self, names: list[str]) -> None:
        """Take named locks in sorted order, so two runs never wait on each other in a cycle."""
        for name in sorted(set(names)):
            row = self.rows("SELECT GET_LOCK(%s, %s) AS got", (name, LOCK_WAIT_SECONDS), purpose=f"locking {name!r}")[0]
            if row["got"] != 1:
                raise MySQLDatabaseError(
                    "ServerError",
                    f"Another reconcile held the lock {name!r} for more than {LOCK_WAIT_SECONDS} s; "
                    "it works on the same database or user. The next reconcile retries.",
                )
            self._locks.append(name)

    def release_locks(self) -> None:
        """Best effort: closing the connection releases the locks anyway, and an error here must not
        hide the one that ended the run."""
        while self._locks:
            name = self._locks.pop()
            with contextlib.suppress(MySQLDatabaseError):
                self.rows("SELECT RELEASE_LOCK(%s) AS released", (name,), purpose=f"unlocking {name!r}")

    def close(self) -> None:
        with contextlib.suppress(pymysql.MySQLError, OSError):  # a broken connection has nothing to report
            self._connection.close()


# --- server objects ----------------------------------------------------------------------------


def account(user: str, host: str) -> str:
    """How messages name an account; the SQL always passes both parts as parameters."""
    return f"'{user}'@'{host}'"


def find_schema(session: Session, database: str) -> dict[str, Any] | None:
    """The SCHEMATA row of exactly this database (the column compares case-insensitively)."""
    rows = session.rows(
        "SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset, "
        "DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
        (database,),
        purpose=f"looking up database {database!r}",
    )
    return next((row for row in rows if row["name"] == database), None)


# An account's lock and password expiry: MySQL keeps them in mysql.user, MariaDB in mysql.global_priv's
# JSON (password_last_changed 0 means expired by hand; a lifetime of -1, or none, means the server's
# default_password_lifetime; 0 means never). Both computed on the server, so its clock decides. The
# stored hash comes as bytes: MySQL's caching_sha2_password salt is not text.
ACCOUNT_STATE_SQL = {
    "mysql": (
        "SELECT Host AS host, plugin, max_user_connections, "
        "CAST(authentication_string AS BINARY) AS auth_string, account_locked = 'Y' AS locked, "
        "(password_expired = 'Y' OR (IFNULL(password_lifetime, @@default_password_lifetime) > 0 AND "
        "password_last_changed + INTERVAL IFNULL(password_lifetime, @@default_password_lifetime) DAY "
        "<= NOW())) AS expired "
        "FROM mysql.user WHERE User = %s"
    ),
    "mariadb": (
        "SELECT host, plugin, max_user_connections, auth_string, locked, "
        "(expired_by_hand OR (lifetime > 0 AND UNIX_TIMESTAMP() - changed >= lifetime * 86400)) AS expired "
        "FROM (SELECT u.Host AS host, u.plugin, u.max_user_connections, "
        "CAST(u.authentication_string AS BINARY) AS auth_string, "
        "IFNULL(JSON_EXTRACT(g.Priv, '$.account_locked'), 'false') = 'true' AS locked, "
        "u.password_expired = 'Y' AS expired_by_hand, "
        "IF(IFNULL(JSON_VALUE(g.Priv, '$.password_lifetime'), -1) = -1, @@default_password_lifetime, "
        "JSON_VALUE(g.Priv, '$.password_lifetime')) AS lifetime, "
        "JSON_VALUE(g.Priv, '$.password_last_changed') AS changed "
        "FROM mysql.user u JOIN mysql.global_priv g ON g.User = u.User AND g.Host = u.Host "
        "WHERE u.User = %s) AS accounts"
    ),
}


def find_account(session: Session, info: ServerInfo, user: str, host: str) -> dict[str, Any] | None:
    """The mysql.user row of exactly this account: host, plugin, max_user_connections, auth_string
    (bytes), locked and expired (booleans)."""
    rows = session.rows(ACCOUNT_STATE_SQL[info.flavor], (user,), purpose=f"looking up user {account(user, host)}")
    row = next((row for row in rows if str(row["host"]).lower() == host), None)
    if row is not None:
        row.update(locked=bool(row["locked"]), expired=bool(row["expired"]))
    return row


def account_exists(session: Session, user: str, host: str) -> bool:
    rows = session.rows(
        "SELECT Host AS host FROM mysql.user WHERE User = %s", (user,), purpose=f"looking up user {account(user, host)}"
    )
    return any(str(row["host"]).lower() == host for row in rows)


def other_hosts(session: Session, user: str, host: str) -> list[str]:
    """Hosts of the other accounts with this user name, lower case."""
    rows = session.rows(
        "SELECT Host AS host FROM mysql.user WHERE User = %s", (user,), purpose=f"looking up accounts named {user!r}"
    )
    return sorted({str(row["host"]).lower() for row in rows} - {host})


def resolve_character_set(
    session: Session, character_set: str | None, collation: str | None
) -> tuple[str | None, str | None]:
    """The server's own spelling of the requested character set and collation, or InvalidSpec."""
    charset_name = collation_name = None
    if character_set:
        charset_name = _charset_name(session, character_set)
        if charset_name is None and character_set.lower() == "utf8":  # an alias the table may not list
            charset_name = _charset_name(session, "utf8mb3")
        if charset_name is None:
            raise invalid_spec(f"Unknown character set {character_set!r} in spec.characterSet.")
    if collation:
        rows = session.rows(
            "SELECT COLLATION_NAME AS name, CHARACTER_SET_NAME AS charset "
            "FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (%s, %s)",
            (collation, "utf8mb3_" + collation[5:] if collation.lower().startswith("utf8_") else collation),
            purpose="checking the collation",
        )
        if not rows:
            raise invalid_spec(f"Unknown collation {collation!r} in spec.collation.")
        collation_name = str(rows[0]["name"])
        if charset_name and str(rows[0]["charset"]).lower() != charset_name.lower():
            raise invalid_spec(
                f"The collation {collation!r} belongs to character set {rows[0]['charset']}, not to "
                f"{charset_name}; fix spec.collation or spec.characterSet."
            )
    return charset_name, collation_name


def _charset_name(session: Session, value: str) -> str | None:
    rows = session.rows(
        "SELECT CHARACTER_SET_NAME AS name FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = %s",
        (value,),
        purpose="checking the character set",
    )
    return str(rows[0]["name"]) if rows else None


def priv_columns(session: Session, table: str) -> list[str]:
    """The *_priv columns of mysql.<table> on this server version, in table order."""
    rows = session.rows(
        "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
        (table,),
        purpose=f"reading the columns of mysql.{table}",
    )
    return [str(row["name"]) for row in rows if str(row["name"]).lower().endswith("_priv")]


def _rows_for_account(session: Session, table: str, columns: str, user: str, host: str) -> list[dict[str, Any]]:
    rows = session.rows(
        f"SELECT {columns} FROM mysql.{quote_identifier(table)} WHERE User = %s",  # noqa: S608 - quoted
        (user,),
        purpose=f"reading mysql.{table} for {account(user, host)}",
    )
    # Host names are case-insensitive and stored lower case; `host` arrives lower case.
    return [row for row in rows if str(row["Host"]).lower() == host]


def read_grants(session: Session, info: ServerInfo, user: str, host: str, db_columns: list[str]) -> GrantState:
    """Everything the account holds: global, database, table, column and routine privileges, roles."""
    user_columns = priv_columns(session, "user")
    state = GrantState()
    for row in _rows_for_account(session, "user", _column_list(["Host", *user_columns]), user, host):
        state.global_privileges = [column for column in user_columns if row[column] == "Y"]
    for row in _rows_for_account(session, "db", _column_list(["Host", "Db", *db_columns]), user, host):
        state.db_rows.append((str(row["Db"]), frozenset(c for c in db_columns if row[c] == "Y")))
    for table in ("tables_priv", "columns_priv", "procs_priv", "global_grants"):
        user_column, host_column = ("USER", "HOST") if table == "global_grants" else ("User", "Host")
        if table in info.mysql_tables and _account_rows(session, table, user_column, host_column, user, host):
            state.other_grants.append(table)
    state.roles = read_roles(session, info, user, host)
    return state


def _column_list(columns: list[str]) -> str:
    return ", ".join(quote_identifier(column) for column in columns)


def _account_rows(session: Session, table: str, user_column: str, host_column: str, user: str, host: str) -> int:
    rows = session.rows(
        f"SELECT {host_column} AS Host FROM mysql.{table} WHERE {user_column} = %s",  # noqa: S608 - constants
        (user,),
        purpose=f"reading mysql.{table}",
    )
    return sum(1 for row in rows if str(row["Host"]).lower() == host)


def read_roles(session: Session, info: ServerInfo, user: str, host: str) -> list[tuple[str, str]]:
    """Roles granted to the account: (role, role host); the host is '' on MariaDB."""
    if "roles_mapping" in info.mysql_tables:
        rows = session.rows(
            "SELECT Host, Role AS role, '' AS role_host FROM mysql.roles_mapping WHERE User = %s",
            (user,),
            purpose="reading the account's roles",
        )
    elif "role_edges" in info.mysql_tables:
        rows = session.rows(
            "SELECT TO_HOST AS Host, FROM_USER AS role, FROM_HOST AS role_host "
            "FROM mysql.role_edges WHERE TO_USER = %s",
            (user,),
            purpose="reading the account's roles",
        )
    else:
        return []
    return [(str(row["role"]), str(row["role_host"])) for row in rows if str(row["Host"]).lower() == host]


def revoke_role_sql(flavor: str, role: str, role_host: str) -> tuple[str, tuple[object, ...]]:
    """REVOKE <role> FROM <account>: MariaDB names roles as identifiers, MySQL as accounts."""
    if flavor == "mariadb":
        return f"REVOKE {quote_identifier(role)} FROM %s@%s", ()
    return "REVOKE %s@%s FROM %s@%s", (role, role_host)


# --- password policies -------------------------------------------------------------------------

# The settings of the password validation plugins and components of MySQL and MariaDB, and MySQL's
# own reuse policy: what a message about a refused password names (numbers and names, never a password).
PASSWORD_POLICY_VARIABLES = (
    "validate\\_password%",
    "simple\\_password\\_check%",
    "password\\_reuse\\_check%",
    "cracklib\\_password\\_check%",
    "password\\_history",
    "password\\_reuse\\_interval",
)


def password_policy_settings(session: Session) -> str:
    """The server's password-policy settings as `name=value, ...`; '' when it has none or they are unreadable."""
    where = " OR ".join("Variable_name LIKE %s" for _ in PASSWORD_POLICY_VARIABLES)
    try:
        rows = session.rows(
            f"SHOW GLOBAL VARIABLES WHERE {where}",
            PASSWORD_POLICY_VARIABLES,
            purpose="reading the password policy",
        )
    except MySQLDatabaseError:
        return ""  # the refusal is what the user must see, not a second error about reading why
    return ", ".join(f"{row['Variable_name']}={row['Value']}" for row in rows)


def password_policy_refused(session: Session, error: MySQLDatabaseError) -> MySQLDatabaseError:
    """A refused password (reason PasswordPolicy), with the server's policy settings."""
    settings = password_policy_settings(session)
    return MySQLDatabaseError(
        "PasswordPolicy",
        f"{error.msg}. "
        + (f"The server's password policy: {settings}. " if settings else "")
        + "The operator's passwords hold letters of both cases, digits and - or _ (32 characters unless "
        "configured otherwise) and a refused one is replaced once by a new one; a policy that demands more "
        "must be relaxed for the operator's users.",
    )


# --- ownership records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    namespace: str
    name: str
    uid: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def values(self) -> tuple[str, str, str]:
        """The arguments for `cr_namespace, cr_name, cr_uid`, in that order."""
        return (self.namespace, self.name, self.uid)


@dataclass(frozen=True)
class OwnerRecord:
    kind: str  # 'database' | 'user'
    name: str
    host: str  # '' for databases
    owner: Owner

    @property
    def key(self) -> tuple[str, str, str]:
        """The arguments for `RECORD_KEY`: the table's primary key."""
        return (self.kind, self.name, self.host)


# Every statement that reads or writes one record finds it by the primary key, spelled here once.
RECORD_KEY = "kind = %s AND name = %s AND host = %s"


OWNERS_TABLE_DDL = """CREATE TABLE IF NOT EXISTS {table} (
  kind ENUM('database', 'user') NOT NULL,
  name VARCHAR(255) NOT NULL,
  host VARCHAR(255) NOT NULL DEFAULT '',
  cr_namespace VARCHAR(255) NOT NULL,
  cr_name VARCHAR(255) NOT NULL,
  cr_uid VARCHAR(255) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (kind, name, host)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""


class OwnerRecords:
    """`<metadata_schema>.owners`: which MySQLDatabase created (or adopted) which database and user.

    Lives in the server, so every operator replica sees the same records and they survive restarts.
    """

    def __init__(self, session: Session, schema: str) -> None:
        self.session = session
        self.schema = schema
        self.table = f"{quote_identifier(schema)}.`owners`"
        self.present = False

    def load(self) -> None:
        """Look for the table; a missing one means no records (it is created by `ensure_table`)."""
        rows = self.session.rows(
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            (self.schema,),
            purpose="looking for the ownership table",
        )
        self.present = any(row["name"] == "owners" for row in rows)

    def ensure_table(self) -> None:
        """Create schema and table when missing; checked first so a steady state runs no DDL."""
        if self.present or self.session.check_mode:
            return
        purpose = f"creating the ownership table {self.schema}.owners"
        self.session.rows(
            f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.schema)} CHARACTER SET utf8mb4",
            purpose=purpose,
        )
        self.session.rows(OWNERS_TABLE_DDL.format(table=self.table), purpose=purpose)
        self.present = True

    def get(self, kind: str, name: str, host: str) -> OwnerRecord | None:
        if not self.present:
            return None
        rows = self.session.rows(
            f"SELECT cr_namespace, cr_name, cr_uid FROM {self.table} WHERE {RECORD_KEY}",  # noqa: S608 - quoted identifier
            (kind, name, host),
            purpose=f"reading the ownership record of {kind} {name!r}",
        )
        if not rows:
            return None
        row = rows[0]
        return OwnerRecord(kind, name, host, Owner(row["cr_namespace"], row["cr_name"], row["cr_uid"]))

    def count_databases(self, namespace: str | None = None) -> int:
        """Databases with a record, all of them or those of MySQLDatabases in one namespace."""
        if not self.present:
            return 0
        where, args = (
            ("kind = 'database'", ())
            if namespace is None
            else ("kind = 'database' AND cr_namespace = %s", (namespace,))
        )
        rows = self.session.rows(
            f"SELECT COUNT(*) AS n FROM {self.table} WHERE {where}",  # noqa: S608 - quoted identifier, constants
            args,
            purpose="counting the databases the operator owns",
        )
        return int(rows[0]["n"])

    def insert(self, record: OwnerRecord) -> None:
        self.session.change(
            f"record {record.owner} as owner of {record.kind} {record.name!r}",
            f"INSERT INTO {self.table} (kind, name, host, cr_namespace, cr_name, cr_uid) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s)",
            record.key + record.owner.values,
        )

    def reassign(self, record: OwnerRecord) -> None:
        owner = record.owner
        self.session.change(
            f"hand {record.kind} {record.name!r} over to {owner} (uid {owner.uid})",
            f"UPDATE {self.table} SET cr_namespace = %s, cr_name = %s, cr_uid = %s WHERE {RECORD_KEY}",  # noqa: S608
            owner.values + record.key,
        )

    def delete(self, record: OwnerRecord) -> None:
        self.session.change(
            f"release the ownership record of {record.kind} {record.name!r}",
            f"DELETE FROM {self.table} WHERE {RECORD_KEY}",  # noqa: S608
            record.key,
        )


def ownership_action(
    label: str, field_hint: str, record: OwnerRecord | None, exists: bool, owner: Owner, adopt: bool
) -> str:
    """What to do about one object: 'ours', 'claim', 'adopt' or 'take_over'; else Conflict/AlreadyExists.

    `label` names the object in messages ("database 'app'"), `field_hint` the spec field that picks
    another name.
    """
    if record is not None:
        if record.owner.uid == owner.uid:
            return "ours"
        same_cr = (record.owner.namespace, record.owner.name) == (owner.namespace, owner.name)
        if same_cr and adopt:
            return "take_over"
        if same_cr:
            raise MySQLDatabaseError(
                "Conflict",
                f"The {label} belongs to an earlier MySQLDatabase {record.owner} (uid {record.owner.uid}) "
                "that was deleted without releasing it; set spec.adoptExisting: true to take it over.",
            )
        raise MySQLDatabaseError(
            "Conflict",
            f"The {label} is owned by MySQLDatabase {record.owner}; set {field_hint} to another name.",
        )
    if not exists:
        return "claim"
    if adopt:
        return "adopt"
    raise MySQLDatabaseError(
        "AlreadyExists",
        f"The {label} already exists on the server and was not created by the operator; set "
        "spec.adoptExisting: true to let this MySQLDatabase manage it.",
    )


# --- the admin account -------------------------------------------------------------------------

# What the operator does itself with its admin account: read the grant tables, write ownership
# records, create and drop databases and users, grant. A grantor must also hold every privilege it
# grants, so the admin needs each database privilege a MySQLDatabase may ask for (PRIVILEGE_COLUMNS).
# Managed services' admins (Amazon RDS's master user, Cloud SQL's cloudsqlsuperuser) hold all of these
# without SUPER; nothing here needs SUPER or any other server-administration privilege.
OPERATOR_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "CREATE USER", "GRANT OPTION")


def required_admin_privileges(flavor: str) -> tuple[str, ...]:
    """Every global privilege the admin account needs on a server of this flavor, in a stable order."""
    handed_out = [name for name in PRIVILEGE_COLUMNS if flavor == "mariadb" or name not in MARIADB_ONLY_PRIVILEGES]
    return tuple(dict.fromkeys([*OPERATOR_PRIVILEGES, *handed_out]))


_QUOTED_NAME = re.compile(r"`((?:[^`]|``)*)`(?:@`((?:[^`]|``)*)`|@'([^']*)')?")
_GLOBAL_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON \*\.\* TO ", re.IGNORECASE)


def parse_global_grant(line: str) -> set[str]:
    """The global privileges one SHOW GRANTS line gives, GRANT OPTION included; empty for others."""
    match = _GLOBAL_GRANT.match(line)
    if not match:
        return set()
    names = {" ".join(part.split()).upper() for part in match.group("privileges").split(",")}
    if ALL_PRIVILEGES in names or "ALL" in names:
        names |= {ALL_PRIVILEGES}
    if " WITH GRANT OPTION" in line.upper():
        names.add("GRANT OPTION")
    return names - {"USAGE"}


def parse_role_grant(line: str) -> list[tuple[str, str]]:
    """Roles one SHOW GRANTS line hands to the account ("GRANT `r` TO ..."): (role, role host)."""
    if not line.upper().startswith("GRANT ") or " ON " in line.upper():
        return []
    granted = line[len("GRANT ") : line.upper().rindex(" TO ")]
    return [
        (name.replace("``", "`"), (host or quoted or "").replace("``", "`"))
        for name, host, quoted in _QUOTED_NAME.findall(granted)
    ]


def parse_current_roles(value: Any, flavor: str) -> list[tuple[str, str]]:
    """CURRENT_ROLE(): MariaDB gives one role name or NULL, MySQL "`r`@`%`,..." or NONE."""
    text = "" if value is None else str(value)
    if not text or text.upper() == "NONE":
        return []
    if flavor == "mariadb":
        return [(text, "")]
    return [(name.replace("``", "`"), (host or quoted or "")) for name, host, quoted in _QUOTED_NAME.findall(text)]


def _grant_lines(session: Session, sql: str, args: tuple[object, ...], purpose: str) -> list[str]:
    return [str(next(iter(row.values()))) for row in session.rows(sql, args, purpose=purpose)]


def _role_grant_lines(session: Session, flavor: str, role: tuple[str, str]) -> list[str]:
    args: tuple[str, ...]
    if flavor == "mariadb":
        sql, args = f"SHOW GRANTS FOR {quote_identifier(role[0])}", ()
    else:
        sql, args = "SHOW GRANTS FOR %s@%s", role
    return _grant_lines(session, sql, args, f"reading the grants of role {role[0]!r}")


def global_privileges_through_roles(
    session: Session, flavor: str, lines: list[str], roles: list[tuple[str, str]]
) -> set[str]:
    """The global privileges the SHOW GRANTS `lines` give, plus those of `roles` and of every role
    those roles hold, as SHOW GRANTS names them (GRANT OPTION included)."""
    held = {name for line in lines for name in parse_global_grant(line)}
    pending, seen = list(roles), set()
    while pending:
        role = pending.pop()
        if role in seen:
            continue
        seen.add(role)
        role_lines = _role_grant_lines(session, flavor, role)
        held |= {name for line in role_lines for name in parse_global_grant(line)}
        pending.extend(new for line in role_lines for new in parse_role_grant(line) if new not in seen)
    return held


def admin_global_privileges(session: Session, flavor: str) -> set[str]:
    """The global privileges the session's account holds, directly or through its active roles
    (and the roles those roles hold), as SHOW GRANTS names them."""
    lines = _grant_lines(session, "SHOW GRANTS FOR CURRENT_USER()", (), "reading the admin account's grants")
    current = session.rows("SELECT CURRENT_ROLE() AS role", purpose="reading the admin account's active role")[0]
    return global_privileges_through_roles(session, flavor, lines, parse_current_roles(current["role"], flavor))


def account_global_privileges(session: Session, flavor: str, user: str, host: str) -> set[str]:
    """The global privileges an account holds directly or through any role granted to it, active or
    not (the account may SET ROLE at any time), and the roles those roles hold."""
    lines = _grant_lines(session, "SHOW GRANTS FOR %s@%s", (user, host), f"reading the grants of {account(user, host)}")
    roles = [role for line in lines for role in parse_role_grant(line)]
    return global_privileges_through_roles(session, flavor, lines, roles)


# Global privileges that let an account administer other accounts or the server itself; ALL PRIVILEGES
# holds CREATE USER and SUPER.
ADMINISTRATIVE_PRIVILEGES = ("GRANT OPTION", "CREATE USER", "SUPER")


def administrative_privileges(session: Session, flavor: str, user: str, host: str) -> list[str]:
    """The administrative global privileges the account holds, directly or through any of its roles."""
    held = account_global_privileges(session, flavor, user, host)
    if ALL_PRIVILEGES in held:
        held |= {"CREATE USER", "SUPER"}
    return [name for name in ADMINISTRATIVE_PRIVILEGES if name in held]


def missing_admin_privileges(held: set[str], flavor: str) -> list[str]:
    """The required privileges `held` lacks; ALL PRIVILEGES covers every one but GRANT OPTION."""
    required = required_admin_privileges(flavor)
    if ALL_PRIVILEGES in held:
        return [name for name in required if name == "GRANT OPTION" and name not in held]
    return [name for name in required if name not in held]


def owned_database_count(session: Session, schema: str) -> int:
    """How many databases carry an ownership record on this server; 0 before the first one."""
    store = OwnerRecords(session, schema)
    store.load()
    return store.count_databases()
