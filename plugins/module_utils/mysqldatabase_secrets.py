# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decoding of the Secrets a reconcile reads: a key of any Secret and the application Secret.

Plain data in, plain data out. The modules' results reach the role marked unsafe
(plugins/action/mysqldatabase_in_process.py), so a Secret's content is never evaluated as Jinja.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

COMPARED_METADATA = ("labels", "annotations", "ownerReferences")


def decode_key(data: Mapping[str, Any], key: str) -> str | None:
    """The UTF-8 text of one key of a Secret's data; None when it is missing or not UTF-8."""
    if key not in data or data[key] is None:
        return None
    try:
        return base64.b64decode(str(data[key]), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def app_secret(secret: Mapping[str, Any], owner_uid: str, rotation_annotation: str) -> dict[str, Any]:
    """Summarise an application Secret: does it exist, does this CR own it, its password and rotation mark."""
    if not secret:
        return {"exists": False, "owned": False, "password": "", "rotation": "", "data": {}, "type": "", "metadata": {}}
    metadata = secret.get("metadata") or {}
    owners = metadata.get("ownerReferences") or []
    owned = any(ref.get("uid") == owner_uid and ref.get("kind") == "MySQLDatabase" for ref in owners)
    data = dict(secret.get("data") or {})
    return {
        "exists": True,
        "owned": owned,
        "password": (decode_key(data, "password") or "") if owned else "",
        "rotation": str((metadata.get("annotations") or {}).get(rotation_annotation, "")),
        "data": data,
        # What up_to_date compares besides the data, so the role can tell whether a write is needed.
        "type": secret.get("type", "Opaque"),
        "metadata": {key: metadata[key] for key in COMPARED_METADATA if key in metadata},
    }


def owner_reference_present(wanted: dict[str, Any], references: list[dict[str, Any]]) -> bool:
    return any(all(ref.get(key) == value for key, value in wanted.items()) for ref in references)


def up_to_date(existing: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether the existing Secret already holds the type, data, labels, annotations and owners asked for.

    The Secret module writes only when it does not; the role ends a reconcile early when it does.
    """
    have, want = existing.get("metadata") or {}, body["metadata"]
    return (
        existing.get("type", "Opaque") == body.get("type", "Opaque")
        and (existing.get("data") or {}) == body["data"]
        and all(
            (have.get(field) or {}).get(k) == v
            for field in ("labels", "annotations")
            for k, v in (want.get(field) or {}).items()
        )
        and all(
            owner_reference_present(ref, have.get("ownerReferences") or []) for ref in want.get("ownerReferences") or []
        )
    )
