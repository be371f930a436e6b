"""MySQLDatabases on the API server: create them, poke them, and see when each becomes Ready."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "piwik.pro", "v1", "mysqldatabases"
POKE_ANNOTATION = "bench.piwik.pro/poke"


def is_ready(obj: dict[str, Any]) -> bool:
    """Ready=True for the current generation, as `kubectl wait --for=condition=Ready` would see it."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


class ReadyWatcher:
    """Watches one namespace's MySQLDatabases on a thread and records when each first became Ready."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.ready_at: dict[str, float] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ready-{namespace}", daemon=True)

    def __enter__(self) -> ReadyWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        resource_version = ""
        while not self._stop.is_set():
            stream = watch.Watch()
            try:
                kwargs = {"resource_version": resource_version} if resource_version else {}
                for event in stream.stream(
                    self.custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    timeout_seconds=5,
                    **kwargs,
                ):
                    obj = event["object"]
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
        if name not in self.ready_at and is_ready(obj):
            with self._changed:
                self.ready_at[name] = time.monotonic()
                self._changed.notify_all()

    def wait(self, names: Iterable[str], timeout: float) -> dict[str, float]:
        """Block until every name is Ready; the times they became so."""
        wanted = set(names)
        deadline = time.monotonic() + timeout
        with self._changed:
            while not wanted <= self.ready_at.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sorted(wanted - self.ready_at.keys())
                    raise TimeoutError(f"{len(missing)} MySQLDatabases not Ready after {timeout:.0f}s: {missing[:5]}")
                self._changed.wait(min(left, 1.0))
            return {name: self.ready_at[name] for name in wanted}


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
