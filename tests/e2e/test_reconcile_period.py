"""The per-CR annotation `ansible.sdk.operatorframework.io/reconcile-period` that README recommends for
faster repair of server-side drift: with watches.yaml's own long period, only the annotated CR is
reconciled again without any change in Kubernetes.

The session's operator reconciles every 5 s (conftest.py), which would hide the difference, so this test
pauses it and runs one on the repository's watches.yaml (ports 8888/5050 allow one at a time)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from e2e_support import Stack, create_cr, sql_rows, user_exists, wait_ready, wait_until

from testbed.localenv.config import REPO_ROOT
from testbed.localenv.operator import OperatorProcess

PERIOD_ANNOTATION = "ansible.sdk.operatorframework.io/reconcile-period"
SHORT_PERIOD_SECONDS = 5
# Several short periods, and far less than watches.yaml's period: only the annotation explains a repair.
REPAIR_SECONDS = 90


@pytest.fixture
def repository_watches_operator(stack: Stack, running_operator: OperatorProcess) -> Iterator[OperatorProcess]:
    running_operator.stop()
    operator = OperatorProcess(stack.paths, watches=REPO_ROOT / "watches.yaml")
    operator.start()
    try:
        yield operator
    finally:
        operator.stop()
        running_operator.start()


@pytest.mark.usefixtures("repository_watches_operator")
def test_reconcile_period_annotation_repairs_server_drift_of_that_cr_only(stack: Stack, namespace: str) -> None:
    fast, slow = (f"{kind}-{os.urandom(2).hex()}" for kind in ("fast", "slow"))
    create_cr(stack, namespace, fast, {"deletionPolicy": "Delete"}, {PERIOD_ANNOTATION: f"{SHORT_PERIOD_SECONDS}s"})
    create_cr(stack, namespace, slow, {"deletionPolicy": "Delete"})
    for name in (fast, slow):
        wait_ready(stack, namespace, name)

    for name in (fast, slow):
        sql_rows(stack, f"DROP USER `{name}`@'%'")
    started = time.monotonic()

    wait_until(lambda: user_exists(stack, fast), REPAIR_SECONDS, f"user {fast} recreated by a periodic reconcile")
    assert not user_exists(stack, slow), "the CR without the annotation was reconciled too: the test proves nothing"
    assert time.monotonic() - started < REPAIR_SECONDS
