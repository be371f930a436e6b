"""MariaDB servers on loopback: the default one, initialised with an admin account the operator uses,
and the starting and initialising every MariaDB of the local environment shares (hardened.py is the other)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pymysql

from . import process
from .config import Paths, State

NAME = "mariadb"
ANONYMOUS_HOSTS = ("localhost", "127.0.0.1", "::1", "%")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise process.ProcessError(f"{name} not found: run `make mariadb` (installs Debian's mariadb-server as root)")
    return found


def datadir(paths: Paths, name: str = NAME) -> Path:
    return paths.state / name


def socket_path(paths: Paths, name: str = NAME) -> Path:
    return paths.state / f"{name}.sock"


def tls_options(paths: Paths) -> list[str]:
    """The server certificate of the local CA (certs.py), valid for 127.0.0.1 only."""
    return [
        f"--ssl-ca={paths.pki / 'ca.crt'}",
        f"--ssl-cert={paths.pki / 'mariadb.crt'}",
        f"--ssl-key={paths.pki / 'mariadb.key'}",
    ]


def start(paths: Paths, state: State) -> None:
    options = [
        "--max-connections=500",
        # The fault suite kills clients mid-statement; keep lock waits short so they surface quickly.
        "--innodb-lock-wait-timeout=20",
        # TLS offered, not required: MySQLServers choose their mode (spec.tls.mode).
        *tls_options(paths),
    ]
    if start_server(paths, NAME, state.mysql_port, options):
        _create_admin(paths, state)


def start_server(paths: Paths, name: str, port: int, options: Sequence[str], first_start: Sequence[str] = ()) -> bool:
    """Start the MariaDB `name` (component, datadir, socket and pid file named after it) on `port` with
    `options`, initialising its datadir first when it has none, and then adding `first_start`; True when
    it was initialised now. A running one is left alone."""
    if process.pid_of(paths, name):
        return False
    fresh = _initialise(datadir(paths, name))
    process.start(
        paths,
        name,
        [
            _binary("mariadbd"),
            "--no-defaults",
            f"--datadir={datadir(paths, name)}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={socket_path(paths, name)}",
            f"--pid-file={paths.state / f'{name}.pid'}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=64M",
            *options,
            *(first_start if fresh else ()),
            *_user_args(),
        ],
    )
    process.wait_for(paths, name, lambda: socket_path(paths, name).exists() and process.port_open(port), timeout=60)
    return fresh


def _initialise(data: Path) -> bool:
    """Create the system tables in `data` unless they exist; True when it did."""
    if (data / "mysql").exists():
        return False
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            _binary("mariadb-install-db"),
            "--no-defaults",
            f"--datadir={data}",
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
            *_user_args(),
        ],
        check=True,
        capture_output=True,
    )
    return True


def _user_args() -> list[str]:
    # mariadbd refuses to run as root unless told to; as another user it runs as that user.
    return ["--user=root"] if os.geteuid() == 0 else []


def root_connect(paths: Paths, name: str = NAME) -> pymysql.connections.Connection:
    """root over the server's Unix socket, where mariadb-install-db gives it no password."""
    return pymysql.connect(unix_socket=str(socket_path(paths, name)), user="root", autocommit=True)


def query_rows(conn: pymysql.connections.Connection, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on `conn`, close it and return the rows."""
    try:
        with conn.cursor() as cur:
            cur.execute(query, args or None)
            return [tuple(row) for row in cur.fetchall()]
    finally:
        conn.close()


def _create_admin(paths: Paths, state: State) -> None:
    conn = root_connect(paths)
    try:
        with conn.cursor() as cur:
            for host in ANONYMOUS_HOSTS:
                cur.execute("DROP USER IF EXISTS ''@%s", (host,))
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (state.mysql_admin_user, state.mysql_admin_password))
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (state.mysql_admin_user,))
    finally:
        conn.close()


def admin_connect(state: State, **kwargs: Any) -> pymysql.connections.Connection:
    return pymysql.connect(
        host="127.0.0.1",
        port=state.mysql_port,
        user=state.mysql_admin_user,
        password=state.mysql_admin_password,
        autocommit=True,
        **kwargs,
    )
