"""The operator's kinds on the API server, as the tooling and the end-to-end tests address them: their
names, the typed clients of one ApiClient, and what a CR's status says about being Ready."""

from __future__ import annotations

from typing import Any

from kubernetes import client

GROUP, VERSION, PLURAL, KIND = "piwik.pro", "v1", "mysqldatabases", "MySQLDatabase"
SERVER_PLURAL, SERVER_KIND = "mysqlservers", "MySQLServer"  # cluster-scoped


class ApiClients:
    """The typed clients of the ApiClient that a class holds as `api` (a dataclass declares it as a field)."""

    api: client.ApiClient

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)


def ready_condition(cr: dict[str, Any]) -> dict[str, Any]:
    """A copy of the CR's Ready condition; empty when it has none yet."""
    for condition in (cr.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


def is_current(cr: dict[str, Any]) -> bool:
    """The status describes the current spec (observedGeneration caught up)."""
    return bool((cr.get("status") or {}).get("observedGeneration") == (cr.get("metadata") or {}).get("generation"))


def is_ready(cr: dict[str, Any]) -> bool:
    """Ready=True for the current generation, as `kubectl wait --for=condition=Ready` would see it."""
    return is_current(cr) and ready_condition(cr).get("status") == "True"
