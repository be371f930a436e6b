"""MySQLDatabases on the API server: create them, poke them, and see when each becomes Ready; the
MySQLServer they use, and when their Secrets carry a value."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from ..background_thread import BackgroundThread
from ..kube_api import GROUP, PLURAL, SERVER_PLURAL, VERSION, is_ready, ready_condition

log = logging.getLogger(__name__)

POKE_ANNOTATION = "bench.piwik.pro/poke"


def secret_value(obj: dict[str, Any], key: str) -> str | None:
    """The decoded value of `key` in a Secret as the API returns it (base64 `data`), None when absent."""
    encoded = (obj.get("data") or {}).get(key)
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


class FirstSeenWatcher(BackgroundThread):
    """Watches one namespace's objects of one kind on a thread and records when each first met `predicate`."""

    def __init__(
        self, list_call: Callable[..., Any], namespace: str, predicate: Callable[[dict[str, Any]], bool], what: str
    ) -> None:
        super().__init__(f"watch-{namespace}", join_timeout=10)
        self.list_call = list_call
        self.namespace = namespace
        self.predicate = predicate
        self.what = what
        self.seen_at: dict[str, float] = {}
        self._changed = threading.Condition()

    def loop(self) -> None:
        resource_version = ""
        while not self._stop.is_set():
            stream = watch.Watch()
            try:
                kwargs = {"resource_version": resource_version} if resource_version else {}
                for event in stream.stream(self.list_call, timeout_seconds=5, **kwargs):
                    obj = event["raw_object"]
                    resource_version = obj["metadata"]["resourceVersion"]
                    self._record(obj)
                    if self._stop.is_set():
                        break
            except ApiException as err:
                if err.status != 410:
                    raise
                resource_version = ""
            finally:
                stream.stop()

    def _record(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if name not in self.seen_at and self.predicate(obj):
            with self._changed:
                self.seen_at[name] = time.monotonic()
                self._changed.notify_all()

    def wait(self, names: Iterable[str], timeout: float) -> dict[str, float]:
        """Block until every name met the predicate; the times they first did."""
        wanted = set(names)
        deadline = time.monotonic() + timeout
        with self._changed:
            while not wanted <= self.seen_at.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sorted(wanted - self.seen_at.keys())
                    raise TimeoutError(f"{len(missing)} {self.what} after {timeout:.0f}s: {missing[:5]}")
                self._changed.wait(min(left, 1.0))
            return {name: self.seen_at[name] for name in wanted}


class ReadyWatcher(FirstSeenWatcher):
    """When each MySQLDatabase of the namespace first became Ready."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        custom = client.CustomObjectsApi(api)

        def list_call(**kwargs: Any) -> Any:
            return custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, **kwargs)

        super().__init__(list_call, namespace, is_ready, "MySQLDatabases not Ready")

    @property
    def ready_at(self) -> dict[str, float]:
        return self.seen_at


class SecretValueWatcher(FirstSeenWatcher):
    """When each Secret of the namespace first carried `value` under `key`."""

    def __init__(self, api: client.ApiClient, namespace: str, key: str, value: str) -> None:
        core = client.CoreV1Api(api)

        def list_call(**kwargs: Any) -> Any:
            return core.list_namespaced_secret(namespace, **kwargs)

        super().__init__(
            list_call, namespace, lambda obj: secret_value(obj, key) == value, f"Secrets without {key}={value}"
        )


def create_namespace(api: client.ApiClient, name: str) -> None:
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


def create_cr(api: client.ApiClient, namespace: str, name: str) -> float:
    """Create an empty-spec MySQLDatabase; returns the monotonic time just before the request."""
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "MySQLDatabase", "metadata": {"name": name}, "spec": {}}
    started = time.monotonic()
    client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    return started


def create_many(api: client.ApiClient, namespace: str, names: list[str], threads: int = 8) -> dict[str, float]:
    """Create all `names` as fast as the API server takes them; when each request was sent."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        starts = pool.map(lambda name: create_cr(api, namespace, name), names)
        return dict(zip(names, starts, strict=True))


def poke(api: client.ApiClient, namespace: str, name: str, value: str) -> None:
    """Change an annotation: ansible-operator reconciles on annotation changes, the role has nothing to do."""
    patch = {"metadata": {"annotations": {POKE_ANNOTATION: value}}}
    client.CustomObjectsApi(api).patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch)


def read_server(api: client.ApiClient, name: str) -> dict[str, Any]:
    return cast(
        "dict[str, Any]", client.CustomObjectsApi(api).get_cluster_custom_object(GROUP, VERSION, SERVER_PLURAL, name)
    )


def patch_server(api: client.ApiClient, name: str, spec: dict[str, Any]) -> float:
    """Merge `spec` into the MySQLServer's (None removes a field); the monotonic time just before the request."""
    started = time.monotonic()
    client.CustomObjectsApi(api).patch_cluster_custom_object(GROUP, VERSION, SERVER_PLURAL, name, {"spec": spec})
    return started


def wait_server_ready(api: client.ApiClient, name: str, timeout: float) -> float:
    """Poll until the MySQLServer is Ready for its current generation; the monotonic time it was seen so."""
    deadline = time.monotonic() + timeout
    while True:
        server = read_server(api, name)
        if is_ready(server):
            return time.monotonic()
        if time.monotonic() >= deadline:
            condition = ready_condition(server)
            raise TimeoutError(
                f"MySQLServer {name} not Ready for its generation after {timeout:.0f}s: "
                f"{condition.get('reason', 'no condition')}: {condition.get('message', '')}"
            )
        time.sleep(0.2)


def delete_all(api: client.ApiClient, namespace: str, timeout: float) -> None:
    """Delete every MySQLDatabase of the namespace and wait until their finalizers let them go."""
    custom = client.CustomObjectsApi(api)
    custom.delete_collection_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    deadline = time.monotonic() + timeout
    while custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"MySQLDatabases of {namespace} still there {timeout:.0f}s after their deletion")
        time.sleep(1)


def count_crs(api: client.ApiClient) -> int:
    """MySQLDatabases in every namespace."""
    listed = client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, PLURAL)
    return len(listed["items"])
