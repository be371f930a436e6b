# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a password matches the hash a MySQL/MariaDB server stores for an account.

The operator detects password drift by recomputing the server's own stored form from the Secret's
password and comparing it with mysql.user.authentication_string, never by logging in as the user:
a failed login counts against FAILED_LOGIN_ATTEMPTS (and may lock the account) and a session takes
one of the account's MAX_USER_CONNECTIONS slots. Standard library only, because Ansible ships this
file to the managed host as ansible.module_utils.mysql_password_hashes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable

# MariaDB shows this in place of a hash it cannot express for the plugin (mysql.user is a view there).
INVALID_MARKER = b"invalid"

# caching_sha2_password: '$A$' + 3 upper-case hex digits (rounds / 1000) + '$' + 20-byte salt + digest.
CACHING_SHA2_SALT_LENGTH = 20
CACHING_SHA2_DEFAULT_ITERATIONS = 5
CACHING_SHA2_ROUNDS_PER_ITERATION = 1000
_CACHING_SHA2_MAX_ITERATIONS = 0xFFF
_CACHING_SHA2_PREFIX = re.compile(rb"\$A\$([0-9A-Fa-f]{3})\$")

_NATIVE_HASH = re.compile(rb"\*[0-9A-Fa-f]{40}")

# SHA-crypt writes its digest with this alphabet, not RFC 4648's.
_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CRYPT_DIGEST = re.compile(rb"[./0-9A-Za-z]{43}")
# Drepper's SHA-256-crypt emits the 32 digest bytes in this order, three at a time (first is the
# most significant), then the last two as a 16-bit group.
_SHA256_CRYPT_ORDER = (
    (0, 10, 20),
    (21, 1, 11),
    (12, 22, 2),
    (3, 13, 23),
    (24, 4, 14),
    (15, 25, 5),
    (6, 16, 26),
    (27, 7, 17),
    (18, 28, 8),
    (9, 19, 29),
)

# edwards25519: -x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 - 19), points in extended coordinates
# (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z so that addition needs no field inversion.
_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_MINUS_ONE = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1, 1, 0)

Point = tuple[int, int, int, int]


def native_password_hash(password: str) -> str:
    """mysql_native_password's stored form: '*' + upper(hex(sha1(sha1(password))))."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 - the server's own format
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324 - the server's own format


def ed25519_password_hash(password: str) -> str:
    """MariaDB auth_ed25519's stored form: the Ed25519 public key whose secret is the password.

    MariaDB hashes the whole password with SHA-512 (standard Ed25519 takes a 32-byte seed instead;
    for a 32-byte password both agree), clamps the first half into the secret scalar and stores the
    public key as base64 without its '=' padding (43 characters).
    """
    return base64.b64encode(_ed25519_public_key(password.encode("utf-8"))).decode("ascii").rstrip("=")


def caching_sha2_password_hash(password: str, salt: bytes, iterations: int = CACHING_SHA2_DEFAULT_ITERATIONS) -> str:
    """MySQL caching_sha2_password's stored form for a given salt, as mysql.user holds it.

    The salt comes from the stored value (the server draws it at random), so only comparison needs
    this. The result may hold any byte below 0x80 in the salt: it is text decoded as latin-1.
    Raises ValueError for a salt or iteration count the server would never write.
    """
    if len(salt) != CACHING_SHA2_SALT_LENGTH or b"$" in salt or b"\0" in salt:
        raise ValueError(f"the salt must be {CACHING_SHA2_SALT_LENGTH} bytes without '$' or NUL")
    if not 1 <= iterations <= _CACHING_SHA2_MAX_ITERATIONS:
        raise ValueError(f"iterations must be between 1 and {_CACHING_SHA2_MAX_ITERATIONS}")
    digest = sha256_crypt(password.encode("utf-8"), salt, iterations * CACHING_SHA2_ROUNDS_PER_ITERATION)
    return f"$A${iterations:03X}$" + salt.decode("latin-1") + digest


def password_matches(plugin: str, stored: str | bytes | None, password: str) -> bool | None:
    """Whether `password` is the account's password, judged from its stored hash alone.

    None means "cannot tell": an unknown plugin or one whose stored value cannot be recomputed
    (sha256_password, unix_socket, ...), and an empty, missing or malformed stored value. Never
    raises on what the server returned.
    """
    raw = _stored_bytes(stored)
    checker = _CHECKERS.get(plugin) if isinstance(plugin, str) else None
    if raw is None or checker is None:
        return None
    return checker(raw, password)


def sha256_crypt(password: bytes, salt: bytes, rounds: int) -> str:
    """The 43-character digest of Drepper's SHA-256-crypt, with the salt used whole.

    glibc's crypt() truncates the salt to 16 bytes and clamps the rounds; MySQL keeps a 20-byte
    salt, so callers truncate or clamp themselves when they want crypt()'s behaviour.
    """
    digest_b = hashlib.sha256(password + salt + password).digest()
    context = hashlib.sha256(password + salt + _repeat(digest_b, len(password)))
    length = len(password)
    while length:
        context.update(digest_b if length & 1 else password)
        length >>= 1
    digest_a = context.digest()
    p_bytes = _repeat(hashlib.sha256(password * len(password)).digest(), len(password))
    s_bytes = _repeat(hashlib.sha256(salt * (16 + digest_a[0])).digest(), len(salt))
    return _crypt_base64(_sha256_crypt_rounds(digest_a, p_bytes, s_bytes, rounds))


def _sha256_crypt_rounds(digest: bytes, p_bytes: bytes, s_bytes: bytes, rounds: int) -> bytes:
    """The key-stretching loop of SHA-256-crypt; the pattern of inputs depends on the round number."""
    for i in range(rounds):
        context = hashlib.sha256(p_bytes if i & 1 else digest)
        if i % 3:
            context.update(s_bytes)
        if i % 7:
            context.update(p_bytes)
        context.update(digest if i & 1 else p_bytes)
        digest = context.digest()
    return digest


def _repeat(block: bytes, length: int) -> bytes:
    """`block` repeated and cut to `length` bytes, as SHA-crypt stretches digests over a length."""
    return (block * (length // len(block) + 1))[:length]


def _crypt_base64(digest: bytes) -> str:
    """SHA-256-crypt's text form of its 32-byte digest: permuted, 6 bits per character, low bits first."""
    groups = [((digest[a] << 16) | (digest[b] << 8) | digest[c], 4) for a, b, c in _SHA256_CRYPT_ORDER]
    groups.append(((digest[31] << 8) | digest[30], 3))
    chars = []
    for value, count in groups:
        for _ in range(count):
            chars.append(_CRYPT_ALPHABET[value & 0x3F])
            value >>= 6
    return "".join(chars)


