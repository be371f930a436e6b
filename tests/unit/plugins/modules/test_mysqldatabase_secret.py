"""Unit tests for the mysqldatabase_secret module, against a small fake API server."""

from __future__ import annotations

from typing import Any

import mysqldatabase_secret
import pytest

from tests.unit.plugins.modules.secrets_api import SecretsApi, module_runner

SECRET_PATH = "/api/v1/namespaces/team-a/secrets/shop"
DEFINITION = {
    "apiVersion": "v1",
    "kind": "Secret",
    "type": "Opaque",
    "metadata": {
        "name": "shop",
        "namespace": "team-a",
        "labels": {"app.kubernetes.io/managed-by": "external-mysql-operator"},
        "ownerReferences": [{"apiVersion": "piwik.pro/v1", "kind": "MySQLDatabase", "name": "shop", "uid": "u1"}],
    },
}
DATA = {"password": "c2VjcmV0LXB3"}


@pytest.fixture
def run(api: SecretsApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    main = mysqldatabase_secret.main
    return module_runner(main, monkeypatch, capsys, api_url=api.url, definition=DEFINITION, data=DATA)


def test_absent_secret_is_created_with_definition_and_data(api: SecretsApi, run) -> None:
    result = run()
    assert (result["changed"], result["method"]) == (True, "create")
    (write,) = api.writes()
    assert (write["method"], write["path"]) == ("POST", "/api/v1/namespaces/team-a/secrets")
    assert write["body"] == {**DEFINITION, "data": DATA}
    assert result["metadata"] == {"name": "shop", "namespace": "team-a", "uid": "uid-new", "resourceVersion": "1"}


def test_existing_secret_is_replaced_whole(api: SecretsApi, run) -> None:
    api.add("team-a", "shop", {"stale": "label"}, data={"password": "b2xk", "extra": "eA=="})
    result = run()
    assert (result["changed"], result["method"]) == (True, "replace")
    (write,) = api.writes()
    assert (write["method"], write["path"]) == ("PUT", SECRET_PATH)
    assert api.secrets["team-a", "shop"]["data"] == DATA
    assert api.secrets["team-a", "shop"]["metadata"]["labels"] == DEFINITION["metadata"]["labels"]


def _stored(**metadata: Any) -> dict[str, Any]:
    """The Secret as DEFINITION and DATA would have written it, with metadata changed as given."""
    return {**DEFINITION, "data": dict(DATA), "metadata": {**DEFINITION["metadata"], **metadata}}


def test_a_secret_already_as_asked_is_not_written(api: SecretsApi, run) -> None:
    # Extra labels and the owner reference ansible-operator's proxy appends do not make it differ.
    references = [*DEFINITION["metadata"]["ownerReferences"], {"kind": "MySQLDatabase", "uid": "u1", "name": "x"}]
    api.secrets["team-a", "shop"] = _stored(
        uid="uid-old",
        resourceVersion="7",
        labels={**DEFINITION["metadata"]["labels"], "team": "a"},
        ownerReferences=references,
    )
    result = run()
    assert (result["changed"], result["method"]) == (False, "none")
    assert api.writes() == []
    assert result["metadata"] == {"name": "shop", "namespace": "team-a", "uid": "uid-old", "resourceVersion": "7"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("data", {"password": "b3RoZXI="}),
        ("data", {**DATA, "extra": "eA=="}),
        ("type", "kubernetes.io/basic-auth"),
        ("labels", {}),
        ("annotations", {"piwik.pro/password-rotation": "old"}),
        ("ownerReferences", [{"apiVersion": "piwik.pro/v1", "kind": "MySQLDatabase", "name": "shop", "uid": "u0"}]),
    ],
)
def test_any_difference_in_what_is_asked_replaces_the_secret(api: SecretsApi, run, field: str, value: Any) -> None:
    definition = {
        **DEFINITION,
        "metadata": {**DEFINITION["metadata"], "annotations": {"piwik.pro/password-rotation": "r2"}},
    }
    stored = {**definition, "data": dict(DATA)}
    if field in ("data", "type"):
        stored[field] = value
    else:
        stored["metadata"] = {**definition["metadata"], field: value}
    api.secrets["team-a", "shop"] = stored
    result = run(definition=definition)
    assert (result["changed"], result["method"]) == (True, "replace")
    (write,) = api.writes()
    assert write["body"] == {**definition, "data": DATA}


def test_check_mode_reads_but_never_writes(api: SecretsApi, run) -> None:
    result = run(check_mode=True)
    assert (result["changed"], result["method"]) == (True, "create")
    assert api.writes() == []


def test_data_never_appears_in_the_result(api: SecretsApi, run) -> None:
    result = run()
    assert "c2VjcmV0LXB3" not in str(result)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({**DEFINITION, "kind": "ConfigMap"}, "core/v1 Secret"),
        ({**DEFINITION, "metadata": {"name": "shop"}}, "metadata.namespace"),
        ({**DEFINITION, "data": DATA}, "data option"),
    ],
    ids=["not-a-secret", "no-namespace", "data-in-definition"],
)
def test_bad_definitions_are_refused_before_any_request(api: SecretsApi, run, definition: dict, message: str) -> None:
    result = run(definition=definition)
    assert result["failed"] is True
    assert message in result["msg"]
    assert api.requests == []


def test_api_errors_fail_with_reason_and_status(api: SecretsApi, run) -> None:
    api.errors["POST", "/api/v1/namespaces/team-a/secrets"] = (
        422,
        {"kind": "Status", "code": 422, "reason": "Invalid", "message": "data is invalid"},
    )
    result = run()
    assert result["failed"] is True
    assert (result["reason"], result["status_code"]) == ("SecretWriteFailed", 422)
    assert "data is invalid" in result["msg"]
