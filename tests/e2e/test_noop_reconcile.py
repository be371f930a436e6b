"""A reconcile that finds everything in place writes nothing (roles/mysqldatabase/tasks/main.yml ends it
early), yet a status changed by hand is written back by the next reconcile: the early end compares what it
read, it does not trust that nothing changed."""

from __future__ import annotations

import os

import pytest
from e2e_support import Stack, create_cr, events_for, get_cr, patch_cr, wait_ready, wait_until

from testbed.kube_api import GROUP, PLURAL, VERSION, ready_condition

pytestmark = pytest.mark.usefixtures("running_operator")

RECONCILE_SECONDS = 120


def touch(stack: Stack, namespace: str, name: str, value: str) -> None:
    """Change an annotation: ansible-operator reconciles on annotation changes; the role has nothing to do."""
    patch_cr(stack, namespace, name, {"metadata": {"annotations": {"test.piwik.pro/touch": value}}})


def test_a_reconcile_with_nothing_to_do_writes_nothing_and_a_hand_edited_status_is_restored(
    stack: Stack, namespace: str
) -> None:
    name = f"noop-{os.urandom(3).hex()}"
    create_cr(stack, namespace, "shop", {"databaseName": name, "username": name, "deletionPolicy": "Delete"})
    ready = wait_ready(stack, namespace, "shop")
    secret_version = stack.core.read_namespaced_secret("shop", namespace).metadata.resource_version
    events_before = len(events_for(stack, namespace, "shop"))

    touch(stack, namespace, "shop", "1")
    # A status written by someone else: a reconcile triggers no reconcile, the next one must notice it.
    edited = {**ready["status"], "conditions": [{**ready_condition(ready), "status": "False", "reason": "HandEdited"}]}
    stack.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, "shop", {"status": edited})
    touch(stack, namespace, "shop", "2")

    restored = wait_until(
        lambda: ready_condition(get_cr(stack, namespace, "shop")).get("reason") == "Reconciled",
        RECONCILE_SECONDS,
        "the hand-edited Ready condition to be written back",
    )
    assert restored
    condition = ready_condition(get_cr(stack, namespace, "shop"))
    assert condition["status"] == "True"
    assert condition["message"] == ready_condition(ready)["message"]
    assert stack.core.read_namespaced_secret("shop", namespace).metadata.resource_version == secret_version
    assert len(events_for(stack, namespace, "shop")) == events_before
