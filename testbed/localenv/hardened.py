"""The hardened MariaDB: a second server beside the default one, configured as production servers and
managed services are.

- `simple_password_check` and `password_reuse_check` loaded at their defaults: every password needs a
  digit, letters of both cases and another character, and none may be set again for the same account;
- `require_secure_transport=ON`, with the local CA's server certificate (valid for 127.0.0.1 only);
- `default_password_lifetime` set, so the accounts the operator creates expire like real ones;
- `auth_ed25519` loaded, so accounts may use MariaDB's ed25519 authentication;
- an admin account without SUPER and without global ALL PRIVILEGES: only the privileges Amazon RDS
  documents for its master user, WITH GRANT OPTION, all through a role set as its default role.
"""

from __future__ import annotations

import secrets

from . import mariadb
from .config import Paths, State

NAME = "mariadb-hardened"
ADMIN_ROLE = "operator_admin_role"
PASSWORD_LIFETIME_DAYS = 90
# What Amazon RDS grants its master user on MySQL and MariaDB (no SUPER), plus MariaDB's DELETE HISTORY.
RDS_MASTER_PRIVILEGES = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "RELOAD",
    "PROCESS",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "SHOW DATABASES",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "REPLICATION SLAVE",
    "REPLICATION CLIENT",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "CREATE USER",
    "EVENT",
    "TRIGGER",
    "DELETE HISTORY",
)


def options(paths: Paths) -> list[str]:
    return [
        "--max-connections=200",
        "--plugin-load-add=simple_password_check",
        "--plugin-load-add=password_reuse_check",
        # So that a DBA (and the tests) can move an account to ed25519, as hardened servers do.
        "--plugin-load-add=auth_ed25519",
        "--require-secure-transport=ON",
        f"--default-password-lifetime={PASSWORD_LIFETIME_DAYS}",
        *mariadb.tls_options(paths),
    ]


def first_start_options(paths: Paths) -> list[str]:
    """mariadb-install-db leaves root@localhost without a password change date, which the password
    lifetime reads as long expired: exempt it (at start-up, before anyone logs in) so that the set-up
    below, over the Unix socket, may run statements."""
    init = paths.state / f"{NAME}-init.sql"
    init.write_text("ALTER USER 'root'@'localhost' PASSWORD EXPIRE NEVER;\n")
    return [f"--init-file={init}"]


def start(paths: Paths, state: State) -> None:
    if mariadb.start_server(paths, NAME, state.mysql_hardened_port, options(paths), first_start_options(paths)):
        _create_admin(paths, state)


def new_admin_password() -> str:
    """A password simple_password_check accepts at its defaults (a digit, both cases, another character)."""
    return "Hx7-" + secrets.token_urlsafe(24)


def admin_statements(state: State) -> list[tuple[str, tuple[str, ...]]]:
    """The set-up after the first start: no accounts but root over the socket (mariadb-install-db adds
    anonymous ones and a password-less root for TCP), then the admin with its role as default role.
    The admin's password never expires (service accounts are exempted); application users' passwords do."""
    user, role = state.mysql_hardened_admin_user, ADMIN_ROLE
    return [
        ("DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost')", ()),
        ("FLUSH PRIVILEGES", ()),
        (f"CREATE ROLE `{role}`", ()),
        (f"GRANT {', '.join(RDS_MASTER_PRIVILEGES)} ON *.* TO `{role}` WITH GRANT OPTION", ()),
        ("CREATE USER %s@'%%' IDENTIFIED BY %s PASSWORD EXPIRE NEVER", (user, state.mysql_hardened_admin_password)),
        (f"GRANT `{role}` TO %s@'%%'", (user,)),
        (f"SET DEFAULT ROLE `{role}` FOR %s@'%%'", (user,)),
    ]


def _create_admin(paths: Paths, state: State) -> None:
    conn = mariadb.root_connect(paths, NAME)
    try:
        with conn.cursor() as cur:
            for sql, args in admin_statements(state):
                cur.execute(sql, args or None)
    finally:
        conn.close()
