"""Helpers shared by the end-to-end tests: the stack handle, the MySQL servers the product tests run on,
the operator process, polling."""

from __future__ import annotations

import base64
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
from kubernetes import client
from kubernetes.client.rest import ApiException

from testbed.kube_api import GROUP, PLURAL, SERVER_PLURAL, VERSION, ApiClients, is_current, is_ready, ready_condition
from testbed.localenv import cluster, hardened
from testbed.localenv import mariadb as localenv_mariadb
from testbed.localenv.config import OPERATOR_NAMESPACE, Paths, State


@dataclass
class Stack(ApiClients):
    paths: Paths
    state: State
    api: client.ApiClient

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> Any:
        return cluster.kubectl(self.paths, *args, stdin=stdin, check=check)


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` and the last value or error."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (ApiException, pymysql.MySQLError, KeyError, IndexError) as err:
            last = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")


def secret_values(stack: Stack, namespace: str, name: str) -> dict[str, str]:
    secret = stack.core.read_namespaced_secret(name, namespace)
    return {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}


def create_cr(
    stack: Stack,
    namespace: str,
    name: str,
    spec: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MySQLDatabase",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": spec or {},
    }
    return stack.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)


def get_cr(stack: Stack, namespace: str, name: str) -> dict[str, Any]:
    return stack.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


def patch_cr(stack: Stack, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    return stack.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch)


def wait_ready(stack: Stack, namespace: str, name: str, timeout: float = 240) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        cr = get_cr(stack, namespace, name)
        return cr if is_ready(cr) else None

    return wait_until(ready, timeout, f"MySQLDatabase {namespace}/{name} to become Ready")


def wait_reason(stack: Stack, namespace: str, name: str, reason: str, timeout: float = 240) -> dict[str, Any]:
    """Wait for Ready=False with `reason`; returns the condition."""

    def has_reason() -> dict[str, Any] | None:
        condition = ready_condition(get_cr(stack, namespace, name))
        return condition if condition.get("status") == "False" and condition.get("reason") == reason else None

    return wait_until(has_reason, timeout, f"MySQLDatabase {namespace}/{name} to report Ready=False/{reason}")


def wait_gone(stack: Stack, namespace: str, name: str, timeout: float = 240) -> None:
    def gone() -> bool:
        try:
            get_cr(stack, namespace, name)
        except ApiException as err:
            return err.status == 404
        return False

    wait_until(gone, timeout, f"MySQLDatabase {namespace}/{name} to be deleted (finalizer done)")


def events_for(stack: Stack, namespace: str, name: str) -> list[client.CoreV1Event]:
    events = stack.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [e for e in events if e.involved_object.kind == "MySQLDatabase"]


def sql_rows(stack: Stack, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A statement on the default local MariaDB, as its (all-privileged) admin."""
    return default_profile(stack).rows(query, args)


def database_exists(stack: Stack, name: str) -> bool:
    return default_profile(stack).database_exists(name)


def user_exists(stack: Stack, name: str, host: str = "%") -> bool:
    return default_profile(stack).user_exists(name, host)


# The --ssl-mode spelling of each MySQLServer spec.tls.mode: what application Secrets carry as sslMode.
SSL_MODES = {"Disabled": None, "Required": "REQUIRED", "VerifyCA": "VERIFY_CA", "VerifyIdentity": "VERIFY_IDENTITY"}


def tls_context(ssl_mode: str | None, ca_pem: str | None = None) -> ssl.SSLContext | None:
    """The TLS of a MySQL client started with --ssl-mode=`ssl_mode`; None for DISABLED (and no mode at all),
    which callers pass on as PyMySQL's ssl_disabled: unless told, PyMySQL 2 prefers TLS when offered."""
    if ssl_mode in (None, "DISABLED"):
        return None
    if ssl_mode == "REQUIRED":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cadata=ca_pem)
    context.check_hostname = ssl_mode == "VERIFY_IDENTITY"
    return context


def app_login(stack: Stack, values: Mapping[str, str], password: str | None = None) -> pymysql.connections.Connection:
    """Log in exactly as an application would, with the Secret's credentials (or `password`): its host and
    port, and TLS as its sslMode and ca.crt say."""
    context = tls_context(values.get("sslMode"), values.get("ca.crt"))
    return pymysql.connect(
        host=values["host"],
        port=int(values["port"]),
        user=values["username"],
        password=values["password"] if password is None else password,
        database=values["database"],
        ssl=context,
        ssl_disabled=context is None,
        autocommit=True,
    )


def secret_that_logs_in(stack: Stack, namespace: str, name: str) -> dict[str, str]:
    """The Secret's values once they log in (raises, for wait_until, while they do not)."""
    values = secret_values(stack, namespace, name)
    app_login(stack, values).close()
    return values


# --- the MySQL servers the product tests run on (conftest.py's `mysql_server`) -----------------


@dataclass(frozen=True)
class ServerProfile:
    """A MySQL server with its MySQLServer `name`, and how the tests reach it themselves: as the same admin
    account the operator uses, with the TLS mode of its MySQLServer."""

    name: str
    host: str
    port: int
    admin_user: str
    admin_password: str = field(repr=False)
    tls_mode: str = "Disabled"
    ca_pem: str | None = field(default=None, repr=False)
    # Whether the server refuses a recreated user's old password (MariaDB's password_reuse_check); None
    # when the tests cannot know (a server of the user's own).
    refuses_reused_passwords: bool | None = False

    @property
    def ssl_mode(self) -> str | None:
        """The sslMode application Secrets carry (None: they have no such key)."""
        return SSL_MODES[self.tls_mode]

    def spec(self, **spec: Any) -> dict[str, Any]:
        """A MySQLDatabase spec on this server that drops what it created when deleted, so tests leave
        nothing behind on a server that outlives the session."""
        return {"serverRef": {"name": self.name}, "deletionPolicy": "Delete", **spec}

    def admin_sql(self) -> pymysql.connections.Connection:
        context = tls_context(self.ssl_mode, self.ca_pem)
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.admin_user,
            password=self.admin_password,
            ssl=context,
            ssl_disabled=context is None,
            autocommit=True,
        )

    def rows(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return localenv_mariadb.query_rows(self.admin_sql(), query, args)

    def database_exists(self, name: str) -> bool:
        return bool(self.rows("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (name,)))

    def user_exists(self, name: str, host: str = "%") -> bool:
        return bool(self.rows("SELECT 1 FROM mysql.user WHERE User=%s AND Host=%s", (name, host)))

    def grants(self, user: str, host: str = "%") -> list[str]:
        """SHOW GRANTS of the account, sorted, without the password hash MariaDB prints in it."""
        return sorted(without_password(row[0]) for row in self.rows("SHOW GRANTS FOR %s@%s", (user, host)))


def without_password(grant: str) -> str:
    return re.sub(r" IDENTIFIED (BY|VIA|WITH) .*", "", grant)


def local_profile(stack: Stack, server: dict[str, Any], user: str, password: str, **extra: Any) -> ServerProfile:
    """The profile of a MySQLServer manifest of the local environment (localenv cluster.py)."""
    spec = server["spec"]
    tls = spec.get("tls") or {}
    ca = (stack.paths.pki / "ca.crt").read_text() if tls.get("caSecretRef") else None
    return ServerProfile(
        server["metadata"]["name"], spec["host"], spec["port"], user, password, tls.get("mode", "Disabled"), ca, **extra
    )


def default_profile(stack: Stack) -> ServerProfile:
    """The default local MariaDB: plain TCP, an admin holding every privilege."""
    state = stack.state
    return local_profile(stack, cluster.default_server(state), state.mysql_admin_user, state.mysql_admin_password)


def hardened_profile(stack: Stack) -> ServerProfile:
    """The hardened local MariaDB (localenv hardened.py): TLS only, password policies, a role-based admin."""
    state = stack.state
    return local_profile(
        stack,
        cluster.hardened_server(state),
        state.mysql_hardened_admin_user,
        state.mysql_hardened_admin_password,
        refuses_reused_passwords=True,
    )


# A server of the user's own (conftest.py, `make test-e2e MYSQL_HOST=...`): its MySQLServer and Secrets.
EXTERNAL_SERVER = "external"
EXTERNAL_SECRET = "e2e-mysql-server-external"
EXTERNAL_CA_SECRET = "e2e-mysql-ca-external"
# Required encrypts without verifying: what MySQL 8 and managed services offer out of the box, and the
# admin password never crosses the network in clear text. Disabled for a server without TLS.
EXTERNAL_DEFAULT_TLS_MODE = "Required"


def external_profile(environ: Mapping[str, str]) -> ServerProfile | None:
    """The server named by E2E_MYSQL_HOST, E2E_MYSQL_PORT (3306), E2E_MYSQL_ADMIN_USER,
    E2E_MYSQL_ADMIN_PASSWORD, E2E_MYSQL_TLS_MODE (Required) and E2E_MYSQL_CA_FILE (for VerifyCA and
    VerifyIdentity); None when E2E_MYSQL_HOST is unset or empty."""
    host = environ.get("E2E_MYSQL_HOST", "")
    if not host:
        return None
    mode = environ.get("E2E_MYSQL_TLS_MODE") or EXTERNAL_DEFAULT_TLS_MODE
    if mode not in SSL_MODES:
        raise ValueError(f"E2E_MYSQL_TLS_MODE={mode!r}: use one of {', '.join(SSL_MODES)}")
    ca_file = environ.get("E2E_MYSQL_CA_FILE", "")
    if mode.startswith("Verify") and not ca_file:
        raise ValueError(f"E2E_MYSQL_TLS_MODE={mode} needs E2E_MYSQL_CA_FILE, the PEM CA of the server's certificate")
    missing = [key for key in ("E2E_MYSQL_ADMIN_USER", "E2E_MYSQL_ADMIN_PASSWORD") if not environ.get(key)]
    if missing:
        raise ValueError(
            f"E2E_MYSQL_HOST is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not"
        )
    return ServerProfile(
        EXTERNAL_SERVER,
        host,
        int(environ.get("E2E_MYSQL_PORT") or 3306),
        environ["E2E_MYSQL_ADMIN_USER"],
        environ["E2E_MYSQL_ADMIN_PASSWORD"],
        mode,
        Path(ca_file).read_text() if ca_file else None,
        refuses_reused_passwords=None,
    )


def external_server_spec(profile: ServerProfile) -> dict[str, Any]:
    """The MySQLServer spec of an external profile, with its credentials (and CA) Secret."""
    tls: dict[str, Any] = {"mode": profile.tls_mode}
    if profile.ca_pem:
        tls["caSecretRef"] = {"name": EXTERNAL_CA_SECRET, "key": "ca.crt"}
    return {"host": profile.host, "port": profile.port, "credentialsSecretRef": {"name": EXTERNAL_SECRET}, "tls": tls}


# --- MySQLServer -------------------------------------------------------------------------------


def server_spec(stack: Stack, credentials: str = "mysql-server-default", **overrides: Any) -> dict[str, Any]:
    """A MySQLServer spec for the local MariaDB, with `overrides` on top."""
    return {
        "host": "127.0.0.1",
        "port": stack.state.mysql_port,
        "credentialsSecretRef": {"name": credentials},
        **overrides,
    }


def create_server(stack: Stack, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "MySQLServer", "metadata": {"name": name}, "spec": spec}
    return stack.custom.create_cluster_custom_object(GROUP, VERSION, SERVER_PLURAL, body)


def get_server(stack: Stack, name: str) -> dict[str, Any]:
    return stack.custom.get_cluster_custom_object(GROUP, VERSION, SERVER_PLURAL, name)


def patch_server(stack: Stack, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    return stack.custom.patch_cluster_custom_object(GROUP, VERSION, SERVER_PLURAL, name, patch)


def delete_server(stack: Stack, name: str, wait: bool = True) -> None:
    """Delete a MySQLServer; with `wait`, until its finalizer let it go."""
    try:
        stack.custom.delete_cluster_custom_object(GROUP, VERSION, SERVER_PLURAL, name)
    except ApiException as err:
        if err.status != 404:
            raise
    if wait:

        def gone() -> bool:
            try:
                get_server(stack, name)
            except ApiException as err:
                return err.status == 404
            return False

        wait_until(gone, 180, f"MySQLServer {name} to be deleted")


def wait_server(stack: Stack, name: str, reason: str = "Connected", timeout: float = 180) -> dict[str, Any]:
    """Wait until the server's Ready condition has `reason` for its current generation; returns the object.
    A timeout names the condition last seen (its message never holds a password)."""
    seen: dict[str, Any] = {}

    def has_reason() -> dict[str, Any] | None:
        server = get_server(stack, name)
        condition = ready_condition(server)
        seen.update(reason=condition.get("reason"), message=condition.get("message"))
        return server if is_current(server) and condition.get("reason") == reason else None

    try:
        return wait_until(has_reason, timeout, f"MySQLServer {name} to report {reason}")
    except AssertionError as err:
        raise AssertionError(f"{err}; its Ready condition: {seen}") from None


def put_secret(stack: Stack, name: str, values: dict[str, str], namespace: str = OPERATOR_NAMESPACE) -> None:
    """Create or replace a Secret with these string values."""
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=values)
    try:
        stack.core.create_namespaced_secret(namespace, body)
    except ApiException as err:
        if err.status != 409:
            raise
        stack.core.replace_namespaced_secret(name, namespace, body)


def admin_credentials(stack: Stack, **overrides: str) -> dict[str, str]:
    return {"username": stack.state.mysql_admin_user, "password": stack.state.mysql_admin_password, **overrides}


# --- the hardened MariaDB (testbed/localenv/hardened.py) ------------------------


def hardened_rows(stack: Stack, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run a statement on the hardened server as root over its Unix socket, as its DBA would (the
    operator's own admin there has no SUPER)."""
    return localenv_mariadb.query_rows(localenv_mariadb.root_connect(stack.paths, hardened.NAME), query, args)
