"""Unit tests for the mysqlserver_dependents module, against the small fake API server."""

from __future__ import annotations

import time
from typing import Any

import mysqlserver_dependents
import pytest

from tests.unit.plugins.modules.secrets_api import SecretsApi, module_runner

ANNOTATION = "piwik.pro/server-revision"
LIST_PATH = "/apis/piwik.pro/v1/mysqldatabases"
READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled"}]}
NOT_READY = {"conditions": [{"type": "Ready", "status": "False", "reason": "ServerNotReady"}]}


@pytest.fixture
def run(api: SecretsApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    return module_runner(mysqlserver_dependents.main, monkeypatch, capsys, api_url=api.url, server_name="default")


def database(
    api: SecretsApi, namespace: str, name: str, server: str | None = None, revision: str | None = None, **fields: Any
) -> dict:
    """A MySQLDatabase on `server` (serverRef unset when None), Ready unless `status` says otherwise."""
    spec = {"serverRef": {"name": server}} if server else {}
    annotations = {ANNOTATION: revision} if revision else {}
    obj = api.add_database(namespace, name, spec, annotations=annotations, **fields.pop("metadata", {}))
    obj["status"] = fields.pop("status", READY)
    return obj


def path(namespace: str, name: str) -> str:
    return f"/apis/piwik.pro/v1/namespaces/{namespace}/mysqldatabases/{name}"


def annotation(api: SecretsApi, namespace: str, name: str) -> str | None:
    return api.objects[path(namespace, name)]["metadata"]["annotations"].get(ANNOTATION)


def patches(api: SecretsApi) -> list[str]:
    return [request["path"] for request in api.writes() if request["method"] == "PATCH"]


# --- listing -------------------------------------------------------------------------------------


def test_lists_the_databases_of_every_namespace_on_the_server(api: SecretsApi, run) -> None:
    database(api, "team-a", "shop", "eu")
    database(api, "team-b", "blog", "eu")
    database(api, "team-b", "wiki", "us")

    result = run(server_name="eu")

    assert (result["dependents"], result["count"]) == (["team-a/shop", "team-b/blog"], 2)
    assert [request["path"] for request in api.requests] == [LIST_PATH]


@pytest.mark.parametrize("spec", [{}, {"serverRef": {}}, {"serverRef": {"name": ""}}, {"serverRef": None}])
def test_database_without_a_server_name_is_on_the_default_server(api: SecretsApi, run, spec: dict) -> None:
    api.add_database("team-a", "shop", spec)

    assert run(server_name="default")["dependents"] == ["team-a/shop"]
    assert run(server_name="eu")["dependents"] == []


def test_databases_being_deleted_get_no_revision(api: SecretsApi, run) -> None:
    database(api, "team-a", "shop", metadata={"deletionTimestamp": "2026-01-01T00:00:00Z"})
    database(api, "team-a", "blog")

    result = run(revision="r2")

    assert (result["dependents"], result["touched"]) == (["team-a/blog"], ["team-a/blog"])
    assert patches(api) == [path("team-a", "blog")]


def test_databases_being_deleted_still_hold_the_server_in_its_finalizer(api: SecretsApi, run) -> None:
    # Their cleanup needs the server: the finalizer's listing (no revision) counts them.
    database(api, "team-a", "shop", metadata={"deletionTimestamp": "2026-01-01T00:00:00Z"})

    assert run()["dependents"] == ["team-a/shop"]


def test_without_a_revision_nothing_is_annotated(api: SecretsApi, run) -> None:
    database(api, "team-a", "shop", status=NOT_READY)

    result = run()

    assert (result["changed"], result["touched"], result["count"]) == (False, [], 1)
    assert api.writes() == []


def test_no_databases_is_an_empty_list(run) -> None:
    result = run(revision="r1")

    assert (result["changed"], result["dependents"], result["count"], result["touched"]) == (False, [], 0, [])


# --- pushing the revision ------------------------------------------------------------------------


@pytest.mark.parametrize("current", [None, "r1", "r1/1700000000", "r22"])
def test_database_with_another_revision_gets_the_new_one(api: SecretsApi, run, current: str | None) -> None:
    database(api, "team-a", "shop", revision=current)

    result = run(revision="r2")

    assert (result["changed"], result["touched"]) == (True, ["team-a/shop"])
    assert annotation(api, "team-a", "shop") == "r2"
    (patch,) = api.writes()
    assert patch["method"] == "PATCH" and patch["headers"]["Content-Type"] == "application/merge-patch+json"
    assert patch["body"] == {"metadata": {"annotations": {ANNOTATION: "r2"}}}


@pytest.mark.parametrize("current", [None, "r1", "r2/1700000000"], ids=["new", "older-annotation", "retried"])
def test_ready_database_reconciled_with_this_revision_is_left_alone(api: SecretsApi, run, current: str | None) -> None:
    # What counts is the revision its last reconcile used, not the annotation: a database created since
    # the server's last check carries no annotation and needs no second reconcile.
    database(api, "team-a", "shop", revision=current, status={**READY, "serverRevision": "r2"})

    result = run(revision="r2")

    assert (result["changed"], result["touched"]) == (False, [])
    assert api.writes() == []


def not_ready(reason: str) -> dict:
    return {"conditions": [{"type": "Ready", "status": "False", "reason": reason}]}


@pytest.mark.parametrize("reason", ["ServerNotReady", "ServerNotAllowed", "QuotaExceeded", "ServerNotFound"])
def test_database_refused_for_a_server_side_reason_is_retried_with_a_fresh_value(
    api: SecretsApi, run, reason: str
) -> None:
    database(api, "team-a", "shop", revision="r2/1700000000", status=not_ready(reason))

    result = run(revision="r2")

    assert result["touched"] == ["team-a/shop"]
    assert annotation(api, "team-a", "shop") == "r2"


def test_a_retry_whose_annotation_already_names_the_revision_gets_a_fresh_value(api: SecretsApi, run) -> None:
    # The same value again would not change the object, and so would not reconcile it.
    database(api, "team-a", "shop", revision="r2", status=not_ready("ServerNotReady"))
    before = int(time.time())

    run(revision="r2")

    revision, stamp = annotation(api, "team-a", "shop").split("/")
    assert revision == "r2" and before <= int(stamp) <= int(time.time())


@pytest.mark.parametrize(
    "status", [not_ready("InvalidSpec"), not_ready("Conflict"), {}], ids=["invalid-spec", "conflict", "no-condition"]
)
def test_database_refused_for_its_own_spec_is_left_alone(api: SecretsApi, run, status: dict) -> None:
    # Only an edit of the CR heals these, and an edit reconciles it anyway.
    database(api, "team-a", "shop", revision="r2", status=status)

    assert run(revision="r2")["touched"] == []
    assert api.writes() == []


def test_retry_not_ready_false_leaves_a_database_with_this_revision_alone(api: SecretsApi, run) -> None:
    database(api, "team-a", "shop", revision="r2", status=NOT_READY)

    assert run(revision="r2", retry_not_ready=False)["touched"] == []
    assert api.writes() == []


def test_only_the_annotation_is_patched(api: SecretsApi, run) -> None:
    obj = database(api, "team-a", "shop", "default", metadata={"labels": {"app": "shop"}})
    obj["metadata"]["annotations"]["other"] = "kept"

    run(revision="r2")

    stored = api.objects[path("team-a", "shop")]
    assert stored["spec"] == {"serverRef": {"name": "default"}}
    assert stored["metadata"]["annotations"] == {"other": "kept", ANNOTATION: "r2"}
    assert stored["metadata"]["labels"] == {"app": "shop"}


def test_check_mode_reports_what_it_would_annotate_and_patches_nothing(api: SecretsApi, run) -> None:
    database(api, "team-a", "shop", revision="r1")
    database(api, "team-b", "blog", revision="r2", status=NOT_READY)

    result = run(revision="r2", check_mode=True)

    assert (result["changed"], result["touched"]) == (True, ["team-a/shop", "team-b/blog"])
    assert api.writes() == []
    assert annotation(api, "team-a", "shop") == "r1"


# --- failures ------------------------------------------------------------------------------------


def test_database_deleted_before_its_patch_is_skipped(api: SecretsApi, run) -> None:
    database(api, "team-a", "gone")
    database(api, "team-a", "shop")
    api.errors["PATCH", path("team-a", "gone")] = (404, {"kind": "Status", "code": 404, "message": "not found"})

    result = run(revision="r2")

    assert "failed" not in result
    assert annotation(api, "team-a", "shop") == "r2"


@pytest.mark.parametrize(("method", "where"), [("GET", LIST_PATH), ("PATCH", path("team-a", "shop"))])
def test_api_errors_fail_with_reason_and_msg(api: SecretsApi, run, method: str, where: str) -> None:
    database(api, "team-a", "shop")
    api.errors[method, where] = (403, {"kind": "Status", "code": 403, "message": "mysqldatabases is forbidden"})

    result = run(revision="r2")

    assert (result["failed"], result["reason"]) == (True, "DependentsFailed")
    assert "mysqldatabases is forbidden" in result["msg"]


def test_one_database_refusing_its_annotation_does_not_fail_the_check(api: SecretsApi, run) -> None:
    # Failing would mark the server not Ready for every tenant because of one object.
    database(api, "team-a", "broken")
    database(api, "team-a", "shop")
    api.errors["PATCH", path("team-a", "broken")] = (422, {"kind": "Status", "code": 422, "message": "invalid"})

    result = run(revision="r2")

    assert result.get("failed") is not True
    assert result["touched"] == ["team-a/shop"] and annotation(api, "team-a", "shop") == "r2"
    assert len(result["failed_patches"]) == 1 and result["failed_patches"][0].startswith("team-a/broken: ")
    assert any("team-a/broken" in warning for warning in result["warnings"])


def test_unreachable_api_fails_with_reason(run) -> None:
    result = run(api_url="http://127.0.0.1:9")

    assert (result["failed"], result["reason"]) == (True, "DependentsFailed")
