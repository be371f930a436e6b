"""Helpers shared by the end-to-end tests: the stack handle, the operator process, polling."""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql
from kubernetes import client
from kubernetes.client.rest import ApiException

from external_mysql_operator.localenv import cluster, hardened
from external_mysql_operator.localenv import mariadb as localenv_mariadb
from external_mysql_operator.localenv.config import OPERATOR_NAMESPACE, Paths, State

GROUP, VERSION, PLURAL = "piwik.pro", "v1", "mysqldatabases"


@dataclass
class Stack:
    paths: Paths
    state: State
    api: client.ApiClient

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def admin_sql(self, database: str | None = None) -> pymysql.connections.Connection:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.state.mysql_port,
            user=self.state.mysql_admin_user,
            password=self.state.mysql_admin_password,
            database=database,
            autocommit=True,
        )

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


def ready_condition(cr: dict[str, Any]) -> dict[str, Any]:
    for condition in (cr.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return {}


def wait_ready(stack: Stack, namespace: str, name: str, timeout: float = 240) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        cr = get_cr(stack, namespace, name)
        condition = ready_condition(cr)
        generation_seen = (cr.get("status") or {}).get("observedGeneration") == cr["metadata"]["generation"]
        return cr if condition.get("status") == "True" and generation_seen else None

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
    conn = stack.admin_sql()
    try:
        with conn.cursor() as cur:
            cur.execute(query, args or None)
            return list(cur.fetchall())
    finally:
        conn.close()


def database_exists(stack: Stack, name: str) -> bool:
    return bool(sql_rows(stack, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (name,)))


def user_exists(stack: Stack, name: str, host: str = "%") -> bool:
    return bool(sql_rows(stack, "SELECT 1 FROM mysql.user WHERE User=%s AND Host=%s", (name, host)))


def app_login(stack: Stack, values: dict[str, str]) -> pymysql.connections.Connection:
    """Log in exactly as an application would, with the Secret's credentials (port from the Secret)."""
    return pymysql.connect(
        host=values["host"],
        port=int(values["port"]),
        user=values["username"],
        password=values["password"],
        database=values["database"],
        autocommit=True,
    )


# --- MySQLServer -------------------------------------------------------------------------------

SERVER_PLURAL = "mysqlservers"


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
    """Wait until the server's Ready condition has `reason` for its current generation; returns the object."""

    def has_reason() -> dict[str, Any] | None:
        server = get_server(stack, name)
        condition = ready_condition(server)
        current = (server.get("status") or {}).get("observedGeneration") == server["metadata"]["generation"]
        return server if current and condition.get("reason") == reason else None

    return wait_until(has_reason, timeout, f"MySQLServer {name} to report {reason}")


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


# --- the hardened MariaDB (external_mysql_operator/localenv/hardened.py) ------------------------


def hardened_rows(stack: Stack, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run a statement on the hardened server as root over its Unix socket, as its DBA would (the
    operator's own admin there has no SUPER)."""
    conn = localenv_mariadb.root_connect(stack.paths, hardened.NAME)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args or None)
            return list(cur.fetchall())
    finally:
        conn.close()


def tls_login(values: dict[str, str], password: str | None = None) -> pymysql.connections.Connection:
    """Log in as an application on a TLS-only server does: the Secret's credentials (or `password`) over
    TLS, verifying the server against the Secret's ca.crt, and with sslMode VERIFY_IDENTITY its name too."""
    context = ssl.create_default_context(cadata=values["ca.crt"])
    context.check_hostname = values.get("sslMode") == "VERIFY_IDENTITY"
    return pymysql.connect(
        host=values["host"],
        port=int(values["port"]),
        user=values["username"],
        password=values["password"] if password is None else password,
        database=values["database"],
        ssl=context,
        autocommit=True,
    )
