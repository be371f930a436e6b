"""A MariaDB server on loopback, initialised with an admin account the operator uses."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pymysql

from . import process
from .config import Paths, State

ANONYMOUS_HOSTS = ("localhost", "127.0.0.1", "::1", "%")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise process.ProcessError(f"{name} not found: run `make mariadb` (installs Debian's mariadb-server as root)")
    return found


def datadir(paths: Paths) -> Path:
    return paths.state / "mariadb"


def socket_path(paths: Paths) -> Path:
    return paths.state / "mariadb.sock"


def start(paths: Paths, state: State) -> None:
    if process.pid_of(paths, "mariadb"):
        return
    data = datadir(paths)
    fresh = not (data / "mysql").exists()
    if fresh:
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
    process.start(
        paths,
        "mariadb",
        [
            _binary("mariadbd"),
            "--no-defaults",
            f"--datadir={data}",
            f"--port={state.mysql_port}",
            "--bind-address=127.0.0.1",
            f"--socket={socket_path(paths)}",
            f"--pid-file={paths.state / 'mariadb.pid'}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=64M",
            "--max-connections=500",
            # The fault suite kills clients mid-statement; keep lock waits short so they surface quickly.
            "--innodb-lock-wait-timeout=20",
            # TLS offered, not required: MySQLServers choose their mode (spec.tls.mode).
            f"--ssl-ca={paths.pki / 'ca.crt'}",
            f"--ssl-cert={paths.pki / 'mariadb.crt'}",
            f"--ssl-key={paths.pki / 'mariadb.key'}",
            *_user_args(),
        ],
    )
    process.wait_for(
        paths, "mariadb", lambda: socket_path(paths).exists() and process.port_open(state.mysql_port), timeout=60
    )
    if fresh:
        _create_admin(paths, state)


def _user_args() -> list[str]:
    # mariadbd refuses to run as root unless told to; as another user it runs as that user.
    return ["--user=root"] if os.geteuid() == 0 else []


def _create_admin(paths: Paths, state: State) -> None:
    conn = pymysql.connect(unix_socket=str(socket_path(paths)), user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            for host in ANONYMOUS_HOSTS:
                cur.execute("DROP USER IF EXISTS ''@%s", (host,))
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (state.mysql_admin_user, state.mysql_admin_password))
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (state.mysql_admin_user,))
    finally:
        conn.close()


def admin_connect(state: State, **kwargs: object) -> pymysql.connections.Connection:
    return pymysql.connect(
        host="127.0.0.1",
        port=state.mysql_port,
        user=state.mysql_admin_user,
        password=state.mysql_admin_password,
        autocommit=True,
        **kwargs,
    )
