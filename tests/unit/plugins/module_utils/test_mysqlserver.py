"""MySQLServer objects as the modules read them: tenancy selectors, readiness and the connection."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from ansible.module_utils.mysqldatabase_k8s import K8sApiError, K8sClient
from ansible.module_utils.mysqlserver import (
    Refusal,
    connection,
    read_server,
    require_allowed,
    require_ready,
    selector_matches,
    watch_for,
)

from tests.unit.plugins.modules.secrets_api import SecretsApi, serving

OPERATOR_NS = "external-mysql-operator-system"
SPEC = {"host": "db.internal", "credentialsSecretRef": {"name": "admin"}}
LABELS = {"team": "shop", "tier": "prod"}


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@pytest.fixture
def api() -> Iterator[SecretsApi]:
    with serving() as server:
        yield server


@pytest.fixture
def client(api: SecretsApi) -> K8sClient:
    return K8sClient(api.url)


def add_credentials(api: SecretsApi, namespace: str = OPERATOR_NS, name: str = "admin", **data: str) -> dict:
    secret = api.add(namespace, name, data={"username": b64("root-ish"), "password": b64("s3cret"), **data})
    secret["metadata"]["resourceVersion"] = "10"
    return secret


def add_ca(api: SecretsApi, name: str = "ca", key: str = "ca.crt") -> dict:
    secret = api.add(OPERATOR_NS, name, data={key: b64("-----BEGIN CERTIFICATE-----\n...")})
    secret["metadata"]["resourceVersion"] = "20"
    return secret


def server(spec: dict | None = None, **status: Any) -> dict:
    return {"metadata": {"name": "default", "generation": 3}, "spec": spec or SPEC, "status": status}


def refusal(call, *args) -> Refusal:
    with pytest.raises(Refusal) as info:
        call(*args)
    return info.value


# --- selector_matches ----------------------------------------------------------------------------


def expression(key: str, operator: str, *values: str) -> dict:
    return {"matchExpressions": [{"key": key, "operator": operator, **({"values": list(values)} if values else {})}]}


@pytest.mark.parametrize("selector", [None, {}, {"matchLabels": {}, "matchExpressions": []}])
def test_empty_selector_matches_every_namespace(selector: dict | None) -> None:
    assert selector_matches(selector, {}) is True


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({"matchLabels": {"team": "shop"}}, True),
        ({"matchLabels": {"team": "shop", "tier": "prod"}}, True),
        ({"matchLabels": {"team": "shop", "tier": "dev"}}, False),
        ({"matchLabels": {"owner": "shop"}}, False),
    ],
)
def test_match_labels_must_all_be_carried(selector: dict, matches: bool) -> None:
    assert selector_matches(selector, LABELS) is matches


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        (expression("team", "In", "shop", "blog"), True),
        (expression("team", "In", "blog"), False),
        (expression("owner", "In", "shop"), False),
        (expression("team", "NotIn", "blog"), True),
        (expression("team", "NotIn", "shop"), False),
        (expression("owner", "NotIn", "shop"), True),
        (expression("tier", "Exists"), True),
        (expression("owner", "Exists"), False),
        (expression("owner", "DoesNotExist"), True),
        (expression("tier", "DoesNotExist"), False),
    ],
)
def test_match_expressions_follow_label_selector_semantics(selector: dict, matches: bool) -> None:
    assert selector_matches(selector, LABELS) is matches


def test_labels_and_every_expression_must_all_hold() -> None:
    selector = {"matchLabels": {"team": "shop"}, **expression("tier", "In", "prod")}
    selector["matchExpressions"].append({"key": "owner", "operator": "Exists"})

    assert selector_matches(selector, LABELS) is False
    assert selector_matches(selector, {**LABELS, "owner": "x"}) is True


@pytest.mark.parametrize(
    ("selector", "problem"),
    [
        (expression("team", "In"), "needs at least one value"),
        (expression("team", "NotIn"), "needs at least one value"),
        (expression("team", "Exists", "shop"), "takes no values"),
        (expression("team", "DoesNotExist", "shop"), "takes no values"),
        (expression("team", "Equals", "shop"), "unknown operator"),
        ({"matchExpressions": [{"operator": "Exists"}]}, "no key"),
        ({"matchExpressions": [{"key": "", "operator": "Exists"}]}, "no key"),
        ({"matchLabels": ["team"]}, "not a mapping"),
        ({"matchExpressions": {"key": "team"}}, "not a list"),
    ],
)
def test_malformed_selector_raises_instead_of_matching(selector: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        selector_matches(selector, LABELS)


# --- require_allowed -------------------------------------------------------------------------------


def test_server_without_selector_serves_every_namespace_without_reading_it(api: SecretsApi, client) -> None:
    require_allowed(client, server(), "team-a")

    assert api.requests == []


def test_namespace_outside_the_selector_is_server_not_allowed(api: SecretsApi, client) -> None:
    api.add_namespace("team-a", {"team": "blog"})
    obj = server({**SPEC, "tenancy": {"namespaceSelector": {"matchLabels": {"team": "shop"}}}})

    error = refusal(require_allowed, client, obj, "team-a")

    assert error.reason == "ServerNotAllowed" and "team-a" in error.message
    assert [r["path"] for r in api.requests] == ["/api/v1/namespaces/team-a"]


def test_namespace_matching_the_selector_is_allowed(api: SecretsApi, client) -> None:
    api.add_namespace("team-a", {"team": "shop"})

    require_allowed(
        client, server({**SPEC, "tenancy": {"namespaceSelector": {"matchLabels": {"team": "shop"}}}}), "team-a"
    )


def test_malformed_selector_allows_no_namespace(api: SecretsApi, client) -> None:
    api.add_namespace("team-a", {"team": "shop"})
    obj = server({**SPEC, "tenancy": {"namespaceSelector": expression("team", "In")}})

    error = refusal(require_allowed, client, obj, "team-a")

    assert error.reason == "ServerNotAllowed" and "malformed" in error.message


# --- require_ready and read_server ---------------------------------------------------------------


def ready(status: str = "True", reason: str = "Connected", message: str = "fine") -> dict:
    return {"type": "Ready", "status": status, "reason": reason, "message": message}


def test_ready_server_of_its_current_generation_is_usable() -> None:
    require_ready(server(conditions=[ready()], observedGeneration=3))


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        ({}, "has not been checked yet"),
        ({"conditions": [ready()], "observedGeneration": 2}, "has not been checked yet"),
        ({"conditions": [ready()]}, "has not been checked yet"),
        (
            {"conditions": [ready("False", "AdminPrivilegesMissing", "lacks CREATE USER")], "observedGeneration": 3},
            "is not Ready: AdminPrivilegesMissing: lacks CREATE USER",
        ),
        ({"conditions": [ready("Unknown", "Checking")], "observedGeneration": 3}, "is not Ready: Checking"),
    ],
    ids=["no-status", "older-generation", "no-observed-generation", "not-ready", "unknown"],
)
def test_server_not_ready_or_not_checked_since_its_change_is_refused(status: dict, detail: str) -> None:
    error = refusal(require_ready, server(**status))

    assert error.reason == "ServerNotReady"
    assert error.message.startswith(f"MySQLServer default {detail}")


def test_missing_server_is_server_not_found(client) -> None:
    error = refusal(read_server, client, "eu")

    assert error.reason == "ServerNotFound" and "'eu'" in error.message


def test_server_is_read_at_its_cluster_scoped_path(api: SecretsApi, client) -> None:
    api.add_server("eu", SPEC)

    assert read_server(client, "eu")["spec"] == SPEC
    assert [r["path"] for r in api.requests] == ["/apis/piwik.pro/v1/mysqlservers/eu"]


def test_other_api_errors_reading_the_server_are_not_refusals(api: SecretsApi, client) -> None:
    api.errors["GET", "/apis/piwik.pro/v1/mysqlservers/eu"] = (403, {"kind": "Status", "message": "forbidden"})

    with pytest.raises(K8sApiError) as info:
        read_server(client, "eu")
    assert info.value.status == 403


# --- connection ----------------------------------------------------------------------------------


def test_connection_decodes_credentials_and_fills_defaults(api: SecretsApi, client) -> None:
    add_credentials(api)

    conn = connection(client, server(), OPERATOR_NS)

    assert {key: value for key, value in conn.items() if key != "revision"} == {
        "name": "default",
        "host": "db.internal",
        "port": 3306,
        "username": "root-ish",
        "password": "s3cret",
        "publish_host": "db.internal",
        "publish_port": 3306,
        "tls_mode": "Disabled",
        "ca_cert": "",
        "max_databases_per_namespace": 0,
    }


def test_connection_takes_publish_address_tls_and_quota_from_the_spec(api: SecretsApi, client) -> None:
    add_credentials(api)
    add_ca(api, "ca", "root.pem")
    spec = {
        **SPEC,
        "port": 3307,
        "publishHost": "mysql.db.svc",
        "publishPort": 3306,
        "tls": {"mode": "VerifyCA", "caSecretRef": {"name": "ca", "key": "root.pem"}},
        "tenancy": {"maxDatabasesPerNamespace": 5},
    }

    conn = connection(client, server(spec), OPERATOR_NS)

    assert (conn["port"], conn["publish_host"], conn["publish_port"]) == (3307, "mysql.db.svc", 3306)
    assert (conn["tls_mode"], conn["ca_cert"]) == ("VerifyCA", "-----BEGIN CERTIFICATE-----\n...")
    assert conn["max_databases_per_namespace"] == 5


def test_ca_key_defaults_to_ca_crt(api: SecretsApi, client) -> None:
    add_credentials(api)
    add_ca(api)

    conn = connection(
        client, server({**SPEC, "tls": {"mode": "VerifyIdentity", "caSecretRef": {"name": "ca"}}}), OPERATOR_NS
    )

    assert conn["ca_cert"].startswith("-----BEGIN CERTIFICATE-----")


def test_credentials_are_read_only_in_the_operator_namespace(api: SecretsApi, client) -> None:
    # Whatever the object says (the CRD forbids namespace; an object may carry it all the same).
    add_credentials(api, "team-a")
    spec = {**SPEC, "credentialsSecretRef": {"name": "admin", "namespace": "team-a"}}

    error = refusal(connection, client, server(spec), OPERATOR_NS)

    assert error.reason == "CredentialsNotFound" and f"{OPERATOR_NS}/admin" in error.message
    assert [r["path"] for r in api.requests] == [f"/api/v1/namespaces/{OPERATOR_NS}/secrets/admin"]


def test_ca_is_read_only_in_the_operator_namespace(api: SecretsApi, client) -> None:
    add_credentials(api)
    api.add("team-a", "ca", data={"ca.crt": b64("pem")})
    spec = {**SPEC, "tls": {"mode": "VerifyCA", "caSecretRef": {"name": "ca", "namespace": "team-a"}}}

    error = refusal(connection, client, server(spec), OPERATOR_NS)

    assert error.reason == "CredentialsNotFound" and f"{OPERATOR_NS}/ca" in error.message
    assert all(r["path"].startswith(f"/api/v1/namespaces/{OPERATOR_NS}/") for r in api.requests)


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        ({"username": None}, "lacks username"),
        ({"password": None}, "lacks password"),
        ({"username": None, "password": None}, "lacks username and password"),
        ({"password": base64.b64encode(b"\xff\xfe").decode()}, "lacks password"),
        ({"username": "!!not base64"}, "lacks username"),
    ],
)
def test_credentials_without_username_or_password_are_credentials_not_found(
    api: SecretsApi, client, data: dict, missing: str
) -> None:
    secret = add_credentials(api)
    secret["data"].update(data)

    error = refusal(connection, client, server(), OPERATOR_NS)

    assert error.reason == "CredentialsNotFound" and missing in error.message
    assert "s3cret" not in error.message


def test_missing_credentials_secret_is_credentials_not_found(client) -> None:
    error = refusal(connection, client, server(), OPERATOR_NS)

    assert error.reason == "CredentialsNotFound" and "credentials Secret" in error.message


@pytest.mark.parametrize("ca_secret", [False, True], ids=["missing-secret", "missing-key"])
def test_missing_ca_is_credentials_not_found(api: SecretsApi, client, ca_secret: bool) -> None:
    add_credentials(api)
    if ca_secret:
        add_ca(api, key="other.pem")
    spec = {**SPEC, "tls": {"mode": "VerifyCA", "caSecretRef": {"name": "ca"}}}

    error = refusal(connection, client, server(spec), OPERATOR_NS)

    assert error.reason == "CredentialsNotFound" and f"{OPERATOR_NS}/ca" in error.message


def test_other_api_errors_reading_a_secret_are_not_refusals(api: SecretsApi, client) -> None:
    api.errors["GET", f"/api/v1/namespaces/{OPERATOR_NS}/secrets/admin"] = (403, {"kind": "Status", "message": "no"})

    with pytest.raises(K8sApiError):
        connection(client, server(), OPERATOR_NS)


# --- revision ------------------------------------------------------------------------------------

TLS_SPEC = {**SPEC, "tls": {"mode": "VerifyCA", "caSecretRef": {"name": "ca"}}}


def revision_of(client: K8sClient, spec: dict = TLS_SPEC) -> str:
    return connection(client, server(spec), OPERATOR_NS)["revision"]


@pytest.fixture
def with_secrets(api: SecretsApi) -> tuple[dict, dict]:
    return add_credentials(api), add_ca(api)


def test_revision_is_stable_while_nothing_changes(api: SecretsApi, client, with_secrets) -> None:
    first = revision_of(client)

    assert first == revision_of(client)
    assert len(first) == 16 and int(first, 16) >= 0


def test_revision_is_independent_of_key_order(api: SecretsApi, client, with_secrets) -> None:
    reordered = json.loads(json.dumps(dict(reversed(list(TLS_SPEC.items())))))

    assert revision_of(client, reordered) == revision_of(client)


@pytest.mark.parametrize(
    "change",
    [{"port": 3307}, {"publishHost": "mysql.db.svc"}, {"tenancy": {"maxDatabasesPerNamespace": 1}}],
)
def test_revision_changes_with_the_spec(api: SecretsApi, client, with_secrets, change: dict) -> None:
    assert revision_of(client, {**TLS_SPEC, **change}) != revision_of(client)


@pytest.mark.parametrize("index", [0, 1], ids=["credentials", "ca"])
def test_revision_changes_with_a_secrets_resource_version(api: SecretsApi, client, with_secrets, index: int) -> None:
    before = revision_of(client)
    with_secrets[index]["metadata"]["resourceVersion"] = "99"

    assert revision_of(client) != before


# --- watch_for -----------------------------------------------------------------------------------

WATCH_ANNOTATIONS = {
    "operator-sdk/primary-resource": "/default",
    "operator-sdk/primary-resource-type": "MySQLServer.piwik.pro",
}


def _annotations(api: SecretsApi, name: str) -> dict:
    return api.secrets[(OPERATOR_NS, name)]["metadata"].get("annotations") or {}


def test_watched_connection_marks_credentials_and_ca_for_the_server(api: SecretsApi, client) -> None:
    add_credentials(api)
    add_ca(api)
    spec = {**SPEC, "tls": {"mode": "VerifyCA", "caSecretRef": {"name": "ca"}}}

    connection(client, server(spec), OPERATOR_NS, watch=True)

    assert _annotations(api, "admin") == WATCH_ANNOTATIONS
    assert _annotations(api, "ca") == WATCH_ANNOTATIONS


def test_unwatched_connection_writes_nothing(api: SecretsApi, client) -> None:
    add_credentials(api)

    connection(client, server(), OPERATOR_NS)

    assert api.writes() == []


def test_a_marked_secret_is_not_patched_again_nor_taken_from_another_server(api: SecretsApi, client) -> None:
    secret = add_credentials(api)
    secret["metadata"]["annotations"] = {**WATCH_ANNOTATIONS, "operator-sdk/primary-resource": "/other"}

    assert watch_for(client, secret, "default") is False
    assert api.writes() == []


def test_server_being_deleted_takes_no_new_databases() -> None:
    obj = server(conditions=[ready()], observedGeneration=3)
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"

    found = refusal(require_ready, obj)

    assert found.reason == "ServerNotReady" and "being deleted" in found.message
