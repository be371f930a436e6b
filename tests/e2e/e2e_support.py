"""Helpers shared by the end-to-end tests: the stack handle, the operator process, polling."""

from __future__ import annotations

import base64
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
from kubernetes import client
from kubernetes.client.rest import ApiException

from external_mysql_operator.localenv import cluster, operator, process
from external_mysql_operator.localenv.config import REPO_ROOT, Paths, State

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


@dataclass
class Operator:
    paths: Paths
    name: str = "ansible-operator"

    @property
    def log(self) -> Path:
        return self.paths.logs / f"{self.name}.log"

    def start(self, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        operator.check_fixed_ports()
        health = process.free_port()
        run_env = operator.operator_env(self.paths, str(self.paths.kubeconfig))
        run_env.update(extra_env or {})
        argv = operator.operator_args(
            self.paths,
            str(REPO_ROOT / "watches.yaml"),
            [f"--health-probe-bind-address=127.0.0.1:{health}", "--metrics-bind-address=0", *args],
        )
        process.start(self.paths, self.name, argv, env=run_env)
        process.wait_for(self.paths, self.name, lambda: _http_ok(f"http://127.0.0.1:{health}/readyz"), timeout=60)

    def stop(self) -> None:
        process.stop(self.paths, self.name)
        # The fixed ports must be free again before the next start.
        wait_until(lambda: _ports_free(), 30, "ansible-operator's ports 8888/5050 to be released")


def _ports_free() -> bool:
    try:
        operator.check_fixed_ports()
    except operator.PortsTaken:
        return False
    return True


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL we built
            return response.status == 200
    except OSError:
        return False


def secret_values(stack: Stack, namespace: str, name: str) -> dict[str, str]:
    secret = stack.core.read_namespaced_secret(name, namespace)
    return {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}
