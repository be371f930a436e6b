"""Snapshots of the server's accounts, grants, schemas and ownership records, and their difference."""

from __future__ import annotations

from .health import owner_records, sql_rows
from .stack import FaultStack

Row = tuple[str, ...]
Snapshot = dict[str, frozenset[Row]]

# MariaDB >= 10.4 keeps accounts (password hash, global privileges) in mysql.global_priv.
QUERIES = {
    "mysql.global_priv": "SELECT User, Host, Priv FROM mysql.global_priv",
    "mysql.db": "SELECT * FROM mysql.db",
    "mysql.tables_priv": "SELECT Host, Db, User, Table_name, Table_priv, Column_priv FROM mysql.tables_priv",
    "mysql.columns_priv": "SELECT Host, Db, User, Table_name, Column_name, Column_priv FROM mysql.columns_priv",
    "mysql.procs_priv": "SELECT Host, Db, User, Routine_name, Routine_type, Proc_priv FROM mysql.procs_priv",
    "mysql.roles_mapping": "SELECT Host, User, Role, Admin_option FROM mysql.roles_mapping",
    "mysql.proxies_priv": "SELECT Host, User, Proxied_host, Proxied_user, With_grant FROM mysql.proxies_priv",
    "SCHEMATA": (
        "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA"
    ),
}


def take(stack: FaultStack) -> Snapshot:
    snapshot = {
        table: frozenset(tuple(str(value) for value in row) for row in sql_rows(stack, query))
        for table, query in QUERIES.items()
    }
    snapshot["owners"] = frozenset(owner_records(stack))
    return snapshot


def difference(before: Snapshot, after: Snapshot) -> list[tuple[str, str, Row]]:
    """(table, 'added' | 'removed', row) for every row that differs."""
    changes = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, frozenset()), after.get(table, frozenset())
        changes += [(table, "added", row) for row in sorted(new - old)]
        changes += [(table, "removed", row) for row in sorted(old - new)]
    return changes


def describe(change: tuple[str, str, Row]) -> str:
    """A change named by table and the row's first two columns (names), never its password hash."""
    table, kind, row = change
    return f"{table}: {kind} row {row[:2]}"
