"""Unit tests for the mysqldatabase_secret_info module, against a small fake API server."""

from __future__ import annotations

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


def test_reads_the_labelled_server_secret_and_the_app_secret(api: SecretsApi, run) -> None:
    server = api.add(OPERATOR_NS, "mysql-server-default", {LABEL: "default"}, data={"host": "aG9zdA=="})
    api.add(OPERATOR_NS, "mysql-server-eu", {LABEL: "eu"})
    app = api.add("team-a", "shop", data={"password": "cHc="})
    result = run(namespace="team-a", name="shop")
    assert result["changed"] is False
    assert result["server_secrets"] == [server]
    assert result["app_secret"] == app
    assert [r["method"] for r in api.requests] == ["GET", "GET"]
    assert (
        api.requests[0]["path"]
        == f"/api/v1/namespaces/{OPERATOR_NS}/secrets?labelSelector=piwik.pro%2Fmysql-server%3Ddefault"
    )


def test_missing_app_secret_is_empty(api: SecretsApi, run) -> None:
    result = run(namespace="team-a", name="shop")
    assert result["server_secrets"] == []
    assert result["app_secret"] == {}


def test_without_a_name_only_the_server_secrets_are_read(api: SecretsApi, run) -> None:
    api.add(OPERATOR_NS, "one", {LABEL: "default"})
    api.add(OPERATOR_NS, "two", {LABEL: "default"})
    result = run()
    assert [s["metadata"]["name"] for s in result["server_secrets"]] == ["one", "two"]
    assert result["app_secret"] == {}
    assert len(api.requests) == 1


def test_api_errors_fail_with_reason_and_status(api: SecretsApi, run) -> None:
    api.errors["GET", "/api/v1/namespaces/team-a/secrets/shop"] = (
        403,
        {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "secrets is forbidden"},
    )
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
    run(kubeconfig=str(kubeconfig))
    assert api.requests[0]["headers"]["Authorization"] == "Basic YjNkdVpYST06dW51c2Vk"
