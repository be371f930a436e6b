"""Unit tests for the mysqldatabase_status module, against a small fake API server."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import mysqldatabase_status
import pytest
from ansible.module_utils.mysqldatabase_k8s import apply_merge_patch

from tests.unit.plugins.modules.secrets_api import JsonHandler, module_runner, serving

CR_PATH = "/apis/piwik.pro/v1/namespaces/team-a/mysqldatabases/app"
STATUS_PATH = CR_PATH + "/status"
EVENTS_PATH = "/api/v1/namespaces/team-a/events"
SERVER_PATH = "/apis/piwik.pro/v1/mysqlservers/eu"
OLD_TIME = "2020-01-01T00:00:00Z"
RUNNING = {
    "type": "Running",
    "status": "True",
    "reason": "Running",
    "message": "Running reconciliation",
    "lastTransitionTime": OLD_TIME,
}


def ready(status: str = "True", reason: str = "Reconciled", message: str = "All set", **extra: Any) -> dict:
    condition = {"type": "Ready", "status": status, "reason": reason, "message": message}
    return {**condition, "lastTransitionTime": OLD_TIME, "observedGeneration": 2, **extra}


class FakeKube(ThreadingHTTPServer):
    """Serves one object at `path` (a MySQLDatabase unless a test puts another), applies merge patches to
    its status and accepts events in any namespace."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), JsonHandler)
        self.obj: dict[str, Any] | None = {
            "apiVersion": "piwik.pro/v1",
            "kind": "MySQLDatabase",
            "metadata": {"name": "app", "namespace": "team-a", "uid": "uid-1", "generation": 2},
            "spec": {},
        }
        self.path = CR_PATH
        self.requests: list[dict[str, Any]] = []
        self.errors: dict[tuple[str, str], tuple[int, dict]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def writes(self) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["method"] != "GET"]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, dict]:
        if (method, path) in self.errors:
            return self.errors[method, path]
        if method == "POST" and path.startswith("/api/v1/namespaces/") and path.endswith("/events"):
            name = f"{body['metadata']['generateName']}{len(self.writes()):x}"
            return 201, {**body, "metadata": {**body["metadata"], "name": name}}
        if self.obj is None or path not in (self.path, self.path + "/status"):
            return 404, {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}
        if method == "PATCH":
            self.obj["status"] = apply_merge_patch(self.obj.get("status"), body["status"])
        return 200, self.obj


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with serving(FakeKube) as server:
        yield server


