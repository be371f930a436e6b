"""Session fixtures: the real local stack, started once per test session and stopped at the end.

The tests use their own state folder (`.cache/e2e-localenv`, fresh each session; `E2E_STATE_DIR` moves
it) so that a developer's `make localenv-up` environment is never touched.

The product tests take the fixture `mysql_server` and run once per server profile: `default` (the local
MariaDB, plain TCP, an all-privileged admin) and `hardened` (the local MariaDB configured like production,
localenv hardened.py). With `E2E_MYSQL_HOST` set (`make test-e2e MYSQL_HOST=...`) they run on that server
only, as the MySQLServer `external`, and every other test is deselected: the local stack still provides
Kubernetes and the operator. That server is described by E2E_MYSQL_HOST, E2E_MYSQL_PORT (default 3306),
E2E_MYSQL_ADMIN_USER, E2E_MYSQL_ADMIN_PASSWORD (an admin with the privileges the README lists),
E2E_MYSQL_TLS_MODE (Disabled, Required, VerifyCA or VerifyIdentity; default Required) and
E2E_MYSQL_CA_FILE (the PEM CA, for VerifyCA and VerifyIdentity). The tests' databases drop what they
created when they finish; an interrupted run may leave some behind (each in the operator's records,
external_mysql_operator.owners), and the server must hold no databases or users with the tests' names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e_support import (
    EXTERNAL_CA_SECRET,
    EXTERNAL_SECRET,
    EXTERNAL_SERVER,
    GROUP,
    PLURAL,
    VERSION,
    ServerProfile,
    Stack,
    create_server,
    default_profile,
    delete_server,
    external_profile,
    external_server_spec,
    hardened_profile,
    put_secret,
    wait_server,
)
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from testbed.localenv import cluster, env
from testbed.localenv.config import (
    DEFAULT_SERVER,
    HARDENED_SERVER,
    OPERATOR_NAMESPACE,
    REPO_ROOT,
    Paths,
)
from testbed.localenv.operator import OperatorProcess as Operator

E2E_RECONCILE_PERIOD = "5s"


def _external_from_env() -> ServerProfile | None:
    try:
        profile = external_profile(os.environ)
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None
    # The operator inherits this environment, and ansible-runner writes its environment to disk.
    os.environ.pop("E2E_MYSQL_ADMIN_PASSWORD", None)
    return profile


# A server of the user's own replaces the local profiles (E2E_MYSQL_HOST; read once, at collection).
EXTERNAL = _external_from_env()
PROFILES = [EXTERNAL_SERVER] if EXTERNAL else [DEFAULT_SERVER, HARDENED_SERVER]


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fault suite (test_faults.py) runs its own operator on the hard-coded ports 8888/5050: run it last.
    Against an external server only the tests on a server profile run (the others are deselected)."""
    items.sort(key=lambda item: item.path.name == "test_faults.py")
    if EXTERNAL:
        local = [item for item in items if "mysql_server" not in getattr(item, "fixturenames", ())]
        items[:] = [item for item in items if item not in local]
        config.hook.pytest_deselected(items=local)


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


@pytest.fixture(scope="session", params=PROFILES)
def mysql_server(request: pytest.FixtureRequest, stack: Stack, running_operator: Operator) -> Iterator[ServerProfile]:
    """The server the product test runs on (test id `[default]`, `[hardened]` or `[external]`), Connected.
    It depends on the operator so that, on an external server, the databases' finalizers run before the
    operator stops."""
    if request.param == EXTERNAL_SERVER:
        yield from _external_server(stack)
        return
    profile = default_profile(stack) if request.param == DEFAULT_SERVER else hardened_profile(stack)
    wait_server(stack, profile.name)
    yield profile


def _external_server(stack: Stack) -> Iterator[ServerProfile]:
    """The MySQLServer `external` with its Secrets in the operator's namespace; deleted at the end, which
    waits until every MySQLDatabase on it is gone (their finalizers drop what they created)."""
    assert EXTERNAL is not None
    put_secret(stack, EXTERNAL_SECRET, {"username": EXTERNAL.admin_user, "password": EXTERNAL.admin_password})
    if EXTERNAL.ca_pem:
        put_secret(stack, EXTERNAL_CA_SECRET, {"ca.crt": EXTERNAL.ca_pem})
    create_server(stack, EXTERNAL_SERVER, external_server_spec(EXTERNAL))
    try:
        wait_server(stack, EXTERNAL_SERVER)
        yield EXTERNAL
    finally:
        delete_server(stack, EXTERNAL_SERVER)
        for name in (EXTERNAL_SECRET, EXTERNAL_CA_SECRET):
            try:
                stack.core.delete_namespaced_secret(name, OPERATOR_NAMESPACE)
            except ApiException as err:
                if err.status != 404:
                    raise


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
