"""Session fixtures: the real local stack, started once per test session and stopped at the end.

The tests use their own state folder (`.cache/e2e-localenv`, fresh each session) so that a developer's
`make localenv-up` environment is never touched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e_support import GROUP, PLURAL, VERSION, Stack
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from external_mysql_operator.localenv import cluster, env
from external_mysql_operator.localenv.config import REPO_ROOT, Paths
from external_mysql_operator.localenv.operator import OperatorProcess as Operator

E2E_RECONCILE_PERIOD = "5s"


@pytest.fixture(scope="session")
def e2e_paths() -> Paths:
    state_dir = Path(os.environ.get("E2E_STATE_DIR", REPO_ROOT / ".cache" / "e2e-localenv"))
    return Paths(root=REPO_ROOT, state=state_dir.resolve())


@pytest.fixture(scope="session")
def stack(e2e_paths: Paths) -> Iterator[Stack]:
    env.down(e2e_paths, purge=True)
    state, _ = env.up(e2e_paths)
    cluster.install_crds(e2e_paths, state=state)
    api = config.new_client_from_config(str(e2e_paths.kubeconfig))
    try:
        yield Stack(paths=e2e_paths, state=state, api=api)
    finally:
        api.close()
        env.down(e2e_paths)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault suite (test_faults.py) runs its own operator on the hard-coded ports 8888/5050: run it last."""
    items.sort(key=lambda item: item.path.name == "test_faults.py")


@pytest.fixture(scope="session")
def running_operator(stack: Stack) -> Iterator[Operator]:
    """The real ansible-operator on our watches.yaml, with a short reconcile period so drift repairs show fast."""
    watches = yaml.safe_load((REPO_ROOT / "watches.yaml").read_text())
    for watch in watches:
        watch["reconcilePeriod"] = E2E_RECONCILE_PERIOD
    test_watches = stack.paths.state / "watches-e2e.yaml"
    test_watches.write_text(yaml.safe_dump(watches))
    op = Operator(stack.paths, watches=test_watches)
    op.start()
    try:
        yield op
    finally:
        op.stop()


@pytest.fixture
def namespace(stack: Stack, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (its CRs are deleted first so finalizers run)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    name = f"t-{slug}-{os.urandom(2).hex()}"
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    for item in stack.custom.list_namespaced_custom_object(GROUP, VERSION, name, PLURAL)["items"]:
        _delete_quietly(stack, name, item["metadata"]["name"])
    stack.core.delete_namespace(name)


def _delete_quietly(stack: Stack, namespace: str, name: str) -> None:
    try:
        stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as err:
        if err.status != 404:
            raise
