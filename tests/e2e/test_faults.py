"""The fault and hostile-input suite in its CI form (FAULTS_PROFILE=ci), once per server profile
(FAULTS_SERVER=default, then hardened), each as one end-to-end test.

Each run brings up its own local environment and its own ansible-operator. That operator needs the ports
8888/5050 ansible-operator hard-codes, so these tests run last (tests/e2e/conftest.py orders them) and
pause this session's operator while the suite runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.localenv.config import Paths
from testbed.localenv.operator import OperatorProcess, ports_free

SUITE_TIMEOUT = 3600


@pytest.fixture
def session_operator_paused(e2e_paths: Paths) -> Iterator[None]:
    """Stop the session's operator (if the other tests started it) and start it again afterwards."""
    operator = OperatorProcess(e2e_paths, watches=e2e_paths.state / "watches-e2e.yaml")
    was_running = operator.pid is not None
    if was_running:
        operator.stop()
    try:
        yield
    finally:
        if was_running:
            operator.start()


def _run_suite(out: Path, e2e_paths: Paths, server: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("FAULTS_CASES", "FAULTS_STATE_DIR")}
    # Next to this session's own state folder (E2E_STATE_DIR), so that two sessions never share one.
    env.update(
        FAULTS_STATE_DIR=f"{e2e_paths.state}-faults-{server}",
        FAULTS_PROFILE="ci",
        FAULTS_SERVER=server,
        FAULTS_OUT=str(out),
    )
    return subprocess.run(
        [sys.executable, "-m", "testbed.faults"],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        check=False,
    )


@pytest.mark.usefixtures("session_operator_paused")
@pytest.mark.parametrize("server", ["default", "hardened"])
def test_ci_fault_suite_survives_every_fault_and_refuses_every_hostile_input(
    tmp_path: Path, e2e_paths: Paths, server: str
) -> None:
    if not ports_free():
        pytest.fail("ports 8888/5050 are held by another ansible-operator; the fault suite needs them")
    out = tmp_path / "faults.json"
    result = _run_suite(out, e2e_paths, server)
    assert out.exists(), f"the suite wrote no report (exit {result.returncode}):\n{result.stderr[-4000:]}"
    report = json.loads(out.read_text())
    assert report["server"] == server
    totals = report["totals"]
    problems = {name: case["problems"] for name, case in report["cases"].items() if case["problems"]}
    context = json.dumps({"totals": totals, "problems": problems, "findings": report["findings"]}, indent=1)
    assert report["errors"] == [], context + "\n" + "\n".join(report["errors"])
    assert totals["secrets_leaked"] == 0, context
    assert totals["credentials_broken"] == 0, context
    assert totals["orphans"] == 0, context  # None: a scan could not run
    assert totals["payload_canaries_found"] == 0, context
    assert totals["faults_injected"] > 0 and totals["faults_survived"] == totals["faults_injected"], context
    assert totals["hostile_inputs_tried"] > 0, context
    assert totals["hostile_inputs_refused"] == totals["hostile_inputs_tried"], context
    assert totals["refused_by_kubernetes"] > 0 and totals["refused_by_operator"] > 0, context
    # The two cases whose faults are not SIGKILLs of a single operator, named so that neither can go missing.
    failover, deletion = report["cases"]["failover"], report["cases"]["deletion_outage"]
    assert failover["faults_injected"] == failover["faults_survived"] == 1, context
    assert failover["details"]["takeover_s"] is not None, context
    assert deletion["faults_injected"] >= 2 and deletion["faults_survived"] == deletion["faults_injected"], context
    assert result.returncode == 0, context
