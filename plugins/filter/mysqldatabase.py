# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn a MySQLDatabase into the facts of the mysqldatabase role.

The custom resource reaches the role unsafe and unvalidated: the CRD schema validates it too, but
these filters never rely on it. A problem in the spec is returned (``valid``, ``reason``,
``message``) for the role to put in the status; AnsibleFilterError means the role called a filter
wrongly.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import math
import re
import secrets
import string
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import ansible.module_utils
from ansible import constants as C
from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

# The controller imports only Ansible's own module_utils; ours, which hold the rules, are configured for modules.
# ansible.constants defines its settings at import time from the config definitions; mypy cannot see them.
_module_utils_path = C.DEFAULT_MODULE_UTILS_PATH  # type: ignore[attr-defined]
ansible.module_utils.__path__.extend(p for p in _module_utils_path if p not in ansible.module_utils.__path__)
from ansible.module_utils.mysqldatabase_conditions import status_unchanged
from ansible.module_utils.mysqldatabase_rules import (
    ALL_PRIVILEGES,
    DELETION_POLICIES,
    MAX_DATABASE_NAME,
    MAX_USER_CONNECTIONS,
    MAX_USER_NAME,
    PRIVILEGES,
    RESERVED_DATABASES,
    RESERVED_USERS,
    ROTATE_ANNOTATION,
    SPEC_DEFAULTS,
    SPEC_FIELDS,
)
from ansible.module_utils.mysqldatabase_secrets import up_to_date

# URI-unreserved and shell-safe; the leak scanner of the fault suite (testbed/faults/leaks.py) knows this set.
PASSWORD_SPECIALS = "-_"  # noqa: S105 - the alphabet of generated passwords, not a password
PASSWORD_ALPHABET = string.ascii_letters + string.digits + PASSWORD_SPECIALS
# A generated password holds one of each, as password policies demand by default: MySQL's
# validate_password (MEDIUM) and MariaDB's simple_password_check refuse one without a digit, a letter
# of each case or a character other than letters and digits.
PASSWORD_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, PASSWORD_SPECIALS)
PASSWORD_MIN_BITS = 128
PASSWORD_MIN_LENGTH = math.ceil(PASSWORD_MIN_BITS / math.log2(len(PASSWORD_ALPHABET)))
PASSWORD_MAX_LENGTH = 256

INVALID = "InvalidSpec"
TOO_LONG = "NameTooLong"
RESERVED = "ReservedName"
CONNECTION_KEYS = ("host", "port", "database", "username", "password")
TLS_KEYS = ("sslMode", "ca.crt")
SECRET_KEYS = frozenset({*CONNECTION_KEYS, "uri", *TLS_KEYS})
# MySQLServer spec.tls.mode -> the --ssl-mode value MySQL clients and connectors understand.
SSL_MODES = {"Required": "REQUIRED", "VerifyCA": "VERIFY_CA", "VerifyIdentity": "VERIFY_IDENTITY"}
TEMPLATE_MAX_KEYS = 32
TEMPLATE_MAX_VALUE = 4096
SHOWN_CHARS = 64

SQL_NAME_RE = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_$.-]*")
USER_HOST_RE = re.compile(r"[A-Za-z0-9.%_:-]{1,255}")
CHARSET_RE = re.compile(r"[A-Za-z0-9_]{1,32}")
COLLATION_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
TEMPLATE_KEY_RE = re.compile(r"[-._a-zA-Z0-9]{1,253}")
PLACEHOLDER_RE = re.compile(r"\{(host|port|database|username|password)\}")


def _text(value: str) -> str:
    # str() would keep AnsibleUnsafeText's type; the role wants plain values.
    return str.__str__(value)


def _kind(value: Any) -> str:
    kinds: tuple[tuple[type[object], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (Mapping, "a mapping"),
        (list, "a list"),
    )
    return "null" if value is None else next((name for cls, name in kinds if isinstance(value, cls)), "a value")


def _escape(text: str) -> str:
    # Control, format (bidi) and line-separator characters would forge or hide message text.
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")
        else char
        for char in text
    )


def _show(value: Any) -> str:
    """Quote a spec value for a message: escaped, and cut to 64 characters."""
    if not isinstance(value, str):
        return _kind(value)
    shown = _escape(value)
    if len(shown) > SHOWN_CHARS:
        return f"'{shown[:SHOWN_CHARS]}...' ({len(value)} characters)"
    return f"'{shown}'"


