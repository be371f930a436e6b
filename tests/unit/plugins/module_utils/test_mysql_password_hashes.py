"""Recomputing the servers' stored password hashes, checked against published and recorded vectors."""

from __future__ import annotations

import base64
import time
import warnings

import pytest
from ansible.module_utils.mysql_password_hashes import (
    _ed25519_public_key,
    caching_sha2_password_hash,
    ed25519_password_hash,
    native_password_hash,
    password_matches,
    sha256_crypt,
)

# Recorded from MariaDB 10.11.19 (Debian 12 package) started in a temp dir for the purpose:
# CREATE USER ... IDENTIFIED BY '<pw>' and SELECT PASSWORD('<pw>'), utf8mb4 connection; the
# authentication_string of mysql.user.
NATIVE_VECTORS = [
    ("a", "*667F407DE7C6AD07358FA38DAED7828A72014B4E"),
    ("Ab3-xy_Z9.k~Lm4-Qr_7", "*06B789238C53F16E9CDCBF5950901BE29C4AA0DA"),
    ("zażółć gęślą jaźń", "*CE68818A4DBF23FA23463371D16E7CDADA0179FA"),
]

# Recorded from the same MariaDB 10.11.19 with auth_ed25519 loaded: the authentication_string of
# CREATE USER ... IDENTIFIED VIA ed25519 USING PASSWORD('<pw>') (utf8mb4 connection), and for ''
# and the 200-character one SELECT ed25519_password('<pw>') (the plugin's UDF) because the server
# stores an empty string for PASSWORD('') and does not take an expression there.
ED25519_VECTORS = [
    ("a", "GvRmi9ungFjJD9sKjaq/T3CL1LmO2CLpz5I42gnB7Eg"),
    ("Ab3-xy_Z9.k~Lm4-Qr_7", "EShE2Qktqn48+iIm/+Vr+2oHjRhP96xY9cXOAeS6zyc"),
    ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_", "8HmjJ2+HrvR23WNB4S461pLeWWiVAUfSckIhWKU0nQw"),
    ("zażółć gęślą jaźń", "l9CJMpa7UybBPMM4FA0pK15v4U1/xLTI5PnlZLnJNXw"),
    ("", "4LH+dBF+G5W2CKTyId8xR3SyDqZoQjUNUVNxx8aWbG4"),
    ("Zz9-" * 50, "NcXwSJ7GXgPB5YtSBTcTV0qDD+lBIJsAWmD2ljX8QSc"),
]

# RFC 8032 section 7.1, TEST 1, 2 and 3: SECRET KEY (the 32-byte seed) and PUBLIC KEY.
RFC8032_KEYS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    ),
]