@pytest.fixture
def run(kube: FakeKube, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    ready = {"ready": True, "reason": "Reconciled", "message": "All set"}
    main = mysqldatabase_status.main
    return module_runner(main, monkeypatch, capsys, api_url=kube.url, namespace="team-a", name="app", **ready)


def test_first_status_is_one_merge_patch_of_ready_and_fields(kube: FakeKube, run) -> None:
    result = run(fields={"database": "app", "secretName": "app"}, observed_generation=2)
    assert result["changed"] is True
    patch = kube.writes()
    assert [(request["method"], request["path"]) for request in patch] == [("PATCH", STATUS_PATH)]
    assert patch[0]["headers"]["Content-Type"] == "application/merge-patch+json"
    assert result["patch"] == patch[0]["body"]
    body = copy.deepcopy(patch[0]["body"])
    (condition,) = body["status"].pop("conditions")
    assert body == {"status": {"database": "app", "secretName": "app", "observedGeneration": 2}}
    assert condition.pop("lastTransitionTime").endswith("Z")
    assert condition == {
        "type": "Ready",
        "status": "True",
        "reason": "Reconciled",
        "message": "All set",
        "observedGeneration": 2,
    }


def test_other_conditions_are_kept_in_place(kube: FakeKube, run) -> None:
    synced = {"type": "Synced", "status": "True", "reason": "X", "message": "", "lastTransitionTime": OLD_TIME}
    kube.obj["status"] = {"conditions": [RUNNING, ready("False", "ServerUnreachable"), synced], "server": "eu"}
    run()
    conditions = kube.writes()[0]["body"]["status"]["conditions"]
    assert conditions[0] == RUNNING
    assert conditions[1]["type"] == "Ready"
    assert conditions[1]["status"] == "True"
    assert conditions[2] == synced
    assert kube.obj["status"]["server"] == "eu"


def test_unchanged_status_is_not_written(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [RUNNING, ready()], "database": "app", "observedGeneration": 2}
    result = run(fields={"database": "app"}, observed_generation=2)
    assert result["changed"] is False
    assert result["patch"] is None
    assert kube.writes() == []
    assert result["status"] == kube.obj["status"]


def test_last_transition_time_is_kept_while_ready_keeps_its_status(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [ready("False", "ServerUnreachable", "timed out")]}
    run(ready=False, reason="AdminAuthFailed", message="access denied")
    (condition,) = kube.writes()[0]["body"]["status"]["conditions"]
    assert (condition["reason"], condition["message"]) == ("AdminAuthFailed", "access denied")
    assert condition["lastTransitionTime"] == OLD_TIME


def test_last_transition_time_moves_when_ready_flips(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [ready("False", "ServerUnreachable")]}
    run()
    (condition,) = kube.writes()[0]["body"]["status"]["conditions"]
    assert condition["status"] == "True"
    assert condition["lastTransitionTime"] != OLD_TIME


def test_new_generation_is_a_change(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [ready()]}
    result = run(observed_generation=3)
    assert result["changed"] is True
    assert kube.obj["status"]["conditions"][0]["observedGeneration"] == 3
    assert kube.obj["status"]["conditions"][0]["lastTransitionTime"] == OLD_TIME


def test_observed_generation_defaults_to_the_objects(kube: FakeKube, run) -> None:
    kube.obj["metadata"]["generation"] = 7
    run()
    assert kube.obj["status"]["conditions"][0]["observedGeneration"] == 7


def test_null_field_removes_it_from_the_status(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [ready()], "adopted": True}
    result = run(fields={"adopted": None}, observed_generation=2)
    assert result["changed"] is True
    assert "adopted" not in kube.obj["status"]
    assert run(fields={"adopted": None}, observed_generation=2)["changed"] is False


def test_duplicate_ready_conditions_collapse_into_one(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [ready("False"), RUNNING, ready("False")]}
    run()
    conditions = kube.obj["status"]["conditions"]
    assert [condition["type"] for condition in conditions] == ["Ready", "Running"]


def test_events_name_the_resource_as_involved_object(kube: FakeKube, run) -> None:
    events = [
        {"type": "Warning", "reason": "InvalidSpec", "message": "spec.username is reserved"},
        {"reason": "SecretCreated", "message": "x" * 5000},
    ]
    result = run(events=events)
    posts = [request for request in kube.writes() if request["method"] == "POST"]
    assert [post["path"] for post in posts] == [EVENTS_PATH, EVENTS_PATH]
    first, second = (post["body"] for post in posts)
    assert first["involvedObject"] == {
        "apiVersion": "piwik.pro/v1",
        "kind": "MySQLDatabase",
        "name": "app",
        "namespace": "team-a",
        "uid": "uid-1",
    }
    assert first["metadata"] == {"generateName": "app.", "namespace": "team-a"}
    assert (first["type"], first["reason"], first["message"]) == ("Warning", "InvalidSpec", "spec.username is reserved")
    assert first["source"] == {"component": "external-mysql-operator"}
    assert first["reportingComponent"] == "external-mysql-operator"
    assert first["count"] == 1
    assert first["firstTimestamp"] == first["lastTimestamp"]
    assert (second["type"], len(second["message"])) == ("Normal", 1024)
    assert len(set(result["events"])) == 2
    assert all(name.startswith("app.") for name in result["events"])


@pytest.fixture
def server(kube: FakeKube) -> dict[str, Any]:
    """Arguments of a run for the cluster-scoped MySQLServer `eu`, which the fake serves instead."""
    kube.path = SERVER_PATH
    kube.obj = {
        "apiVersion": "piwik.pro/v1",
        "kind": "MySQLServer",
        "metadata": {"name": "eu", "uid": "uid-eu", "generation": 5},
        "spec": {},
    }
    return {"namespace": None, "kind": "MySQLServer", "plural": "mysqlservers", "name": "eu"}


def test_cluster_scoped_status_is_patched_at_the_objects_path(kube: FakeKube, run, server: dict) -> None:
    result = run(**server, reason="Connected", fields={"flavor": "mariadb"})

    assert result["changed"] is True
    assert [(r["method"], r["path"]) for r in kube.writes()] == [("PATCH", SERVER_PATH + "/status")]
    assert kube.obj["status"]["flavor"] == "mariadb"
    assert kube.obj["status"]["conditions"][0]["observedGeneration"] == 5


def test_cluster_scoped_events_go_to_default_without_an_involved_namespace(kube: FakeKube, run, server: dict) -> None:
    run(**server, events=[{"type": "Warning", "reason": "TLSFailed", "message": "bad CA"}])

    (post,) = [request for request in kube.writes() if request["method"] == "POST"]
    assert post["path"] == "/api/v1/namespaces/default/events"
    assert post["body"]["metadata"] == {"generateName": "eu.", "namespace": "default"}
    assert post["body"]["involvedObject"] == {
        "apiVersion": "piwik.pro/v1",
        "kind": "MySQLServer",
        "name": "eu",
        "uid": "uid-eu",
    }


def test_events_without_a_status_change_still_report_a_change(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [ready()], "observedGeneration": 2}
    result = run(observed_generation=2, events=[{"reason": "PasswordRotated", "message": "new password"}])
    assert result["changed"] is True
    assert [request["method"] for request in kube.writes()] == ["POST"]


def test_events_on_change_are_created_only_when_the_status_changes(kube: FakeKube, run) -> None:
    failure = {"type": "Warning", "reason": "ServerUnreachable", "message": "cannot connect"}
    run(ready=False, reason="ServerUnreachable", message="cannot connect", events_on_change=[failure])
    run(ready=False, reason="ServerUnreachable", message="cannot connect", events_on_change=[failure])
    posts = [request for request in kube.writes() if request["method"] == "POST"]
    assert len(posts) == 1
    assert posts[0]["body"]["reason"] == "ServerUnreachable"


def test_given_uid_wins_for_events(kube: FakeKube, run) -> None:
    run(uid="uid-from-role", events=[{"reason": "Deleted", "message": "gone"}])
    post = next(request for request in kube.writes() if request["method"] == "POST")
    assert post["body"]["involvedObject"]["uid"] == "uid-from-role"


def test_event_failure_is_a_warning(kube: FakeKube, run) -> None:
    forbidden = {"kind": "Status", "message": "namespace team-a is being terminated", "reason": "Forbidden"}
    kube.errors["POST", EVENTS_PATH] = (403, forbidden)
    result = run(events=[{"reason": "Deleted", "message": "gone"}])
    assert "failed" not in result
    assert result["events"] == []
    assert any("being terminated" in warning for warning in result["warnings"])


def test_deleted_resource_is_not_a_failure(kube: FakeKube, run) -> None:
    kube.obj = None
    result = run(events=[{"reason": "Deleted", "message": "gone"}])
    assert (result["changed"], result["found"]) == (False, False)
    assert "failed" not in result
    assert kube.writes() == []


def test_resource_deleted_before_the_patch_is_not_a_failure(kube: FakeKube, run) -> None:
    kube.errors["PATCH", STATUS_PATH] = (404, {"kind": "Status", "message": "not found"})
    result = run()
    assert (result["changed"], result["found"]) == (False, False)


@pytest.mark.parametrize(("method", "path"), [("GET", CR_PATH), ("PATCH", STATUS_PATH)])
def test_api_errors_fail_with_status_code_and_message(kube: FakeKube, run, method: str, path: str) -> None:
    message = 'mysqldatabases.piwik.pro "app" is forbidden: User "system:serviceaccount:x" cannot patch'
    kube.errors[method, path] = (403, {"kind": "Status", "code": 403, "reason": "Forbidden", "message": message})
    result = run()
    assert result["failed"] is True
    assert (result["reason"], result["status_code"]) == ("StatusUpdateFailed", 403)
    assert message in result["msg"]
    assert "team-a/app" in result["msg"]


def test_unreachable_api_fails_with_status_code_zero(run) -> None:
    result = run(api_url="http://127.0.0.1:9")
    assert (result["failed"], result["reason"], result["status_code"]) == (True, "StatusUpdateFailed", 0)


def test_check_mode_reports_without_writing(kube: FakeKube, run) -> None:
    kube.obj["status"] = {"conditions": [RUNNING]}
    result = run(check_mode=True, diff=True, fields={"database": "app"}, events=[{"reason": "X", "message": "y"}])
    assert result["changed"] is True
    assert kube.writes() == []
    assert result["patch"]["status"]["database"] == "app"
    assert result["status"]["conditions"][0] == RUNNING
    assert result["diff"]["before"] == {"status": {"conditions": [RUNNING]}}
    assert result["diff"]["after"]["status"]["database"] == "app"


def test_api_url_defaults_to_k8s_auth_host(kube: FakeKube, run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K8S_AUTH_HOST", kube.url)
    monkeypatch.setenv("K8S_AUTH_API_KEY", "env-token")
    assert run(api_url=None)["found"] is True
    assert kube.requests[0]["headers"]["Authorization"] == "Bearer env-token"


def test_api_url_default_is_the_operator_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("K8S_AUTH_HOST", raising=False)
    assert mysqldatabase_status.ARGUMENT_SPEC["api_url"]["default"] == "http://localhost:8888"


def test_api_key_is_never_echoed(kube: FakeKube, run) -> None:
    kube.errors["GET", CR_PATH] = (401, {"kind": "Status", "message": "Unauthorized"})
    result = run(api_key="sup3r-s3cret-token")
    assert "sup3r-s3cret-token" not in json.dumps(result)


@pytest.mark.parametrize(
    "args",
    [
        {"reason": "not camel"},
        {"reason": "lowerCase"},
        {"events": [{"reason": "Bad Reason", "message": "x"}]},
        {"events": [{"type": "Error", "reason": "X", "message": "x"}]},
        {"fields": {"conditions": []}},
    ],
)
def test_caller_mistakes_fail_before_any_request(kube: FakeKube, run, args: dict[str, Any]) -> None:
    assert run(**args)["failed"] is True
    assert kube.requests == []
