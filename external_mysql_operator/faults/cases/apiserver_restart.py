"""Restart kube-apiserver and etcd (cleanly, then by SIGKILL) under the running operator."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from kubernetes.client.rest import ApiException

from ..context import Context
from ..crs import CrRef, poll
from ..report import CaseResult

log = logging.getLogger(__name__)
NAMESPACE = "faults-api"


def _delete_secret(ctx: Context, ref: CrRef) -> bool:
    try:
        ctx.stack.crs.core.delete_namespaced_secret(ref.name, ref.namespace)
    except ApiException as err:
        return err.status == 404
    return True


def _restart(ctx: Context, everyone: list[CrRef], index: int, rng: random.Random, result: CaseResult) -> dict[str, Any]:
    """One restart; afterwards a deleted application Secret must come back and new CRs must work."""
    crash, stack = index % 2 == 1, ctx.stack
    operator_pid = stack.operator_pid()
    stack.stop_control_plane(crash=crash)
    down = rng.uniform(3.0, 12.0)
    time.sleep(down)
    restarted = stack.start_control_plane()
    drifted = everyone[index % len(everyone)]
    poll(lambda: _delete_secret(ctx, drifted), timeout=60)
    new = [CrRef(NAMESPACE, f"api-new-{index}-{i}") for i in range(ctx.settings.profile.api_new_crs)]
    poll(lambda: ctx.create(new), timeout=60)
    everyone += new
    after = ctx.wait_healthy(everyone)
    kept_running = operator_pid is not None and stack.operator_pid() == operator_pid
    if kept_running and all(h.healthy for h in after):
        result.faults_survived += 1
    if not kept_running:
        result.problems.append(f"restart {index + 1}: the operator exited while the API server was down")
    return {
        "kind": "SIGKILL" if crash else "SIGTERM",
        "down_seconds": round(down, 1),
        "restarted": restarted,
        "operator_kept_running": kept_running,
        "secret_deleted_after": str(drifted),
        "healthy_after": sum(h.healthy for h in after),
    }


def run_apiserver_restart(ctx: Context) -> CaseResult:
    profile, rng = ctx.settings.profile, ctx.rng("apiserver_restart")
    result = CaseResult("apiserver_restart")
    everyone = ctx.create([CrRef(NAMESPACE, f"api-{i:02d}") for i in range(profile.api_crs)], parallel=4)
    ctx.wait_healthy(everyone)
    restarts = []
    for index in range(profile.api_restarts):
        result.faults_injected += 1
        restarts.append(_restart(ctx, everyone, index, rng, result))
        log.info("apiserver_restart: restart %d: %s", index + 1, restarts[-1])
    ctx.settle(result, everyone)
    result.details.update(restarts=restarts)
    return result
