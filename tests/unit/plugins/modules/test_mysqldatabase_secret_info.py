"""Unit tests for the mysqldatabase_secret_info module, against a small fake API server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mysqldatabase_secret_info
import pytest

from tests.unit.plugins.modules.secrets_api import SecretsApi, module_runner, serving

OPERATOR_NS = "external-mysql-operator-system"
LABEL = "piwik.pro/mysql-server"


@pytest.fixture
def api() -> Iterator[SecretsApi]:
    with serving() as server:
        yield server


@pytest.fixture
def run(api: SecretsApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    runner = module_runner(mysqldatabase_secret_info.main, monkeypatch, capsys)

    def run_module(**args: Any) -> dict[str, Any]:
        params = {"api_url": api.url, "server_namespace": OPERATOR_NS, "server_name": "default", **args}
        return runner(**params)

    return run_module


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


SERVER_DATA = {"host": b64("db.internal"), "port": b64("3307"), "username": b64("admin"), "password": b64("s3cret")}
OWNED = {"ownerReferences": [{"apiVersion": "piwik.pro/v1", "kind": "MySQLDatabase", "name": "shop", "uid": "u1"}]}


def add_server(api: SecretsApi, name: str = "mysql-server-default", server: str = "default", **data: str) -> None:
    api.add(OPERATOR_NS, name, {LABEL: server}, data={**SERVER_DATA, **data})


def test_reads_and_decodes_the_server_secret_and_the_owned_app_secret(api: SecretsApi, run) -> None:
    add_server(api)
    add_server(api, "mysql-server-eu", "eu", host=b64("eu.internal"))
    app = api.add("team-a", "shop", data={"password": b64("pw")})
    app["metadata"].update(OWNED, annotations={"piwik.pro/password-rotation": "r1"})
    result = run(namespace="team-a", name="shop", owner_uid="u1")
    assert result["changed"] is False
    assert result["server"] == {
        "host": "db.internal",
        "port": 3307,
        "username": "admin",
        "password": "s3cret",
        "publish_host": "db.internal",
        "publish_port": 3307,
        "ca_cert": "",
    }
    assert result["server_secret_name"] == "mysql-server-default"
    assert result["app_secret"] == {
        "exists": True,
        "owned": True,
        "password": "pw",
        "rotation": "r1",
        "data": {"password": b64("pw")},
    }
    assert [r["method"] for r in api.requests] == ["GET", "GET"]
    assert (
        api.requests[0]["path"]
        == f"/api/v1/namespaces/{OPERATOR_NS}/secrets?labelSelector=piwik.pro%2Fmysql-server%3Ddefault"
    )


def test_missing_app_secret_is_summarised_as_absent(api: SecretsApi, run) -> None:
    add_server(api)
    result = run(namespace="team-a", name="shop", owner_uid="u1")
    assert result["app_secret"] == {"exists": False, "owned": False, "password": "", "rotation": "", "data": {}}


def test_without_a_name_only_the_server_secret_is_read(api: SecretsApi, run) -> None:
    add_server(api)
    result = run()
    assert result["server"]["host"] == "db.internal"
    assert result["app_secret"]["exists"] is False
    assert len(api.requests) == 1


@pytest.mark.parametrize(("servers", "start"), [(0, "No Secret labelled"), (2, "More than one Secret labelled")])
def test_not_exactly_one_server_secret_is_server_not_found(api: SecretsApi, run, servers: int, start: str) -> None:
    for index in range(servers):
        add_server(api, f"server-{index}")
    add_server(api, "mysql-server-eu", "eu")
    result = run()
    assert result["failed"] is True
    assert result["mysqldatabase_failure"] == {
        "reason": "ServerNotFound",
        "message": f"{start} piwik.pro/mysql-server=default in namespace {OPERATOR_NS}; the platform team "
        "creates exactly one per server (keys host, port, username, password).",
    }
    assert result["reason"] == "ServerNotFound"


def test_incomplete_server_secret_names_the_keys_never_the_values(api: SecretsApi, run) -> None:
    api.add(
        OPERATOR_NS, "mysql-server-default", {LABEL: "default"}, data={"host": b64("h"), "password": b64("hunter2")}
    )
    result = run()
    assert result["mysqldatabase_failure"]["reason"] == "ServerSecretInvalid"
    assert result["mysqldatabase_failure"]["message"] == (
        f"Secret {OPERATOR_NS}/mysql-server-default: key username is missing or not UTF-8"
    )
    assert "hunter2" not in json.dumps(result)


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"ownerReferences": [{"kind": "MySQLDatabase", "uid": "u2"}]},
        {"ownerReferences": [{"kind": "Job", "uid": "u1"}]},
    ],
)
def test_an_app_secret_owned_by_anything_else_is_refused(api: SecretsApi, run, metadata: dict) -> None:
    add_server(api)
    api.add("team-a", "shop", data={"password": b64("theirs")})["metadata"].update(metadata)
    result = run(namespace="team-a", name="shop", owner_uid="u1")
    assert result["mysqldatabase_failure"] == {
        "reason": "SecretNotOwned",
        "message": "Secret team-a/shop exists and is not owned by this MySQLDatabase; set spec.secretName to "
        "another name or delete that Secret.",
    }
    assert "theirs" not in json.dumps(result) and b64("theirs") not in json.dumps(result)


def test_without_owner_uid_an_app_secret_is_read_but_never_owned(api: SecretsApi, run) -> None:
    add_server(api)
    api.add("team-a", "shop", data={"password": b64("pw")})["metadata"].update(OWNED)
    result = run(namespace="team-a", name="shop")
    assert (result["app_secret"]["exists"], result["app_secret"]["owned"], result["app_secret"]["password"]) == (
        True,
        False,
        "",
    )


def test_api_errors_fail_with_reason_and_status(api: SecretsApi, run) -> None:
    api.errors["GET", "/api/v1/namespaces/team-a/secrets/shop"] = (
        403,
        {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "secrets is forbidden"},
    )
    add_server(api)
    result = run(namespace="team-a", name="shop")
    assert result["failed"] is True
    assert (result["reason"], result["status_code"]) == ("SecretReadFailed", 403)
    assert "secrets is forbidden" in result["msg"]


def test_name_needs_a_namespace(run) -> None:
    result = run(name="shop")
    assert result["failed"] is True
    assert "namespace" in result["msg"]


def test_operator_kubeconfig_user_is_sent(api: SecretsApi, run, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("users:\n- name: admin/proxy-server\n  user:\n    username: b3duZXI=\n    password: unused\n")
    add_server(api)
    run(kubeconfig=str(kubeconfig))
    assert api.requests[0]["headers"]["Authorization"] == "Basic YjNkdVpYST06dW51c2Vk"
