"""Certificates and keys for the local control plane, made with openssl."""

from __future__ import annotations

import subprocess
from pathlib import Path

OPENSSL = "openssl"


def _openssl(*args: str) -> None:
    subprocess.run([OPENSSL, *args], check=True, capture_output=True)


def ensure_pki(pki: Path) -> None:
    """A CA, serving certificates of the API server and of MariaDB signed by it, and a service-account key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = pki / "ca.key", pki / "ca.crt"
    if not ca_crt.exists():
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(ca_key),
            "-out",
            str(ca_crt),
            "-days",
            "3650",
            "-subj",
            "/CN=external-mysql-operator-localenv-ca",
        )
    _serving_cert(
        pki,
        "apiserver",
        "/CN=kube-apiserver",
        "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1",
    )
    # 127.0.0.1 only: connecting as "localhost" with VerifyIdentity fails, which the TLS tests rely on.
    _serving_cert(pki, "mariadb", "/CN=mariadb-localenv", "IP:127.0.0.1")
    sa_key, sa_pub = pki / "sa.key", pki / "sa.pub"
    if not sa_pub.exists():
        _openssl("genrsa", "-out", str(sa_key), "2048")
        _openssl("rsa", "-in", str(sa_key), "-pubout", "-out", str(sa_pub))
    for key in (ca_key, pki / "apiserver.key", pki / "mariadb.key", sa_key):
        key.chmod(0o600)


def _serving_cert(pki: Path, name: str, subject: str, alt_names: str) -> None:
    """`<name>.crt` and `.key` signed by the local CA, for the given subjectAltName list."""
    key, csr, crt = pki / f"{name}.key", pki / f"{name}.csr", pki / f"{name}.crt"
    if crt.exists():
        return
    ext = pki / f"{name}.ext"
    ext.write_text(f"subjectAltName={alt_names}\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", subject)
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(pki / "ca.crt"),
        "-CAkey",
        str(pki / "ca.key"),
        "-CAcreateserial",
        "-out",
        str(crt),
        "-days",
        "3650",
        "-extfile",
        str(ext),
    )
