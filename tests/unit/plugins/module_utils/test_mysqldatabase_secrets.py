"""Decoding a key of a Secret and summarising the application Secret."""

from __future__ import annotations

import base64

import pytest
from ansible.module_utils.mysqldatabase_secrets import app_secret, decode_key


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def test_decode_key_gives_the_utf8_text() -> None:
    assert decode_key({"password": _b64("zażółć s3cret")}, "password") == "zażółć s3cret"


def test_decode_key_keeps_an_empty_value_empty() -> None:
    assert decode_key({"password": ""}, "password") == ""


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"password": None},
        {"password": "!!!"},
        {"password": "cGFzcw"},  # padding missing: not valid base64
        {"password": base64.b64encode(b"\xff\xfe").decode()},
    ],
    ids=["missing", "null", "not-base64", "unpadded", "not-utf8"],
)
def test_decode_key_is_none_for_a_missing_or_undecodable_value(data: dict) -> None:
    assert decode_key(data, "password") is None


def test_app_secret_absent() -> None:
    assert app_secret({}, "uid-1", "piwik.pro/password-rotation")["exists"] is False


def test_app_secret_owned_returns_password_and_rotation_mark() -> None:
    secret = {
        "metadata": {
            "ownerReferences": [{"kind": "MySQLDatabase", "uid": "uid-1"}],
            "annotations": {"piwik.pro/password-rotation": "r1"},
        },
        "data": {"password": _b64("pw")},
    }
    result = app_secret(secret, "uid-1", "piwik.pro/password-rotation")
    assert (result["exists"], result["owned"], result["password"], result["rotation"]) == (True, True, "pw", "r1")


def test_app_secret_of_someone_else_never_yields_its_password() -> None:
    secret = {
        "metadata": {"ownerReferences": [{"kind": "MySQLDatabase", "uid": "other"}]},
        "data": {"password": _b64("theirs")},
    }
    result = app_secret(secret, "uid-1", "piwik.pro/password-rotation")
    assert (result["owned"], result["password"]) == (False, "")
