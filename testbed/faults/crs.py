"""MySQLDatabase and MySQLServer objects through the API: create, poke, delete; polling."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pymysql
import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from ..kube_api import GROUP, KIND, PLURAL, SERVER_KIND, SERVER_PLURAL, VERSION, ApiClients

VERBOSITY_ANNOTATION = "ansible.sdk.operatorframework.io/verbosity"
POKE_ANNOTATION = "faults.piwik.pro/poke"  # any change of it makes ansible-operator reconcile
CONTROL_ANNOTATION = "faults.piwik.pro/leak-scan-control"  # a fake secret every scanned place must show
CONTROL_KEY = "leak-scan-control"  # the same, as a secretTemplate key of the first CR
REQUEST_TIMEOUT = 15

log = logging.getLogger(__name__)
# What a poll survives: the API server or MariaDB being down is the point of several cases.
TRANSIENT = (ApiException, urllib3.exceptions.HTTPError, pymysql.MySQLError, OSError, KeyError)


@dataclass(frozen=True, order=True)
class CrRef:
    """A MySQLDatabase by namespace and name, or a MySQLServer (kind SERVER_KIND, no namespace)."""

    namespace: str
    name: str
    kind: str = KIND

    @classmethod
    def server(cls, name: str) -> CrRef:
        return cls("", name, SERVER_KIND)

    @property
    def is_server(self) -> bool:
        return self.kind == SERVER_KIND

    def __str__(self) -> str:
        return f"{SERVER_KIND}/{self.name}" if self.is_server else f"{self.namespace}/{self.name}"


def poll[T](check: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T | None:
    """Call `check` until it returns something truthy or the deadline passes (then None)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except TRANSIENT as err:
            log.debug("poll: %s", type(err).__name__)
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def body(
    ref: CrRef,
    spec: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": ref.name} if ref.is_server else {"name": ref.name, "namespace": ref.namespace}
    if annotations:
        metadata["annotations"] = annotations
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": ref.kind, "metadata": metadata, "spec": spec or {}}


@dataclass
class Crs(ApiClients):
    """The MySQLDatabase and MySQLServer API of one cluster."""

    api: client.ApiClient

    def ensure_namespace(self, name: str) -> None:
        try:
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        except ApiException as err:
            if err.status != 409:
                raise

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        if manifest.get("kind") == SERVER_KIND:
            created = self.custom.create_cluster_custom_object(
                GROUP, VERSION, SERVER_PLURAL, manifest, _request_timeout=REQUEST_TIMEOUT
            )
        else:
            namespace = manifest["metadata"]["namespace"]
            created = self.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, manifest, _request_timeout=REQUEST_TIMEOUT
            )
        return cast(dict[str, Any], created)

    def get(self, ref: CrRef) -> dict[str, Any]:
        if ref.is_server:
            found = self.custom.get_cluster_custom_object(
                GROUP, VERSION, SERVER_PLURAL, ref.name, _request_timeout=REQUEST_TIMEOUT
            )
        else:
            found = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, ref.namespace, PLURAL, ref.name, _request_timeout=REQUEST_TIMEOUT
            )
        return cast(dict[str, Any], found)

    def exists(self, ref: CrRef) -> bool:
        try:
            self.get(ref)
        except ApiException as err:
            if err.status == 404:
                return False
            raise
        return True

    def list_all(self) -> list[dict[str, Any]]:
        """Every MySQLDatabase of every namespace."""
        listing = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, _request_timeout=REQUEST_TIMEOUT)
        return list(listing["items"])

    def list_servers(self) -> list[dict[str, Any]]:
        listing = self.custom.list_cluster_custom_object(
            GROUP, VERSION, SERVER_PLURAL, _request_timeout=REQUEST_TIMEOUT
        )
        return list(listing["items"])

    def delete(self, ref: CrRef) -> None:
        try:
            if ref.is_server:
                self.custom.delete_cluster_custom_object(
                    GROUP, VERSION, SERVER_PLURAL, ref.name, _request_timeout=REQUEST_TIMEOUT
                )
            else:
                self.custom.delete_namespaced_custom_object(
                    GROUP, VERSION, ref.namespace, PLURAL, ref.name, _request_timeout=REQUEST_TIMEOUT
                )
        except ApiException as err:
            if err.status != 404:
                raise

    def poke(self, ref: CrRef, value: str) -> None:
        """Change an annotation so that ansible-operator reconciles now (watchAnnotationsChanges)."""
        patch = {"metadata": {"annotations": {POKE_ANNOTATION: value}}}
        try:
            if ref.is_server:
                self.custom.patch_cluster_custom_object(
                    GROUP, VERSION, SERVER_PLURAL, ref.name, patch, _request_timeout=REQUEST_TIMEOUT
                )
            else:
                self.custom.patch_namespaced_custom_object(
                    GROUP, VERSION, ref.namespace, PLURAL, ref.name, patch, _request_timeout=REQUEST_TIMEOUT
                )
        except ApiException as err:
            if err.status != 404:  # gone already: nothing to reconcile
                raise
