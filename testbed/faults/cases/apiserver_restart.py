"""Restart kube-apiserver and etcd (cleanly, then by SIGKILL) under the running operator."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from ..context import Context
from ..crs import CrRef, poll
from ..report import CaseResult

log = logging.getLogger(__name__)
NAMESPACE = "faults-api"


def _secret_uid(ctx: Context, ref: CrRef) -> str:
    """The uid of the CR's application Secret; '' when there is none."""
    try:
        return str(ctx.stack.crs.core.read_namespaced_secret(ref.name, ref.namespace).metadata.uid)
    except ApiException as err:
        if err.status == 404:
            return ""
        raise


def _delete_secret(ctx: Context, ref: CrRef, uid: str) -> bool:
    """Delete exactly that Secret (uid precondition); True once this call deleted it or saw it gone.
    A Secret that was never there is no drift injected."""
    if not uid:
        return False
    try:
        ctx.stack.crs.core.delete_namespaced_secret(
            ref.name, ref.namespace, body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid))
        )
    except ApiException as err:
        # 404: gone already (a retried call that deleted it); 409: the uid differs, another Secret now.
        return err.status in (404, 409)
    return True


def _api_answers(ctx: Context) -> bool:
    ctx.stack.crs.core.list_namespace(limit=1, _request_timeout=5)
    return True


def _restart(ctx: Context, everyone: list[CrRef], index: int, rng: random.Random, result: CaseResult) -> dict[str, Any]:
    """One restart; afterwards a deleted application Secret must come back and new CRs must work."""
    crash, stack = index % 2 == 1, ctx.stack
    drifted = everyone[index % len(everyone)]
    old_uid = poll(lambda: _secret_uid(ctx, drifted), timeout=60) or ""
    operator_pid = stack.operator_pid()
    went_down = stack.stop_control_plane(crash=crash)
    down = rng.uniform(3.0, 12.0)
    time.sleep(down)
    restarted = stack.start_control_plane()
    came_back = bool(poll(lambda: _api_answers(ctx), timeout=60))
    # Drift while the operator's watches reconnect: its Secret must come back (a new one: another uid).
    drift = bool(poll(lambda: _delete_secret(ctx, drifted, old_uid), timeout=60))
    new = [CrRef(NAMESPACE, f"api-new-{index}-{i}") for i in range(ctx.settings.profile.api_new_crs)]
    poll(lambda: ctx.create(new), timeout=60)
    everyone += new
    after = ctx.wait_healthy(everyone)
    new_uid = _secret_uid(ctx, drifted) if drift else ""
    kept_running = operator_pid is not None and stack.operator_pid() == operator_pid
    checks = {
        "kube-apiserver and etcd were verifiably down": went_down,
        "the API answered again": came_back,
        f"the Secret of {drifted} was deleted": drift,
        f"the Secret of {drifted} came back": bool(new_uid) and new_uid != old_uid,
        "the operator kept running while the API server was down": kept_running,
    }
    result.problems += [f"restart {index + 1}: not so: {what}" for what, held in checks.items() if not held]
    if all(checks.values()) and all(h.healthy for h in after):
        result.faults_survived += 1
    return {
        "kind": "SIGKILL" if crash else "SIGTERM",
        "verified_down": went_down,
        "down_seconds": round(down, 1),
        "restarted": restarted,
        "operator_kept_running": kept_running,
        "secret_deleted_after": str(drifted) if drift else "(deletion failed)",
        "secret_recreated": bool(new_uid) and new_uid != old_uid,
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
