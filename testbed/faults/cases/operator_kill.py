"""SIGKILL the whole operator tree at random points of reconciles while CRs are being created."""

from __future__ import annotations

import logging
import time

from .. import runs
from ..context import Context
from ..crs import CrRef
from ..report import CaseResult
from . import common

log = logging.getLogger(__name__)
NAMESPACE = "faults-kill"
# A reconcile writes about 110 Ansible events (skipped tasks included); 4 run at once.
MOST_EVENTS = 400


def _batches(refs: list[CrRef], count: int) -> list[list[CrRef]]:
    """Split the CRs into `count` creation batches, one before each kill."""
    size, extra = divmod(len(refs), count)
    batches, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        batches.append(refs[start:end])
        start = end
    return batches


def run_operator_kill(ctx: Context) -> CaseResult:
    profile, stack = ctx.settings.profile, ctx.stack
    rng = ctx.rng("operator_kill")
    result = CaseResult("operator_kill")
    refs = [CrRef(NAMESPACE, f"kill-{index:02d}") for index in range(profile.kill_crs)]
    created: list[CrRef] = []
    exposed: list[list[CrRef]] = []  # the CRs that existed when each kill that hit a reconcile happened
    kills = []
    known = runs.jobs(NAMESPACE)
    retries, restarts_before = 0, stack.restarts

    def retry() -> common.Work:
        """Every CR so far reconciles again (an annotation change): new runs to hit."""
        nonlocal retries
        retries += 1
        before = runs.jobs(NAMESPACE)
        ctx.poke(created, f"kill-retry-{retries}")
        return before, ""

    for batch in _batches(refs, profile.kills):
        created += ctx.create(batch, parallel=4)
        kill = common.kill_during_reconcile(stack, (known, ""), NAMESPACE, rng, MOST_EVENTS, retry)
        kills.append(kill)
        if kill["hit"]:
            result.faults_injected += 1
            exposed.append(list(created))
        else:
            result.injections_without_work.append({"fault": f"SIGKILL {len(kills)}", **kill})
        log.info("operator_kill: kill %d: %s", len(kills), kill)
        time.sleep(rng.uniform(0.0, 1.5))
        known = runs.jobs(NAMESPACE)
        if stack.operator_pid() is None:
            stack.restart_operator()
    healths = {h.ref: h for h in ctx.settle(result, created)}
    result.faults_survived = sum(all(healths[ref].healthy for ref in crs) for crs in exposed)
    result.details.update(kills=kills, restarts=stack.restarts - restarts_before)
    return result
