"""Decoding the server connection and application Secrets."""

from __future__ import annotations

import base64

from ansible.module_utils.mysqldatabase_secrets import app_secret, server_connection


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def test_server_connection_decodes_and_defaults_port() -> None:
    result = server_connection({"host": _b64("db.internal"), "username": _b64("admin"), "password": _b64("s3cret")})
    assert result["valid"] is True
    assert (result["host"], result["port"], result["username"]) == ("db.internal", 3306, "admin")
    assert (result["publish_host"], result["publish_port"]) == ("db.internal", 3306)


def test_server_connection_uses_publish_address_for_applications() -> None:
    result = server_connection(
        {
            "host": _b64("10.0.0.5"),
            "port": _b64("3307"),
            "username": _b64("a"),
            "password": _b64("p"),
            "publishHost": _b64("mysql.db.svc"),
            "publishPort": _b64("3306"),
        }
    )
    assert (result["port"], result["publish_host"], result["publish_port"]) == (3307, "mysql.db.svc", 3306)


def test_server_connection_names_missing_keys_without_values() -> None:
    result = server_connection({"host": _b64("h"), "password": _b64("hunter2"), "port": _b64("99999")})
    assert result["valid"] is False
    assert "username" in result["message"] and "port" in result["message"]
    assert "hunter2" not in result["message"]


def test_server_connection_rejects_broken_base64() -> None:
    assert server_connection({"host": "!!!", "username": _b64("a"), "password": _b64("b")})["valid"] is False


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
