""" "Healthy", checked from outside the operator, and the orphan scan.

A MySQLDatabase is healthy when it is Ready for its current generation, its Secret's credentials log
in to the server under test (over TLS, verified against the Secret's ca.crt, when the Secret carries one;
a TLS-only server must see an encrypted session), that user sees exactly its own database and holds no
global privilege and no role. The server holds an orphan when a database, user or ownership record is
there that no existing MySQLDatabase accounts for.
"""

from __future__ import annotations

import base64
import logging
import ssl
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import pymysql
from kubernetes.client.rest import ApiException

from ..kube_api import is_ready, ready_condition
from ..localenv.mariadb import query_rows
from .crs import TRANSIENT, CrRef, poll
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
    no_global_privileges: bool = False
    password: str = ""
    problem: str = ""

    @property
    def healthy(self) -> bool:
        return self.ready and self.secret and self.login and self.own_database_only and self.no_global_privileges

    @property
    def credentials_broken(self) -> bool:
        """A Secret exists but its credentials do not work, see more (or less) than their database, or
        hold anything on the whole server."""
        return self.secret and not (self.login and self.own_database_only and self.no_global_privileges)


def global_privileges(user_privileges: Iterable[str], roles: Iterable[str]) -> list[str]:
    """What an application account holds on the whole server, from its own view of
    information_schema.USER_PRIVILEGES (USAGE is no privilege) and APPLICABLE_ROLES (a role may carry any)."""
    held = sorted({str(p).upper() for p in user_privileges} - {"USAGE"})
    return held + [f"role {role}" for role in sorted({str(r) for r in roles})]


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
        health.ready = is_ready(cr)
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
            conn = app_connect(values)
        except (pymysql.MySQLError, KeyError, ValueError, ssl.SSLError) as err:
            code = err.args[0] if isinstance(err, pymysql.MySQLError) and err.args else type(err).__name__
            health.problem = f"login with the Secret failed ({code})"
            return
        try:
            seen = _session_view(conn)
        finally:
            conn.close()
        health.login = bool(seen.cipher) or not self.stack.target.tls_required
        if not health.login:
            health.problem = "the Secret logged in without TLS on a TLS-only server"
            return
        health.own_database_only = seen.databases == {database}
        held = global_privileges(seen.privileges, seen.roles)
        health.no_global_privileges = not held
        if not health.own_database_only:
            health.problem = f"user sees {sorted(seen.databases)}, not exactly [{database!r}]"
        elif held:
            health.problem = f"user holds global privileges: {', '.join(held)}"

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

    def scan_orphans_or_fail(self, where: str) -> list[str] | None:
        """The orphans now; None, with the failure in the findings, when the scan could not run for 60 s
        (a scan that did not run must never read as zero orphans)."""
        found = poll(lambda: ["scanned", *self.scan_orphans()], timeout=60, interval=2)
        if found is None:
            self.findings.orphan_scans_failed.append(where)
            self.findings.errors.append(f"orphan scan after {where} could not run (the server did not answer for 60 s)")
            return None
        return found[1:]

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


@dataclass(frozen=True)
class SessionView:
    cipher: str  # Ssl_cipher of the session; '' without TLS
    databases: set[str]
    privileges: list[str]  # its global privileges as it sees them (information_schema.USER_PRIVILEGES)
    roles: list[str]  # roles granted to it (information_schema.APPLICABLE_ROLES)


def app_connect(values: dict[str, str]) -> pymysql.connections.Connection:
    """Log in as an application would with its Secret: over TLS verified against the Secret's ca.crt when
    it carries one (and the server's name too with sslMode VERIFY_IDENTITY), else plain."""
    context = None
    if values.get("ca.crt"):
        context = ssl.create_default_context(cadata=values["ca.crt"])
        context.check_hostname = values.get("sslMode") == "VERIFY_IDENTITY"
    return pymysql.connect(
        host=values["host"],
        port=int(values["port"]),
        user=values["username"],
        password=values["password"],
        database=values["database"],
        ssl=context,
        connect_timeout=5,
        read_timeout=15,
    )


def _session_view(conn: pymysql.connections.Connection) -> SessionView:
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        row = cur.fetchone()
        cur.execute("SHOW DATABASES")
        databases = {str(r[0]) for r in cur.fetchall()} - HIDDEN_DATABASES
        cur.execute("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES")
        privileges = [str(r[0]) for r in cur.fetchall()]
        cur.execute("SELECT ROLE_NAME FROM information_schema.APPLICABLE_ROLES")
        roles = [str(r[0]) for r in cur.fetchall()]
    return SessionView(str(row[1]) if row else "", databases, privileges, roles)


def sql_rows(stack: FaultStack, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return query_rows(stack.admin_sql(), query, args)


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
