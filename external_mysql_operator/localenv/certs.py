"""Certificates and keys for the local control plane, made with openssl."""

from __future__ import annotations

import subprocess
from pathlib import Path

OPENSSL = "openssl"


def _openssl(*args: str) -> None:
    subprocess.run([OPENSSL, *args], check=True, capture_output=True)


def ensure_pki(pki: Path) -> None:
    """A CA, an API server serving certificate for 127.0.0.1/localhost, and a service-account key pair."""
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
    srv_key, srv_csr, srv_crt = pki / "apiserver.key", pki / "apiserver.csr", pki / "apiserver.crt"
    if not srv_crt.exists():
        ext = pki / "apiserver.ext"
        ext.write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
            "DNS:kubernetes.default.svc,IP:10.0.0.1\nextendedKeyUsage=serverAuth\n"
        )
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(srv_key),
            "-out",
            str(srv_csr),
            "-subj",
            "/CN=kube-apiserver",
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            str(srv_csr),
            "-CA",
            str(ca_crt),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(srv_crt),
            "-days",
            "3650",
            "-extfile",
            str(ext),
        )
    sa_key, sa_pub = pki / "sa.key", pki / "sa.pub"
    if not sa_pub.exists():
        _openssl("genrsa", "-out", str(sa_key), "2048")
        _openssl("rsa", "-in", str(sa_key), "-pubout", "-out", str(sa_pub))
    for key in (ca_key, srv_key, sa_key):
        key.chmod(0o600)