class _Problems:
    """The spec problems found so far, each with the condition reason it calls for."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, text: str, reason: str = INVALID) -> None:
        self.items.append((reason, f"{field} {text}"))

    def reason(self) -> str:
        # One kind of problem names itself; a mix is an invalid spec.
        reasons = {reason for reason, _ in self.items}
        return reasons.pop() if len(reasons) == 1 else INVALID if reasons else ""

    def message(self) -> str:
        return "; ".join(text for _, text in self.items)


Check = Callable[[_Problems, str, Any], Any]


def _pattern(regex: re.Pattern[str], rule: str, limit: int = 0, lower: bool = False) -> Check:
    def check(problems: _Problems, field: str, value: Any) -> str:
        if not isinstance(value, str):
            problems.add(field, f"must be a string, not {_kind(value)}")
        elif not regex.fullmatch(value) or (limit and len(value) > limit):
            problems.add(field, f"{_show(value)} must be {rule}")
        else:
            return _text(value.lower() if lower else value)
        return ""

    return check


def _privileges(problems: _Problems, field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        problems.add(field, f"must be a non-empty list of privileges, not {_kind(value)}")
        return []
    names = [ALL_PRIVILEGES if name == "ALL" else name for name in map(_privilege_name, value)]
    unknown = [_show(item) for item, name in zip(value, names, strict=True) if name not in PRIVILEGES]
    if unknown:
        allowed = ", ".join(["ALL", *sorted(PRIVILEGES)])
        problems.add(field, f"has {', '.join(unknown[:5])}, not among {allowed}")
        return []
    result = list(dict.fromkeys(names))
    if ALL_PRIVILEGES in result and len(result) > 1:
        problems.add(field, "must list ALL PRIVILEGES alone: it already includes the others")
        return []
    return result


def _privilege_name(item: Any) -> str:
    # "create  view" and "Create View" both mean CREATE VIEW.
    return " ".join(item.upper().split()) if isinstance(item, str) else ""


def _integer(problems: _Problems, field: str, value: Any) -> int:
    # bool is an int in Python but `true` is no connection count.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_USER_CONNECTIONS:
        return int(value)
    shown = str(value) if type(value) is int and len(str(value)) <= 20 else _show(value)
    problems.add(field, f"must be an integer from 0 to {MAX_USER_CONNECTIONS}, not {shown}")
    return 0


def _boolean(problems: _Problems, field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    problems.add(field, f"must be true or false, not {_kind(value)}")
    return False


def _deletion_policy(problems: _Problems, field: str, value: Any) -> str:
    if isinstance(value, str) and value in DELETION_POLICIES:
        return _text(value)
    problems.add(field, f"must be {' or '.join(DELETION_POLICIES)}, not {_show(value)}")
    return ""


def _template_key(problems: _Problems, field: str, key: Any) -> bool:
    if not isinstance(key, str) or not TEMPLATE_KEY_RE.fullmatch(key) or key.startswith(".."):
        problems.add(field, f"key {_show(key)} must be 1 to 253 characters from A-Z a-z 0-9 - _ . (not .. first)")
    elif key == ".":
        problems.add(field, "key '.' is not a valid Secret key")
    elif key in SECRET_KEYS:
        problems.add(field, f"key {_show(key)} is one the operator writes: {', '.join(sorted(SECRET_KEYS))}")
    else:
        return True
    return False


def _secret_template(problems: _Problems, field: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        problems.add(field, f"must be a mapping of Secret keys to strings, not {_kind(value)}")
        return {}
    if len(value) > TEMPLATE_MAX_KEYS:
        problems.add(field, f"has {len(value)} keys, more than {TEMPLATE_MAX_KEYS}")
        return {}
    count = len(problems.items)
    for key, text in value.items():
        if not _template_key(problems, field, key):
            continue
        if not isinstance(text, str) or len(text) > TEMPLATE_MAX_VALUE:
            problems.add(f"{field}.{key}", f"must be a string of at most {TEMPLATE_MAX_VALUE} characters")
    if len(problems.items) > count:
        return {}
    return {_text(key): _text(text) for key, text in value.items()}


_SQL_NAME_RULE = "characters from A-Z a-z 0-9 _ $ . - (not . or - first)"
_NameKind = tuple[str, int, frozenset[str]]
DATABASE_NAME: _NameKind = ("database name", MAX_DATABASE_NAME, RESERVED_DATABASES)
USER_NAME: _NameKind = ("user name", MAX_USER_NAME, RESERVED_USERS)
# spec key -> its check (its key in the mysqldatabase_spec fact is the rules' SPEC_FIELDS). The role's defaults
# are checked by the same functions. databaseName, username, secretName and serverRef default to names and are
# read apart.
CHECKS: dict[str, Check] = {
    "userHost": _pattern(USER_HOST_RE, "1 to 255 characters from A-Z a-z 0-9 . % _ : -"),
    "characterSet": _pattern(CHARSET_RE, "1 to 32 characters from A-Z a-z 0-9 _", lower=True),
    "collation": _pattern(COLLATION_RE, "1 to 64 characters from A-Z a-z 0-9 _", lower=True),
    "privileges": _privileges,
    "maxUserConnections": _integer,
    "secretTemplate": _secret_template,
    "deletionPolicy": _deletion_policy,
    "adoptExisting": _boolean,
}
FIELDS: dict[str, tuple[str, Check]] = {key: (SPEC_FIELDS[key], check) for key, check in CHECKS.items()}
SERVER_NAME = _pattern(DNS_LABEL_RE, "a DNS label: 1 to 63 characters from a-z 0-9 -, alphanumeric at both ends")
SECRET_NAME = _pattern(
    DNS_SUBDOMAIN_RE, "a DNS subdomain: at most 253 characters from a-z 0-9 - ., alphanumeric at both ends", 253
)
# For a spec the API server did not default (a CRD without the schema's defaults): the same values.
BUILTIN_DEFAULTS: dict[str, Any] = {
    "user_host": SPEC_DEFAULTS["userHost"],
    "character_set": "",
    "collation": "",
    "privileges": SPEC_DEFAULTS["privileges"],
    "max_user_connections": SPEC_DEFAULTS["maxUserConnections"],
    "secret_template": {},
    "deletion_policy": SPEC_DEFAULTS["deletionPolicy"],
    "adopt_existing": SPEC_DEFAULTS["adoptExisting"],
    "server": SPEC_DEFAULTS["serverRef"]["name"],
}


def _defaults(defaults: Any) -> dict[str, Any]:
    """Return the built-in defaults overridden by the role's, which must be valid themselves."""
    result = dict(BUILTIN_DEFAULTS)
    if defaults is None:
        return result
    if not isinstance(defaults, Mapping) or set(defaults) - set(result):
        raise AnsibleFilterError(f"mysqldatabase_spec: defaults must be a mapping with keys from {sorted(result)}")
    checks = {key: check for key, check in FIELDS.values()} | {"server": SERVER_NAME}
    problems = _Problems()
    for key, value in defaults.items():
        if value is not None and not (key in ("character_set", "collation") and value == ""):
            result[key] = checks[key](problems, f"defaults.{key}", value)
    if problems.items:
        raise AnsibleFilterError(f"mysqldatabase_spec: fix the role's defaults: {problems.message()}")
    return result


