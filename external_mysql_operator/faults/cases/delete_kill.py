"""SIGKILL the operator tree while a `deletionPolicy: Delete` CR is being finalized."""

from __future__ import annotations

import logging
import time

from .. import runs
from ..context import Context
from ..crs import CrRef, poll
from ..health import owner_records, server_objects
from ..report import CaseResult
from .common import kill_at_random_event

log = logging.getLogger(__name__)
NAMESPACE = "faults-delete"
# The finalizer's run writes about 110 Ansible events (skipped tasks included).
MOST_EVENTS = 100


def _cleaned_up(ctx: Context, ref: CrRef) -> list[str]:
    """What is left of a deleted CR: the CR, its Secret, database, user or ownership records."""
    left = []
    if ctx.stack.crs.exists(ref):
        left.append("the CR (finalizer never finished)")
    if ref.name in {s.metadata.name for s in ctx.stack.crs.core.list_namespaced_secret(ref.namespace).items}:
        left.append("its Secret")
    objects = server_objects(ctx.stack)
    if ref.name in objects.databases:
        left.append("its database")
    if (ref.name, "%") in objects.users:
        left.append("its user")
    if any(name == ref.name for _kind, name, _host, _uid in owner_records(ctx.stack)):
        left.append("its ownership records")
    return left


def run_delete_kill(ctx: Context) -> CaseResult:
    profile, stack = ctx.settings.profile, ctx.stack
    rng = ctx.rng("delete_kill")
    result = CaseResult("delete_kill")
    kills = []
    for index in range(profile.delete_kills):
        ref = CrRef(NAMESPACE, f"del-{index:02d}")
        ctx.create([ref])
        before = ctx.wait_healthy([ref])[0]
        if not before.healthy:
            result.problems.append(f"{ref}: never became healthy before its deletion ({before.problem})")
        # Let the reconciles the creation triggered finish, so the runs counted are the finalizer's.
        poll(lambda: stack.reconciles_running() == 0, timeout=120, interval=0.5)
        known = runs.jobs(NAMESPACE)
        stack.crs.delete(ref)
        kill = kill_at_random_event(stack, NAMESPACE, rng, MOST_EVENTS, known)
        result.faults_injected += 1
        time.sleep(rng.uniform(0.0, 1.5))
        stack.restart_operator()
        left = poll(lambda ref=ref: _cleaned_up(ctx, ref) == [] or None, timeout=profile.settle_seconds, interval=2)
        remaining = [] if left else _cleaned_up(ctx, ref)
        result.crs += 1
        if not remaining:
            result.healthy += 1
            result.faults_survived += 1
        else:
            result.problems.append(f"{ref}: after deletion still there: {', '.join(remaining)}")
        kills.append({**kill, "cleaned_up": not remaining})
        log.info("delete_kill: kill %d: %s", index + 1, kills[-1])
    ctx.check_orphans(result)
    result.details.update(kills=kills)
    return result