def _ed25519_public_key(secret: bytes) -> bytes:
    """The encoded Ed25519 public key for a secret of any length, as MariaDB derives it."""
    h = hashlib.sha512(secret).digest()
    scalar = int.from_bytes(h[:32], "little")
    scalar &= (1 << 254) - 8  # clear the 3 low bits (cofactor) and bits 254 and 255
    scalar |= 1 << 254
    return _encode_point(_scalar_mult(scalar, _BASE))


def _recover_x(y: int, sign: int) -> int:
    """The x coordinate of the curve point with this y, its low bit equal to `sign`."""
    xx = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * _SQRT_MINUS_ONE % _P
    return _P - x if x & 1 != sign else x


def _point_add(p: Point, q: Point) -> Point:
    """p + q with the unified formula (Hisil-Wong-Carter-Dawson 2008), which also doubles."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * _D * t1 * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _scalar_mult(scalar: int, point: Point) -> Point:
    """scalar * point by double-and-add; the scalar is public here (a hash already in mysql.user)."""
    result = _IDENTITY
    while scalar:
        if scalar & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        scalar >>= 1
    return result


def _encode_point(point: Point) -> bytes:
    """Ed25519's 32-byte encoding: y little-endian with the low bit of x in the top bit."""
    x, y, z, _ = point
    z_inverse = pow(z, -1, _P)
    x, y = x * z_inverse % _P, y * z_inverse % _P
    return (y | (x & 1) << 255).to_bytes(32, "little")


_BASE_Y = 4 * pow(5, -1, _P) % _P
_BASE_X = _recover_x(_BASE_Y, 0)
_BASE: Point = (_BASE_X, _BASE_Y, 1, _BASE_X * _BASE_Y % _P)


def _stored_bytes(stored: str | bytes | None) -> bytes | None:
    """The stored value as bytes; None when there is nothing usable to compare against.

    PyMySQL may hand caching_sha2_password's binary salt over as text; latin-1 maps it back to
    the same bytes (the server's salt bytes are all below 0x80, so UTF-8 decoding keeps them too).
    """
    if isinstance(stored, str):
        try:
            stored = stored.encode("latin-1")
        except UnicodeEncodeError:
            return None
    if not isinstance(stored, bytes | bytearray) or not stored or stored == INVALID_MARKER:
        return None
    return bytes(stored)


def _native_matches(stored: bytes, password: str) -> bool | None:
    """mysql_native_password: the stored value is the whole hash, hex in either case."""
    if not _NATIVE_HASH.fullmatch(stored):
        return None
    return hmac.compare_digest(native_password_hash(password).encode("ascii"), stored.upper())


def _ed25519_matches(stored: bytes, password: str) -> bool | None:
    """MariaDB ed25519: the stored value decodes to the 32-byte public key."""
    try:
        public_key = base64.b64decode(stored + b"=" * (-len(stored) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(public_key) != 32:
        return None
    return hmac.compare_digest(_ed25519_public_key(password.encode("utf-8")), public_key)


def _caching_sha2_matches(stored: bytes, password: str) -> bool | None:
    """MySQL caching_sha2_password: recompute the digest with the stored salt and iteration count."""
    prefix = _CACHING_SHA2_PREFIX.match(stored)
    if prefix is None:
        return None
    iterations = int(prefix.group(1), 16)
    salt = stored[prefix.end() : prefix.end() + CACHING_SHA2_SALT_LENGTH]
    digest = stored[prefix.end() + CACHING_SHA2_SALT_LENGTH :]
    if not iterations or len(salt) != CACHING_SHA2_SALT_LENGTH or b"$" in salt or b"\0" in salt:
        return None
    if not _CRYPT_DIGEST.fullmatch(digest):
        return None
    rounds = iterations * CACHING_SHA2_ROUNDS_PER_ITERATION
    expected = sha256_crypt(password.encode("utf-8"), salt, rounds).encode("ascii")
    return hmac.compare_digest(expected, digest)


# '' is how old MariaDB accounts name mysql_native_password. sha256_password is left out on purpose
# (None): no vector from a real server backs a reading of its stored form, and a wrong False would
# make the operator reset a password that was right.
_CHECKERS: dict[str, Callable[[bytes, str], bool | None]] = {
    "mysql_native_password": _native_matches,
    "": _native_matches,
    "ed25519": _ed25519_matches,
    "caching_sha2_password": _caching_sha2_matches,
}