def _sql_name(problems: _Problems, spec: Mapping[str, Any], key: str, fallback: str, kind: _NameKind) -> str:
    """Return spec[key], or metadata.name when unset; '' when the name cannot be used."""
    label, limit, reserved = kind
    spec_field, value = f"spec.{key}", spec.get(key)
    field, hint = spec_field, ""
    if value is None:
        if len(fallback) > limit:
            text = f"has {len(fallback)} characters, more than the {limit} a {label} may have: set {spec_field}"
            problems.add("metadata.name", text, TOO_LONG)
            return ""
        field, value, hint = "metadata.name", fallback, f": set {spec_field}"
    if not isinstance(value, str):
        problems.add(field, f"must be a string, not {_kind(value)}")
    elif not SQL_NAME_RE.fullmatch(value) or len(value) > limit:
        problems.add(field, f"{_show(value)} must be a {label} of 1 to {limit} {_SQL_NAME_RULE}{hint}")
    elif value.lower() in reserved:
        problems.add(field, f"{_show(value)} is a {label} reserved for the server or the operator{hint}", RESERVED)
    else:
        return _text(value)
    return ""


def _server(problems: _Problems, spec: Mapping[str, Any], default: str) -> str:
    ref = spec.get("serverRef")
    if ref is None:
        return default
    if not isinstance(ref, Mapping):
        problems.add("spec.serverRef", f"must be a mapping with a name, not {_kind(ref)}")
        return ""
    return default if ref.get("name") is None else SERVER_NAME(problems, "spec.serverRef.name", ref["name"])


