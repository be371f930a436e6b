"""Taking things away: a namespace deleted with its MySQLDatabases, and `make undeploy` while they exist
(README: Uninstall, and deleting a namespace)."""

from __future__ import annotations

import os
import subprocess

import pytest
from e2e_support import GROUP, PLURAL, VERSION, Stack, create_cr, database_exists, user_exists, wait_ready, wait_until
from kubernetes import client
from kubernetes.client.rest import ApiException

from testbed.localenv.config import REPO_ROOT

pytestmark = pytest.mark.usefixtures("running_operator")

NAMESPACE_GONE_SECONDS = 300


def namespace_gone(stack: Stack, name: str) -> bool:
    try:
        stack.core.read_namespace(name)
    except ApiException as err:
        if err.status == 404:
            return True
        raise
    return False


def test_deleting_a_namespace_runs_every_finalizer_by_its_policy(stack: Stack) -> None:
    namespace = f"t-ns-deletion-{os.urandom(2).hex()}"
    stack.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    dropped = [f"gone-{index}-{os.urandom(2).hex()}" for index in range(3)]
    kept = f"kept-{os.urandom(2).hex()}"
    for name in dropped:
        create_cr(stack, namespace, name, {"deletionPolicy": "Delete"})
    create_cr(stack, namespace, kept, {"deletionPolicy": "Retain"})
    for name in [*dropped, kept]:
        wait_ready(stack, namespace, name)

    stack.core.delete_namespace(namespace)

    wait_until(lambda: namespace_gone(stack, namespace), NAMESPACE_GONE_SECONDS, f"namespace {namespace} to be gone")
    for name in dropped:
        assert not database_exists(stack, name) and not user_exists(stack, name), name
    assert database_exists(stack, kept) and user_exists(stack, kept)


def test_undeploy_refuses_while_a_database_exists_and_deletes_nothing(stack: Stack, namespace: str) -> None:
    create_cr(stack, namespace, "still-here", {})
    wait_ready(stack, namespace, "still-here")

    result = subprocess.run(
        ["make", "-s", "undeploy"],
        cwd=REPO_ROOT,
        env={**os.environ, "KUBECONFIG": str(stack.paths.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode != 0, result.stdout
    assert "mysqldatabase.piwik.pro/still-here" in result.stderr and "README: Uninstall" in result.stderr
    assert stack.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "still-here")
