"""SIGKILL the operator tree while a `deletionPolicy: Delete` CR is being finalized."""

from __future__ import annotations

import functools
import logging
import time

from .. import runs
from ..context import Context
from ..crs import CrRef, poll
from ..report import CaseResult
from . import common

log = logging.getLogger(__name__)
NAMESPACE = "faults-delete"
# The finalizer's run writes about 110 Ansible events (skipped tasks included).
MOST_EVENTS = 100


def _deleting(ctx: Context, ref: CrRef) -> common.Work:
    """Create `ref`, let it become healthy and its reconciles finish, then delete it: its finalizer's run
    is the work to hit. Returns the runs known before the deletion and the CR's name."""
    stack = ctx.stack
    ctx.create([ref])
    before = ctx.wait_healthy([ref])[0]
    if not before.healthy:
        log.warning("%s: not healthy before its deletion (%s)", ref, before.problem)
    # Let the reconciles the creation triggered finish, so the runs counted are the finalizer's.
    poll(lambda: stack.reconciles_running() == 0, timeout=120, interval=0.5)
    known = runs.jobs(NAMESPACE)
    stack.crs.delete(ref)
    return known, ref.name


def run_delete_kill(ctx: Context) -> CaseResult:
    profile, stack = ctx.settings.profile, ctx.stack
    rng = ctx.rng("delete_kill")
    result = CaseResult("delete_kill")
    kills = []
    for index in range(profile.delete_kills):
        deleted = [CrRef(NAMESPACE, f"del-{index:02d}")]

        def retry(deleted: list[CrRef] = deleted) -> common.Work:
            """The finalizer finished before the kill: another CR to delete."""
            deleted.append(CrRef(NAMESPACE, f"{deleted[0].name}-{len(deleted)}"))
            if stack.operator_pid() is None:
                stack.restart_operator()
            return _deleting(ctx, deleted[-1])

        kill = common.kill_during_reconcile(stack, _deleting(ctx, deleted[0]), NAMESPACE, rng, MOST_EVENTS, retry)
        time.sleep(rng.uniform(0.0, 1.5))
        if stack.operator_pid() is None:
            stack.restart_operator()
        remaining: dict[CrRef, list[str]] = {}
        for ref in deleted:
            clean = poll(functools.partial(common.no_leftovers, stack, ref), profile.settle_seconds, interval=2)
            remaining[ref] = [] if clean else common.leftovers(stack, ref)
            if remaining[ref]:
                result.problems.append(f"{ref}: after deletion still there: {', '.join(remaining[ref])}")
        result.crs += len(deleted)
        result.healthy += sum(not left for left in remaining.values())
        if kill["hit"]:
            result.faults_injected += 1
            result.faults_survived += not any(remaining.values())
        else:
            result.injections_without_work.append({"fault": f"SIGKILL during deletion {index + 1}", **kill})
        kills.append({**kill, "cleaned_up": not any(remaining.values())})
        log.info("delete_kill: kill %d: %s", index + 1, kills[-1])
    ctx.check_orphans(result)
    result.details.update(kills=kills)
    return result