def _metadata(cr: Any) -> Mapping[str, Any]:
    metadata = cr.get("metadata") if isinstance(cr, Mapping) else None
    if not isinstance(metadata, Mapping) or not all(
        isinstance(metadata.get(key), str) and metadata.get(key) for key in ("name", "namespace")
    ):
        raise AnsibleFilterError(
            "mysqldatabase_spec: pass the MySQLDatabase object itself (with metadata.name and "
            "metadata.namespace), e.g. _piwik_pro_mysqldatabase"
        )
    return metadata


def _copy(value: Any) -> Any:
    # Defaults are shared between calls; the role gets its own lists and dicts.
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def mysqldatabase_spec(cr: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the validated, normalized settings of a MySQLDatabase for the role.

    A field with a problem holds its empty value ('' / [] / {} / 0 / False), never a guess, so
    nothing can act on a name the user did not ask for.
    """
    metadata = _metadata(cr)
    base = _defaults(defaults)
    problems = _Problems()
    spec = cr.get("spec")
    if spec is None:
        spec = {}
    elif not isinstance(spec, Mapping):
        problems.add("spec", f"must be a mapping, not {_kind(spec)}")
        spec = {}
    name = _text(metadata["name"])
    settings: dict[str, Any] = {
        "namespace": _text(metadata["namespace"]),
        "name": name,
        "uid": _text(metadata.get("uid") or ""),
        "generation": int(metadata.get("generation") or 0),
        "database": _sql_name(problems, spec, "databaseName", name, DATABASE_NAME),
        "username": _sql_name(problems, spec, "username", name, USER_NAME),
        "secret_name": name
        if spec.get("secretName") is None
        else SECRET_NAME(problems, "spec.secretName", spec["secretName"]),
        "server": _server(problems, spec, base["server"]),
    }
    for spec_key, (key, check) in FIELDS.items():
        value = spec.get(spec_key)
        settings[key] = _copy(base[key]) if value is None else check(problems, f"spec.{spec_key}", value)
    annotations = metadata.get("annotations")
    token = annotations.get(ROTATE_ANNOTATION) if isinstance(annotations, Mapping) else None
    settings["rotate_token"] = _text(token) if isinstance(token, str) else ""
    settings["deleting"] = bool(metadata.get("deletionTimestamp"))
    settings.update(valid=not problems.items, reason=problems.reason(), message=problems.message())
    # Every value came from the CR: keep it marked unsafe so Ansible never templates it when the role
    # references these settings later (a plain str holding "{{ ... }}" would be evaluated).
    return cast("dict[str, Any]", wrap_var(settings))


def mysqldatabase_password(length: int = 32) -> str:
    """Return a random password of [A-Za-z0-9_-] with each class in it, safe in URIs and shells:
    ``{{ 32 | mysqldatabase_password }}``. Drawn again until every class is there, so that each accepted
    password is as likely as any other."""
    if not isinstance(length, int) or isinstance(length, bool):
        raise AnsibleFilterError(f"mysqldatabase_password: the length must be an integer, not {_kind(length)}")
    if not PASSWORD_MIN_LENGTH <= length <= PASSWORD_MAX_LENGTH:
        raise AnsibleFilterError(
            f"mysqldatabase_password: the length must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} "
            f"({PASSWORD_MIN_LENGTH} gives at least {PASSWORD_MIN_BITS} bits of entropy), not {length}"
        )
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if all(any(char in chars for char in password) for chars in PASSWORD_CLASSES):
            return password


def mysqldatabase_password_choice(
    app_secret: Mapping[str, Any], rotate_token: str = "", length: int = 32
) -> dict[str, Any]:
    """Keep the application Secret's password, or generate one when there is none or a rotation is asked.

    ``app_secret`` is the summary mysqldatabase_secret_info returns. A rotation is asked when
    ``rotate_token`` (the rotation annotation's value) is set and differs from the one the Secret records.
    Returns ``value`` (the password), ``is_new``, ``rotation_requested`` (a rotation of an existing
    Secret), ``secret_password_refused``, ``replacement``, a second new password for when the server's
    password policy refuses ``value`` (password_reuse_check refuses one the user had before), and
    ``decisions``, the names of what was decided (PasswordRotated, SecretPasswordRefused) that the role
    reports as events.
    """
    if not isinstance(app_secret, Mapping):
        raise AnsibleFilterError("mysqldatabase_password_choice: pass the app_secret of mysqldatabase_secret_info")
    token = rotate_token if isinstance(rotate_token, str) else ""
    rotation_asked = token != "" and token != str(app_secret.get("rotation") or "")
    kept = str(app_secret.get("password") or "")
    refused = kept != "" and not _acceptable_secret_password(kept)
    is_new = kept == "" or rotation_asked or refused
    return cast(
        "dict[str, Any]",
        wrap_var(
            {
                "value": mysqldatabase_password(length) if is_new else kept,
                "is_new": is_new,
                "rotation_requested": rotation_asked and bool(app_secret.get("exists")),
                "secret_password_refused": refused,
                "replacement": mysqldatabase_password(length),
                "decisions": [
                    name
                    for name, taken in (
                        ("PasswordRotated", rotation_asked and bool(app_secret.get("exists"))),
                        ("SecretPasswordRefused", refused),
                    )
                    if taken
                ],
            }
        ),
    )


def _acceptable_secret_password(password: str) -> bool:
    """Whether a password found in the application Secret may be set on the server: one the operator could
    have generated (its alphabet, PASSWORD_MIN_LENGTH to PASSWORD_MAX_LENGTH characters). The Secret is
    where the password lives, so one edited there by hand is set on the server (a Warning event says so);
    a short or odd one is replaced by a generated one instead, never weakening the account."""
    return PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH and all(
        char in PASSWORD_ALPHABET for char in password
    )


def _uri_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    # RFC 6874: an IPv6 zone's "%" is written %25 inside the brackets.
    return f"[{host.replace('%', '%25')}]" if address.version == 6 else host


def _connection(conn: Any) -> dict[str, str]:
    if not isinstance(conn, Mapping) or any(key not in conn for key in CONNECTION_KEYS):
        raise AnsibleFilterError(f"mysqldatabase_secret_data: conn must be a mapping with {', '.join(CONNECTION_KEYS)}")
    values = {}
    for key in CONNECTION_KEYS:
        value = conn[key]
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise AnsibleFilterError(f"mysqldatabase_secret_data: conn.{key} must be a non-empty string")
        values[key] = _text(str(value))
    return values


def _tls_keys(conn: Mapping[str, Any]) -> dict[str, str]:
    mode = conn.get("tls_mode") or "Disabled"
    if mode == "Disabled":
        return {}
    if mode not in SSL_MODES:
        raise AnsibleFilterError(f"mysqldatabase_secret_data: conn.tls_mode {_show(mode)} is not a TLS mode")
    keys = {"sslMode": SSL_MODES[mode]}
    if conn.get("ca_cert"):
        keys["ca.crt"] = _text(str(conn["ca_cert"]))
    return keys


def mysqldatabase_secret_data(conn: Mapping[str, Any], template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Return the application Secret's ``data``: connection keys, ``uri`` and the rendered template.

    With ``conn.tls_mode`` other than Disabled, ``sslMode`` (MySQL's --ssl-mode spelling), ``ca.crt``
    (when ``conn.ca_cert`` is set) and ``uri``'s ``ssl-mode`` query parameter tell applications to use
    TLS as the operator does.

    Template values get exactly {host} {port} {database} {username} {password} replaced, in one
    pass; everything else stays literal (no str.format, no Jinja), so a value can never reach
    attributes, other variables or placeholders that appear inside the password.
    """
    values = _connection(conn)
    quote = functools.partial(urllib.parse.quote, safe="")
    uri = (
        f"mysql://{quote(values['username'])}:{quote(values['password'])}@{_uri_host(values['host'])}"
        f":{values['port']}/{quote(values['database'])}"
    )
    data = {**values, "uri": uri, **_tls_keys(conn)}
    if "sslMode" in data:
        data["uri"] += f"?ssl-mode={data['sslMode']}"
    if template is not None and not isinstance(template, Mapping):
        raise AnsibleFilterError(
            "mysqldatabase_secret_data: template must be a mapping (mysqldatabase_spec.secret_template)"
        )
    for key, text in (template or {}).items():
        if key in SECRET_KEYS or not isinstance(key, str) or not isinstance(text, str):
            raise AnsibleFilterError(
                f"mysqldatabase_secret_data: template key {_show(key)} must be a string key other than "
                "the connection keys, with a string value; pass mysqldatabase_spec.secret_template"
            )
        data[_text(key)] = PLACEHOLDER_RE.sub(lambda match: values[match.group(1)], text)
    return {key: base64.b64encode(value.encode("utf-8")).decode("ascii") for key, value in data.items()}


def mysqldatabase_events(
    decisions: Sequence[str],
    table: Mapping[str, Mapping[str, Any]],
    spec: Mapping[str, Any],
    adopted: Sequence[str] = (),
) -> list[dict[str, str]]:
    """Return the Kubernetes events of a successful reconcile: one per decision it took, in order.

    ``table`` is the role's ``mysqldatabase_decision_events`` (vars/main.yml): for each decision name its
    event ``type``, ``message`` (a format string over the spec's names, never Jinja) and optional ``unless``,
    decisions whose event already tells the story. A decision missing from the table is a bug in the role,
    so it fails the reconcile rather than going unreported.
    """
    values = {
        "database": spec["database"],
        "username": spec["username"],
        "secret_name": spec["secret_name"],
        "privileges": ", ".join(spec["privileges"]),
        "adopted": " and ".join(adopted),
        "password_min_length": PASSWORD_MIN_LENGTH,
    }
    taken = set(decisions)
    events = []
    for name in decisions:
        entry = table.get(name)
        if not isinstance(entry, Mapping):
            raise AnsibleFilterError(
                f"mysqldatabase_events: no event for the decision {name!r}; add it to mysqldatabase_decision_events "
                "in roles/mysqldatabase/vars/main.yml"
            )
        if taken.intersection(entry.get("unless") or ()):
            continue
        try:
            message = str(entry["message"]).format_map(values)
        except (KeyError, IndexError, ValueError) as error:
            raise AnsibleFilterError(
                f"mysqldatabase_events: the message of {name!r} names {error}; use {sorted(values)}"
            ) from error
        events.append({"type": str(entry["type"]), "reason": name, "message": message})
    return cast("list[dict[str, str]]", wrap_var(events))


def mysqldatabase_secret_current(
    app_secret: Mapping[str, Any], definition: Mapping[str, Any], data: Mapping[str, Any]
) -> bool:
    """Whether the application Secret read this reconcile (mysqldatabase_secret_info's ``app_secret``) already
    is ``definition`` with ``data``: the same comparison the Secret module makes before it writes."""
    if not isinstance(app_secret, Mapping) or not app_secret.get("exists"):
        return False
    existing = {"type": app_secret.get("type"), "data": app_secret.get("data"), "metadata": app_secret.get("metadata")}
    return up_to_date(existing, {**definition, "data": dict(data)})


def mysqldatabase_status_current(cr: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether the custom resource's status already is ``wanted`` (the status module's ready, reason,
    message, observed_generation and fields): writing it would change nothing."""
    if not isinstance(cr, Mapping) or not isinstance(wanted, Mapping):
        raise AnsibleFilterError("mysqldatabase_status_current: pass the custom resource and the wanted status")
    generation = wanted.get("observed_generation")
    params = {
        "ready": bool(wanted.get("ready")),
        "reason": str(wanted.get("reason")),
        "message": str(wanted.get("message")),
        # Templated values arrive as text; the status module's argument spec makes them an int the same way.
        "observed_generation": None if generation in (None, "") else int(generation),
        "fields": dict(wanted.get("fields") or {}),
    }
    return status_unchanged(dict(cr), params)


class FilterModule:
    """Filters of the mysqldatabase role."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "mysqldatabase_password": mysqldatabase_password,
            "mysqldatabase_spec": mysqldatabase_spec,
            "mysqldatabase_secret_data": mysqldatabase_secret_data,
            "mysqldatabase_password_choice": mysqldatabase_password_choice,
            "mysqldatabase_events": mysqldatabase_events,
            "mysqldatabase_secret_current": mysqldatabase_secret_current,
            "mysqldatabase_status_current": mysqldatabase_status_current,
        }
