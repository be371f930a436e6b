"""A throwaway MariaDB for the module tests: started once per session, stopped by PID at the end.

It listens on 127.0.0.1 on a free port with TLS (a CA made here, a certificate valid for the IP
address 127.0.0.1 only, not for the name localhost), has an admin user with ALL PRIVILEGES WITH GRANT
OPTION and no anonymous accounts. Tests use names unique to them, so they never see each other's
objects. `secure_transport_required` switches the server to TLS-only for one test; `no_tls_server`
is a stand-in for a server that offers no TLS at all.

The Kubernetes modules' tests run against `api`, the fake API server of secrets_api.py.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pymysql.cursors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.unit.plugins.modules.secrets_api import SecretsApi, serving

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-Pa55-" + uuid.uuid4().hex[:8]
START_DEADLINE_SECONDS = 60


@dataclass(frozen=True)
class MariaDB:
    host: str
    port: int
    socket: Path
    ca_cert: str
    other_ca_cert: str

    def admin(self) -> pymysql.Connection:
        """An admin connection for arranging and asserting, outside the module under test."""
        return self.connect(ADMIN_USER, ADMIN_PASSWORD)

    def connect(self, user: str, password: str, database: str | None = None) -> pymysql.Connection:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=user.encode("utf-8"),
            password=password.encode("utf-8"),
            database=database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
            cursorclass=pymysql.cursors.DictCursor,
        )

    def query(self, sql: str, args: tuple = ()) -> list[dict]:
        with self.admin() as conn, conn.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())

    def login_params(self) -> dict:
        return {
            "login_host": self.host,
            "login_port": self.port,
            "login_user": ADMIN_USER,
            "login_password": ADMIN_PASSWORD,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _certificate(subject: str, key, issuer: x509.Name | None, issuer_key, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _make_tls(folder: Path) -> tuple[str, str]:
    """Write a CA and a server certificate for 127.0.0.1; return the CA and an unrelated CA (PEM)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("unit-test CA", ca_key, None, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", server_key, ca.subject, ca_key, ca=False)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _certificate("unrelated CA", other_key, None, other_key, ca=True)
    (folder / "ca.pem").write_text(_pem(ca))
    (folder / "server.pem").write_text(_pem(server))
    (folder / "server-key.pem").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return _pem(ca), _pem(other)


def _server_args(folder: Path, port: int) -> list[str]:
    args = [
        MARIADBD,
        "--no-defaults",
        f"--datadir={folder / 'data'}",
        f"--socket={folder / 'sock'}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--pid-file={folder / 'mariadbd.pid'}",
        f"--log-error={folder / 'error.log'}",
        f"--tmpdir={folder}",
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=64M",
        # For accounts whose password a test sets with IDENTIFIED VIA ed25519.
        "--plugin-load-add=auth_ed25519",
        f"--ssl-ca={folder / 'ca.pem'}",
        f"--ssl-cert={folder / 'server.pem'}",
        f"--ssl-key={folder / 'server-key.pem'}",
    ]
    if os.geteuid() == 0:
        args.append("--user=root")  # mariadbd refuses to run as root without it
    return args


def _wait_ready(proc: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (folder / "error.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"mariadbd exited with {proc.returncode}:\n{log}")
        try:
            pymysql.connect(unix_socket=str(folder / "sock"), user="root", connect_timeout=1).close()
            return
        except pymysql.MySQLError as exc:
            last_error = exc
            time.sleep(0.2)
    pytest.fail(f"mariadbd did not accept connections within {START_DEADLINE_SECONDS} s: {last_error}")


def _bootstrap(folder: Path) -> None:
    """Admin user over TCP, no anonymous users that would shadow it."""
    root = pymysql.connect(unix_socket=str(folder / "sock"), user="root", autocommit=True)
    with root, root.cursor() as cursor:
        cursor.execute("DELETE FROM mysql.global_priv WHERE User = ''")
        cursor.execute("FLUSH PRIVILEGES")
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (ADMIN_USER, ADMIN_PASSWORD))
        cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (ADMIN_USER,))


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    if not (os.access(MARIADBD, os.X_OK) and os.access(INSTALL_DB, os.X_OK)):
        # Never a skip: these are the SQL module's real tests, and a green run without them proves nothing.
        pytest.fail(f"MariaDB ({MARIADBD}, {INSTALL_DB}) is not installed: run `make mariadb` (needs root)")
    folder = tmp_path_factory.mktemp("mariadb")
    ca_cert, other_ca_cert = _make_tls(folder)
    install = [
        INSTALL_DB,
        "--no-defaults",
        f"--datadir={folder / 'data'}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
    ]
    if os.geteuid() == 0:
        install.append("--user=root")
    subprocess.run(install, check=True, capture_output=True, timeout=120)
    port = _free_port()
    with open(folder / "stdout.log", "wb") as log:
        proc = subprocess.Popen(_server_args(folder, port), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, folder)
        _bootstrap(folder)
        yield MariaDB("127.0.0.1", port, folder / "sock", ca_cert, other_ca_cert)
    finally:
        _stop(proc)


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names unique to this test: unique('db') -> 'db_3f9a1c2b'."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}_{token}"


@pytest.fixture
def params(mariadb: MariaDB, unique: Callable[[str], str]) -> dict:
    """Options of a present run for a fresh database and user owned by a fresh CR."""
    return {
        **mariadb.login_params(),
        "state": "present",
        "database": unique("db"),
        "username": unique("u"),
        "password": "Pw-" + uuid.uuid4().hex,
        "owner_namespace": "team-a",
        "owner_name": unique("app"),
        "owner_uid": str(uuid.uuid4()),
        "metadata_schema": "external_mysql_operator",
    }


@pytest.fixture
def secure_transport_required(mariadb: MariaDB) -> Iterator[None]:
    """The server accepts only TLS connections during the test (MariaDB sets this at runtime).

    The arranging connections of `MariaDB.connect` negotiate TLS whenever the server offers it, so
    they keep working; switched back off whatever the test did, so no other test sees it.
    """
    mariadb.query("SET GLOBAL require_secure_transport = ON")
    try:
        yield
    finally:
        mariadb.query("SET GLOBAL require_secure_transport = OFF")


# Protocol 41, secure connection, plugin auth and long password, but no CLIENT_SSL (0x800).
_NO_TLS_CAPABILITIES = 0x0008_8201


def _handshake_without_tls() -> bytes:
    """The MySQL protocol-10 greeting of a server built without TLS, as one packet (sequence 0)."""
    payload = (
        b"\x0a5.7.44-no-tls\x00"
        + struct.pack("<I", 1)
        + b"abcdefgh\x00"
        + struct.pack("<HBHHB", _NO_TLS_CAPABILITIES & 0xFFFF, 33, 2, _NO_TLS_CAPABILITIES >> 16, 21)
        + b"\x00" * 10
        + b"ijklmnopqrst\x00mysql_native_password\x00"
    )
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


@pytest.fixture
def no_tls_server() -> Iterator[int]:
    """The port of a listener that greets every client as a MySQL server without TLS, then hangs up
    when the client does; no MariaDB build here lacks TLS, and only the greeting matters to a client
    that requires TLS."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client:
                client.sendall(_handshake_without_tls())
                client.settimeout(5)
                with contextlib.suppress(OSError):
                    while client.recv(4096):
                        pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def password_policies(mariadb: MariaDB) -> Iterator[None]:
    """MariaDB's password validation plugins simple_password_check and password_reuse_check loaded at
    their defaults during the test, as on the hardened profile: every password needs a digit, letters of
    both cases and another character, and none may be set again for the same account (the reuse history
    outlives DROP USER). Unloaded afterwards, so that no other test sees them."""
    mariadb.query("INSTALL SONAME 'simple_password_check'")
    mariadb.query("INSTALL SONAME 'password_reuse_check'")
    try:
        yield
    finally:
        mariadb.query("UNINSTALL SONAME 'password_reuse_check'")
        mariadb.query("UNINSTALL SONAME 'simple_password_check'")


@pytest.fixture
def api() -> Iterator[SecretsApi]:
    with serving() as server:
        yield server
