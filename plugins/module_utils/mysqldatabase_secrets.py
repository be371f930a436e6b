# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decoding of the Secrets a MySQLDatabase reconcile reads: the server connection and the application Secret.

Plain data in, plain data out. The modules' results reach the role marked unsafe
(plugins/action/mysqldatabase_in_process.py), so a Secret's content is never evaluated as Jinja.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

REQUIRED_SERVER_KEYS = ("host", "username", "password")


def _decode(data: Mapping[str, Any], key: str) -> str | None:
    if key not in data or data[key] is None:
        return None
    try:
        return base64.b64decode(str(data[key]), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def server_connection(data: Mapping[str, Any]) -> dict[str, Any]:
    """Decode keys host, port, username, password, publishHost, publishPort and ca.crt.

    Returns `valid` and a `message` naming what is missing or malformed; never a value.
    """
    values = {
        key: _decode(data or {}, key) for key in (*REQUIRED_SERVER_KEYS, "port", "publishHost", "publishPort", "ca.crt")
    }
    problems = [f"key {key} is missing or not UTF-8" for key in REQUIRED_SERVER_KEYS if not values[key]]
    ports = {}
    for key in ("port", "publishPort"):
        raw = values[key]
        if raw in (None, ""):
            continue
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            problems.append(f"key {key} is not a TCP port")
        else:
            ports[key] = int(raw)
    port = ports.get("port", 3306)
    return {
        "valid": not problems,
        "message": "; ".join(problems),
        "host": values["host"] or "",
        "port": port,
        "username": values["username"] or "",
        "password": values["password"] or "",
        "publish_host": values["publishHost"] or values["host"] or "",
        "publish_port": ports.get("publishPort", port),
        "ca_cert": values["ca.crt"] or "",
    }


def app_secret(secret: Mapping[str, Any], owner_uid: str, rotation_annotation: str) -> dict[str, Any]:
    """Summarise an application Secret: does it exist, does this CR own it, its password and rotation mark."""
    if not secret:
        return {"exists": False, "owned": False, "password": "", "rotation": "", "data": {}}
    metadata = secret.get("metadata") or {}
    owners = metadata.get("ownerReferences") or []
    owned = any(ref.get("uid") == owner_uid and ref.get("kind") == "MySQLDatabase" for ref in owners)
    data = dict(secret.get("data") or {})
    return {
        "exists": True,
        "owned": owned,
        "password": (_decode(data, "password") or "") if owned else "",
        "rotation": str((metadata.get("annotations") or {}).get(rotation_annotation, "")),
        "data": data,
    }
