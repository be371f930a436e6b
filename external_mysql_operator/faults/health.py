""" "Healthy", checked from outside the operator, and the orphan scan.

A MySQLDatabase is healthy when it is Ready for its current generation, its Secret's credentials log
in to MariaDB, and that user sees exactly its own database. The server holds an orphan when a
database, user or ownership record is there that no existing MySQLDatabase accounts for.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import pymysql
from kubernetes.client.rest import ApiException

from .crs import TRANSIENT, CrRef, is_current, poll, ready_condition
from .leaks import SecretBook
from .report import Findings
from .stack import FaultStack

log = logging.getLogger(__name__)
METADATA_SCHEMA = "external_mysql_operator"
HIDDEN_DATABASES = frozenset({"information_schema"})


@dataclass
class CrHealth:
    ref: CrRef
    ready: bool = False
    reason: str = ""
    secret: bool = False
    login: bool = False
    own_database_only: bool = False
    password: str = ""
    problem: str = ""

    @property
    def healthy(self) -> bool:
        return self.ready and self.secret and self.login and self.own_database_only

    @property
    def credentials_broken(self) -> bool:
        """A Secret exists but its credentials do not work or see more (or less) than their database."""
        return self.secret and not (self.login and self.own_database_only)


@dataclass(frozen=True)
class ServerObjects:
    databases: frozenset[str]
    users: frozenset[tuple[str, str]]


def _secret_values(secret: Any) -> dict[str, str]:
    return {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in (secret.data or {}).items()}


@dataclass
class HealthChecker:
    stack: FaultStack
    book: SecretBook
    findings: Findings
    baseline: ServerObjects

    @classmethod
    def create(cls, stack: FaultStack, book: SecretBook, findings: Findings) -> HealthChecker:
        """The server's objects before any CR, which are never orphans (a fresh server answers slowly)."""
        baseline = poll(lambda: server_objects(stack), timeout=120, interval=2)
        if baseline is None:
            raise RuntimeError("MariaDB did not answer for 120 s after it started")
        return cls(stack, book, findings, baseline)

    def check(self, ref: CrRef) -> CrHealth:
        health = CrHealth(ref)
        try:
            cr = self.stack.crs.get(ref)
        except TRANSIENT as err:
            health.problem = f"cannot read the CR ({type(err).__name__})"
            return health
        condition = ready_condition(cr)
        health.reason = str(condition.get("reason", ""))
        health.ready = condition.get("status") == "True" and is_current(cr)
        spec = cr.get("spec") or {}
        try:
            secret = self.stack.crs.core.read_namespaced_secret(spec.get("secretName") or ref.name, ref.namespace)
        except ApiException as err:
            health.problem = "Secret missing" if err.status == 404 else f"Secret unreadable ({err.status})"
            return self._finish(health)
        except TRANSIENT as err:
            health.problem = f"Secret unreadable ({type(err).__name__})"
            return self._finish(health)
        health.secret = True
        self._login(health, _secret_values(secret), spec.get("databaseName") or ref.name)
        return self._finish(health)

    def _finish(self, health: CrHealth) -> CrHealth:
        if not health.ready and not health.problem:
            health.problem = f"not Ready ({health.reason or 'no condition'})"
        return health

    def _login(self, health: CrHealth, values: dict[str, str], database: str) -> None:
        health.password = values.get("password", "")
        self.remember_password(health.ref, health.password)
        try:
            conn = pymysql.connect(
                host=values["host"],
                port=int(values["port"]),
                user=values["username"],
                password=values["password"],
                database=values["database"],
                connect_timeout=5,
                read_timeout=15,
            )
        except (pymysql.MySQLError, KeyError, ValueError) as err:
            code = err.args[0] if isinstance(err, pymysql.MySQLError) and err.args else type(err).__name__
            health.problem = f"login with the Secret failed ({code})"
            return
        health.login = True
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW DATABASES")
                visible = {str(row[0]) for row in cur.fetchall()} - HIDDEN_DATABASES
        finally:
            conn.close()
        health.own_database_only = visible == {database}
        if not health.own_database_only:
            health.problem = f"user sees {sorted(visible)}, not exactly [{database!r}]"

    def remember_password(self, ref: CrRef, password: str) -> None:
        if password and password not in self.book.values:
            prefix = f"password of {ref} #"
            self.book.add(f"{prefix}{self.book.labels_for(prefix) + 1}", password)

    def wait_healthy(self, refs: Iterable[CrRef], timeout: float) -> list[CrHealth]:
        """Poll until every CR is healthy or the deadline passes; the last check of each, in order."""
        results = {ref: CrHealth(ref) for ref in refs}
        deadline = time.monotonic() + timeout
        while True:
            for ref, last in results.items():
                if not last.healthy:
                    results[ref] = self.check(ref)
            if all(h.healthy for h in results.values()) or time.monotonic() >= deadline:
                break
            time.sleep(2)
        self.remember_server_hashes()
        return list(results.values())

    def wait_reason(self, refs: Iterable[CrRef], reasons: Collection[str], timeout: float) -> dict[CrRef, str]:
        """Poll until every CR (or MySQLServer) reports Ready=False with one of `reasons`; the last
        reason seen for each."""
        seen = {ref: "" for ref in refs}
        deadline = time.monotonic() + timeout
        while True:
            for ref, last in seen.items():
                if last not in reasons:
                    seen[ref] = self._reason(ref)
            if all(r in reasons for r in seen.values()) or time.monotonic() >= deadline:
                return seen
            time.sleep(1)

    def _reason(self, ref: CrRef) -> str:
        try:
            condition = ready_condition(self.stack.crs.get(ref))
        except TRANSIENT:
            return ""
        return str(condition.get("reason", "")) if condition.get("status") == "False" else "Ready"

    def record(self, healths: Iterable[CrHealth]) -> list[str]:
        """Note broken credentials in the findings; returns one problem line per unhealthy CR."""
        problems = []
        for health in healths:
            if health.credentials_broken:
                self.findings.broken_credentials.add(str(health.ref))
            if not health.healthy:
                problems.append(f"{health.ref}: {health.problem}")
        return problems

    def remember_server_hashes(self) -> None:
        """The password hash of every account the operator made, to find passwords no Secret ever held."""
        try:
            rows = sql_rows(self.stack, "SELECT User, Host, authentication_string FROM mysql.user")
        except TRANSIENT:
            return
        for user, host, native_hash in rows:
            if (str(user), str(host).lower()) not in self.baseline.users:
                self.book.add_hash(f"password of user '{user}'@'{host}' (seen on the server)", str(native_hash or ""))

    def scan_orphans(self) -> list[str]:
        """Databases, users and ownership records no existing MySQLDatabase accounts for."""
        live = {cr["metadata"]["uid"] for cr in self.stack.crs.list_all()}
        now = server_objects(self.stack)
        records = owner_records(self.stack)
        owned = {(kind, name, host) for kind, name, host, uid in records if uid in live}
        orphans = [
            f"owners record of {kind} {name!r} for a deleted MySQLDatabase"
            for kind, name, _h, uid in records
            if uid not in live
        ]
        orphans += [
            f"database {db!r}"
            for db in sorted(now.databases - self.baseline.databases - {METADATA_SCHEMA})
            if ("database", db, "") not in owned
        ]
        orphans += [
            f"user '{user}'@'{host}'"
            for user, host in sorted(now.users - self.baseline.users)
            if ("user", user, host) not in owned
        ]
        self.findings.orphans.update(orphans)
        return orphans


def sql_rows(stack: FaultStack, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = stack.admin_sql()
    try:
        with conn.cursor() as cur:
            cur.execute(query, args or None)
            return [tuple(row) for row in cur.fetchall()]
    finally:
        conn.close()


def server_objects(stack: FaultStack) -> ServerObjects:
    databases = {str(row[0]) for row in sql_rows(stack, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")}
    users = {(str(u), str(h).lower()) for u, h in sql_rows(stack, "SELECT User, Host FROM mysql.user")}
    return ServerObjects(frozenset(databases), frozenset(users))


def owner_records(stack: FaultStack) -> list[tuple[str, str, str, str]]:
    """(kind, name, host, cr_uid) of every ownership record; none before the operator made the table."""
    present = sql_rows(
        stack,
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'owners'",
        (METADATA_SCHEMA,),
    )
    if not present:
        return []
    rows = sql_rows(stack, f"SELECT kind, name, host, cr_uid FROM `{METADATA_SCHEMA}`.owners")  # noqa: S608
    return [(str(k), str(n), str(h), str(u)) for k, n, h, u in rows]