# The SHA-256 test vectors of Drepper's "Unix crypt using SHA-256 and SHA-512"
# (https://www.akkadia.org/drepper/SHA-crypt.txt, also glibc's crypt/sha256c-test.c), with the salt
# and rounds as crypt() uses them: the salt cut to 16 characters, rounds=10 raised to 1000. The long
# text has two spaces after "encrypt." (HTML copies of the spec collapse them).
DREPPER_VECTORS = [
    ("Hello world!", "saltstring", 5000, "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
    ("Hello world!", "saltstringsaltst", 10000, "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"),
    ("This is just a test", "toolongsaltstrin", 5000, "Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"),
    (
        "a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "anotherlongsalts",
        1400,
        "Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
    ),
    (
        "we have a short salt string but not a short password",
        "short",
        77777,
        "JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
    ),
    ("a short string", "asaltof16chars..", 123456, "gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"),
    ("the minimum number is still observed", "roundstoolow", 1000, "yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"),
]

# Real MySQL caching_sha2_password values (Percona Server 8.0.32-24), published as SHOW CREATE USER
# hex in the README of github.com/ChaosHour/go-pass (commit 0532dc3dcf3a874bcb527e12953bf7c7fa819c0c).
# klarsen: the README logs in with `mysql -u klarsen -pwH4FLM97jCkbhPcFy6Ip8YL` against that hash.
# root@localhost: the README's server was started with MYSQL_ROOT_PASSWORD=root.
MYSQL_CACHING_SHA2_VECTORS = [
    (
        "wH4FLM97jCkbhPcFy6Ip8YL",
        "2441243030352446274D6E7F57015B673B1E4E5C272728022C585F6B6F2E2E61"
        "35484A706D5841467345543749447250477A6F764B5269734C6A594943334746"
        "63334B307044",
    ),
    (
        "root",
        "244124303035240566230F3279056A495A7870484E424E62780318336A62674D"
        "71524F4F5A482E7255497738324874337953795268676878666345494556586B"
        "633471416530",
    ),
]

# Like the server's salts: 20 bytes below 0x80, control characters included, never '$' or NUL.
SALT = b"\x01\r\x1f\x7f" + bytes(range(0x41, 0x51))


def _crypt_module():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pytest.importorskip("crypt")


# --- mysql_native_password -----------------------------------------------------------------------


@pytest.mark.parametrize(("password", "stored"), NATIVE_VECTORS)
def test_native_password_hash_matches_mariadb(password: str, stored: str) -> None:
    assert native_password_hash(password) == stored


@pytest.mark.parametrize("plugin", ["mysql_native_password", ""])
def test_native_stored_hash_matches_its_password_in_either_case(plugin: str) -> None:
    password, stored = NATIVE_VECTORS[1]
    assert password_matches(plugin, stored, password) is True
    assert password_matches(plugin, stored.lower(), password) is True


# --- ed25519 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "public"), RFC8032_KEYS)
def test_ed25519_key_derivation_matches_rfc8032(secret: str, public: str) -> None:
    assert _ed25519_public_key(bytes.fromhex(secret)).hex() == public


@pytest.mark.parametrize(("password", "stored"), ED25519_VECTORS)
def test_ed25519_password_hash_matches_mariadb(password: str, stored: str) -> None:
    assert ed25519_password_hash(password) == stored


@pytest.mark.parametrize(("password", "stored"), ED25519_VECTORS)
def test_ed25519_stored_hash_matches_its_password(password: str, stored: str) -> None:
    assert password_matches("ed25519", stored, password) is True


def test_ed25519_comparison_is_well_under_20_ms() -> None:
    password, stored = ED25519_VECTORS[1]
    runs = 20
    start = time.perf_counter()
    for _ in range(runs):
        password_matches("ed25519", stored, password)
    per_call = (time.perf_counter() - start) / runs
    assert per_call < 0.020, f"ed25519 comparison took {per_call * 1000:.1f} ms"


# --- SHA-256-crypt and caching_sha2_password -----------------------------------------------------


@pytest.mark.parametrize(("password", "salt", "rounds", "digest"), DREPPER_VECTORS)
def test_sha256_crypt_matches_drepper_vectors(password: str, salt: str, rounds: int, digest: str) -> None:
    assert sha256_crypt(password.encode(), salt.encode(), rounds) == digest


@pytest.mark.parametrize(
    ("password", "salt", "rounds"),
    [
        ("", "", 1000),
        ("x", "s", 1000),
        ("zażółć gęślą jaźń", "abcdefghijklmnop", 5000),
        ("p" * 31, "./09AZaz", 2000),
        ("q" * 32, "salt", 3000),
        ("r" * 33 + "-_.~", "0123456789abcdef", 5000),
        ("long " * 60, "AbC./", 1234),
    ],
)
def test_sha256_crypt_agrees_with_the_crypt_module(password: str, salt: str, rounds: int) -> None:
    crypt = _crypt_module()
    expected = crypt.crypt(password, f"$5$rounds={rounds}${salt}$").rsplit("$", 1)[1]
    assert sha256_crypt(password.encode(), salt.encode(), rounds) == expected


@pytest.mark.parametrize(("password", "stored_hex"), MYSQL_CACHING_SHA2_VECTORS)
def test_caching_sha2_password_hash_reproduces_mysql(password: str, stored_hex: str) -> None:
    stored = bytes.fromhex(stored_hex)
    assert caching_sha2_password_hash(password, stored[7:27]) == stored.decode("latin-1")


@pytest.mark.parametrize(("password", "stored_hex"), MYSQL_CACHING_SHA2_VECTORS)
def test_caching_sha2_stored_hash_matches_as_bytes_or_text(password: str, stored_hex: str) -> None:
    stored = bytes.fromhex(stored_hex)
    assert password_matches("caching_sha2_password", stored, password) is True
    assert password_matches("caching_sha2_password", stored.decode("latin-1"), password) is True


def test_caching_sha2_password_hash_has_the_servers_layout() -> None:
    stored = caching_sha2_password_hash("s3cret", SALT)
    assert stored.startswith("$A$005$" + SALT.decode("latin-1"))
    assert len(stored) == 3 + 4 + 20 + 43


def test_caching_sha2_iteration_count_is_read_as_hex() -> None:
    # MySQL writes the count as upper-case hex (setw(3) << hex) and parses it with base 16.
    stored = caching_sha2_password_hash("s3cret", SALT, iterations=10)
    assert stored.startswith("$A$00A$")
    assert password_matches("caching_sha2_password", stored, "s3cret") is True


@pytest.mark.parametrize(
    ("salt", "iterations"),
    [(SALT[:16], 5), (SALT[:19] + b"$", 5), (SALT[:19] + b"\0", 5), (SALT, 0), (SALT, 0x1000)],
)
def test_caching_sha2_password_hash_rejects_what_the_server_never_writes(salt: bytes, iterations: int) -> None:
    with pytest.raises(ValueError):
        caching_sha2_password_hash("s3cret", salt, iterations)


# --- password_matches ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plugin", "stored"),
    [
        ("mysql_native_password", NATIVE_VECTORS[1][1]),
        ("", NATIVE_VECTORS[1][1]),
        ("ed25519", ED25519_VECTORS[1][1]),
        ("caching_sha2_password", bytes.fromhex(MYSQL_CACHING_SHA2_VECTORS[0][1])),
    ],
)
def test_wrong_password_does_not_match(plugin: str, stored: str | bytes) -> None:
    assert password_matches(plugin, stored, "not-the-password") is False


