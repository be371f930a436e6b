"""A reconcile that finds everything in place writes nothing (roles/mysqldatabase/tasks/main.yml ends it
early, before the Secret and status steps, as Ansible's own job events of the kept runs show), yet a status
changed by hand is written back by the next reconcile: the early end compares what it read, it does not trust
that nothing changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from e2e_support import Stack, create_cr, events_for, get_cr, patch_cr, wait_ready, wait_until

from testbed.faults.runs import jobs
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


def tasks_of(job: Path) -> list[str]:
    """The tasks a kept ansible-runner run started, in order, from its job events."""
    events = [json.loads(path.read_text()) for path in (job / "job_events").glob("*.json")]
    started = [e for e in events if e.get("event") == "playbook_on_task_start"]
    return [e["event_data"]["task"] for e in sorted(started, key=lambda e: e["counter"])]


def test_a_reconcile_with_nothing_to_do_ends_before_the_secret_and_status_steps(stack: Stack, namespace: str) -> None:
    name = f"noop-{os.urandom(3).hex()}"
    create_cr(stack, namespace, "shop", {"databaseName": name, "username": name, "deletionPolicy": "Delete"})
    wait_ready(stack, namespace, "shop")
    # ansible-runner writes `rc` when a run has ended; the create's run is the only one so far.
    wait_until(lambda: all((job / "rc").exists() for job in jobs(namespace)), RECONCILE_SECONDS, "the create's run")
    before = jobs(namespace)

    touch(stack, namespace, "shop", "1")
    noop = wait_until(
        lambda: next((job for job in jobs(namespace) - before if (job / "rc").exists()), None),
        RECONCILE_SECONDS,
        "the annotation's reconcile to end",
    )

    tasks = tasks_of(noop)
    assert "Ensure the database and the user with exactly its grants exist and are owned by this MySQLDatabase" in tasks
    assert "Ensure the application Secret holds the connection details" not in tasks
    assert "Report Ready with the reconciled names" not in tasks
    assert (noop / "rc").read_text().strip() == "0"
