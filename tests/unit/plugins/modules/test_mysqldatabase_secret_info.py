"""Unit tests for the mysqldatabase_secret_info module, against a small fake API server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import mysqldatabase_secret_info
import pytest

from tests.unit.plugins.modules.secrets_api import SecretsApi, module_runner

OPERATOR_NS = "external-mysql-operator-system"
SERVER_PATH = "/apis/piwik.pro/v1/mysqlservers/default"
CREDENTIALS_PATH = f"/api/v1/namespaces/{OPERATOR_NS}/secrets/admin"
APP_PATH = "/api/v1/namespaces/team-a/secrets/shop"
SPEC = {"host": "db.internal", "port": 3307, "credentialsSecretRef": {"name": "admin"}}
READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "Connected", "message": "ok"}]}
OWNED = {"ownerReferences": [{"apiVersion": "piwik.pro/v1", "kind": "MySQLDatabase", "name": "shop", "uid": "u1"}]}
ONLY_SHOP = {"namespaceSelector": {"matchLabels": {"team": "shop"}}}


@pytest.fixture
def run(api: SecretsApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    server = {"server_namespace": OPERATOR_NS, "server_name": "default"}
    return module_runner(mysqldatabase_secret_info.main, monkeypatch, capsys, api_url=api.url, **server)


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def add_server(api: SecretsApi, spec: dict | None = None, generation: int = 1, ready: bool = True) -> dict:
    """A MySQLServer whose last check saw its current generation, and its credentials Secret."""
    api.add(OPERATOR_NS, "admin", data={"username": b64("admin"), "password": b64("s3cret")})
    status = {**READY, "observedGeneration": generation} if ready else {}
    return api.add_server("default", spec or SPEC, status, generation)


def paths(api: SecretsApi) -> list[str]:
    return [request["path"] for request in api.requests]


def test_reads_the_server_its_credentials_and_the_owned_app_secret(api: SecretsApi, run) -> None:
    add_server(api)
    app = api.add("team-a", "shop", data={"password": b64("pw")})
    app["metadata"].update(OWNED, annotations={"piwik.pro/password-rotation": "r1"})

    result = run(namespace="team-a", name="shop", owner_uid="u1")

    assert result["changed"] is False
    revision = result["server"].pop("revision")
    assert result["server"] == {
        "name": "default",
        "host": "db.internal",
        "port": 3307,
        "username": "admin",
        "password": "s3cret",
        "publish_host": "db.internal",
        "publish_port": 3307,
        "tls_mode": "Disabled",
        "ca_cert": "",
        "max_databases_per_namespace": 0,
    }
    assert len(revision) == 16
    summary = result["app_secret"]
    assert {key: summary[key] for key in ("exists", "owned", "password", "rotation", "data", "type")} == {
        "exists": True,
        "owned": True,
        "password": "pw",
        "rotation": "r1",
        "data": {"password": b64("pw")},
        "type": "Opaque",
    }
    # What the role compares besides the data, to tell whether the Secret needs writing.
    assert set(summary["metadata"]) == {"labels", "annotations", "ownerReferences"}
    assert summary["metadata"]["annotations"] == {"piwik.pro/password-rotation": "r1"}
    assert paths(api) == [SERVER_PATH, CREDENTIALS_PATH, APP_PATH]
    assert api.writes() == []


def test_tls_and_quota_settings_of_the_server_are_returned(api: SecretsApi, run) -> None:
    api.add(OPERATOR_NS, "ca", data={"ca.crt": b64("-----BEGIN CERTIFICATE-----")})
    spec = {
        **SPEC,
        "tls": {"mode": "VerifyIdentity", "caSecretRef": {"name": "ca"}},
        "tenancy": {"maxDatabasesPerNamespace": 3},
    }
    add_server(api, spec)

    server = run()["server"]

    assert (server["tls_mode"], server["ca_cert"]) == ("VerifyIdentity", "-----BEGIN CERTIFICATE-----")
    assert server["max_databases_per_namespace"] == 3


def test_missing_app_secret_is_summarised_as_absent(api: SecretsApi, run) -> None:
    add_server(api)

    result = run(namespace="team-a", name="shop", owner_uid="u1")

    assert result["app_secret"] == {
        "exists": False,
        "owned": False,
        "password": "",
        "rotation": "",
        "data": {},
        "type": "",
        "metadata": {},
    }


def test_without_a_name_only_the_server_and_its_credentials_are_read(api: SecretsApi, run) -> None:
    add_server(api)

    result = run()

    assert result["server"]["host"] == "db.internal"
    assert result["app_secret"]["exists"] is False
    assert paths(api) == [SERVER_PATH, CREDENTIALS_PATH]


def test_missing_server_is_server_not_found(api: SecretsApi, run) -> None:
    result = run(server_name="eu", namespace="team-a", name="shop")

    assert (result["failed"], result["reason"]) == (True, "ServerNotFound")
    assert "'eu'" in result["msg"] and "spec.serverRef.name" in result["msg"]
    assert paths(api) == ["/apis/piwik.pro/v1/mysqlservers/eu"]


def test_finalizer_gets_server_found_false_for_a_missing_server(api: SecretsApi, run) -> None:
    result = run(server_name="eu", namespace="team-a", require_ready=False, allow_missing_server=True)

    assert result.get("failed") is not True
    assert (result["server_found"], result["server"]) == (False, {})


def test_an_existing_server_is_found_also_when_a_missing_one_is_allowed(api: SecretsApi, run) -> None:
    add_server(api, ready=False)

    result = run(namespace="team-a", require_ready=False, allow_missing_server=True)

    assert result["server_found"] is True and result["server"]["host"] == "db.internal"


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        ({}, "has not been checked yet since its last change"),
        ({**READY, "observedGeneration": 1}, "has not been checked yet since its last change"),
        (
            {
                "conditions": [{"type": "Ready", "status": "False", "reason": "TLSFailed", "message": "bad CA"}],
                "observedGeneration": 2,
            },
            "is not Ready: TLSFailed: bad CA",
        ),
    ],
    ids=["never-checked", "checked-before-its-change", "failed-check"],
)
def test_server_not_ready_is_refused_before_its_secrets_are_read(
    api: SecretsApi, run, status: dict, detail: str
) -> None:
    api.add_server("default", SPEC, status, generation=2)

    result = run(namespace="team-a", name="shop")

    assert (result["failed"], result["reason"]) == (True, "ServerNotReady")
    assert result["msg"] == f"MySQLServer default {detail}. Nothing was changed on the server."
    assert paths(api) == [SERVER_PATH]


def test_without_require_ready_a_server_not_ready_nor_serving_the_namespace_is_read(api: SecretsApi, run) -> None:
    # The finalizer: cleanup is attempted whatever the server's last check and tenancy say.
    add_server(api, {**SPEC, "tenancy": ONLY_SHOP}, ready=False)
    api.add_namespace("team-a", {"team": "blog"})

    result = run(require_ready=False, namespace="team-a")

    assert "failed" not in result
    assert result["server"]["password"] == "s3cret"
    assert "/api/v1/namespaces/team-a" not in paths(api)


def test_namespace_outside_the_tenancy_selector_is_server_not_allowed(api: SecretsApi, run) -> None:
    add_server(api, {**SPEC, "tenancy": ONLY_SHOP})
    api.add_namespace("team-a", {"team": "blog"})

    result = run(namespace="team-a", name="shop")

    assert (result["failed"], result["reason"]) == (True, "ServerNotAllowed")
    assert "team-a" in result["msg"] and "namespaceSelector" in result["msg"]
    assert CREDENTIALS_PATH not in paths(api)


def test_namespace_matching_the_tenancy_selector_is_served(api: SecretsApi, run) -> None:
    add_server(api, {**SPEC, "tenancy": ONLY_SHOP})
    api.add_namespace("team-a", {"team": "shop"})

    result = run(namespace="team-a", name="shop")

    assert "failed" not in result
    assert "/api/v1/namespaces/team-a" in paths(api)


def test_missing_credentials_secret_is_credentials_not_found(api: SecretsApi, run) -> None:
    api.add_server("default", SPEC, {**READY, "observedGeneration": 1})

    result = run()

    assert (result["failed"], result["reason"]) == (True, "CredentialsNotFound")
    assert f"{OPERATOR_NS}/admin" in result["msg"]


def test_credentials_are_read_in_server_namespace_only(api: SecretsApi, run) -> None:
    add_server(api, {**SPEC, "credentialsSecretRef": {"name": "admin", "namespace": "team-a"}})
    api.secrets["team-a", "admin"] = api.secrets.pop((OPERATOR_NS, "admin"))

    result = run(namespace="team-a")

    assert result["reason"] == "CredentialsNotFound"
    assert "/api/v1/namespaces/team-a/secrets/admin" not in paths(api)


def test_incomplete_credentials_name_the_keys_never_the_values(api: SecretsApi, run) -> None:
    add_server(api)
    api.secrets[OPERATOR_NS, "admin"]["data"] = {"password": b64("hunter2")}

    result = run()

    assert result["reason"] == "CredentialsNotFound"
    assert result["msg"] == f"MySQLServer default: Secret {OPERATOR_NS}/admin lacks username (or it is not UTF-8 text)."
    assert "hunter2" not in json.dumps(result) and b64("hunter2") not in json.dumps(result)


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

    assert (result["failed"], result["reason"]) == (True, "SecretNotOwned")
    assert result["msg"] == (
        "Secret team-a/shop exists and is not owned by this MySQLDatabase; set spec.secretName to "
        "another name or delete that Secret."
    )
    shown = json.dumps(result)
    assert "theirs" not in shown and b64("theirs") not in shown and "s3cret" not in shown


def test_without_owner_uid_an_app_secret_is_read_but_never_owned(api: SecretsApi, run) -> None:
    add_server(api)
    api.add("team-a", "shop", data={"password": b64("pw")})["metadata"].update(OWNED)

    summary = run(namespace="team-a", name="shop")["app_secret"]

    assert (summary["exists"], summary["owned"], summary["password"]) == (True, False, "")


@pytest.mark.parametrize(
    "path", [SERVER_PATH, CREDENTIALS_PATH, APP_PATH, "/api/v1/namespaces/team-a"], ids=lambda p: p.split("/")[-2]
)
def test_api_errors_fail_with_reason_and_status(api: SecretsApi, run, path: str) -> None:
    add_server(api, {**SPEC, "tenancy": ONLY_SHOP})
    api.add_namespace("team-a", {"team": "shop"})
    api.errors["GET", path] = (403, {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "is forbidden"})

    result = run(namespace="team-a", name="shop")

    assert result["failed"] is True
    assert (result["reason"], result["status_code"]) == ("SecretReadFailed", 403)
    assert "is forbidden" in result["msg"]


def test_unreachable_api_fails_with_status_code_zero(run) -> None:
    result = run(api_url="http://127.0.0.1:9")

    assert (result["failed"], result["reason"], result["status_code"]) == (True, "SecretReadFailed", 0)


def test_name_needs_a_namespace(run) -> None:
    result = run(name="shop")

    assert result["failed"] is True
    assert "namespace" in result["msg"]


def test_operator_kubeconfig_user_is_sent(api: SecretsApi, run, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("users:\n- name: admin/proxy-server\n  user:\n    username: b3duZXI=\n    password: unused\n")
    add_server(api)

    run(kubeconfig=str(kubeconfig))

    assert {request["headers"]["Authorization"] for request in api.requests} == {"Basic YjNkdVpYST06dW51c2Vk"}