VALID_CACHING_SHA2 = caching_sha2_password_hash("s3cret", SALT)


@pytest.mark.parametrize(
    ("plugin", "stored"),
    [
        ("mysql_native_password", None),
        ("mysql_native_password", ""),
        ("mysql_native_password", b""),
        ("mysql_native_password", "invalid"),
        ("mysql_native_password", "*06B789238C53F16E"),
        ("mysql_native_password", "*06B789238C53F16E9CDCBF5950901BE29C4AA0DG"),
        ("mysql_native_password", "06B789238C53F16E9CDCBF5950901BE29C4AA0DA"),
        ("mysql_native_password", "565491d704013245"),  # pre-4.1 hash
        ("mysql_native_password", 42),
        ("", ""),
        ("ed25519", ""),
        ("ed25519", "invalid"),
        ("ed25519", "!!!not base64!!!"),
        ("ed25519", base64.b64encode(bytes(31)).decode()),
        ("ed25519", "GvRmi9ungFjJD9sKjaq/T3CL1LmO2CLpz5I42gnB7Eg=="),
        ("ed25519", "zażółć"),
        ("caching_sha2_password", ""),
        ("caching_sha2_password", "$A$005$"),
        ("caching_sha2_password", "$B" + VALID_CACHING_SHA2[2:]),
        ("caching_sha2_password", "$A$000" + VALID_CACHING_SHA2[6:]),
        ("caching_sha2_password", "$A$0x5" + VALID_CACHING_SHA2[6:]),
        ("caching_sha2_password", VALID_CACHING_SHA2[:-1]),
        ("caching_sha2_password", VALID_CACHING_SHA2 + "A"),
        ("caching_sha2_password", VALID_CACHING_SHA2[:-1] + "="),
        ("caching_sha2_password", VALID_CACHING_SHA2[:10] + "$" + VALID_CACHING_SHA2[11:]),
        ("caching_sha2_password", VALID_CACHING_SHA2[:10] + "\u20ac" + VALID_CACHING_SHA2[11:]),
        ("caching_sha2_password", b"\xff" * 70),
    ],
)
def test_malformed_stored_value_cannot_tell(plugin: str, stored: object) -> None:
    assert password_matches(plugin, stored, "s3cret") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "plugin",
    [
        "sha256_password",
        "unix_socket",
        "auth_socket",
        "mysql_old_password",
        "parsec",
        "gssapi",
        "MYSQL_NATIVE_PASSWORD",
    ],
)
def test_other_plugins_cannot_tell(plugin: str) -> None:
    assert password_matches(plugin, VALID_CACHING_SHA2, "s3cret") is None
