"""Many CRs at once under concurrent reconciles, plus pairs of CRs racing for the same names."""

from __future__ import annotations

import functools
import logging
from typing import Any

from ...kube_api import ready_condition
from ..context import Context
from ..crs import CrRef, poll
from ..health import sql_rows
from ..report import CaseResult
from .common import PeakReconciles, server_invariants

log = logging.getLogger(__name__)
NAMESPACE, RIVALS = "faults-burst", "faults-burst-rival"
LOCK_WORDS = ("lock", "deadlock")


def _race_outcome(ctx: Context, first: CrRef, second: CrRef) -> tuple[CrRef, CrRef] | None:
    """(winner, loser) once one is Ready and the other refused with Conflict."""
    conditions = {ref: ready_condition(ctx.stack.crs.get(ref)) for ref in (first, second)}
    ready = [ref for ref, c in conditions.items() if c.get("status") == "True"]
    conflict = [ref for ref, c in conditions.items() if c.get("status") == "False" and c.get("reason") == "Conflict"]
    return (ready[0], conflict[0]) if len(ready) == 1 and len(conflict) == 1 else None


def _lock_trouble(ctx: Context) -> dict[str, Any]:
    """Lock waits and deadlocks the operator reported (and so recovered from, when everything ended healthy)."""
    events = []
    for namespace in (NAMESPACE, RIVALS):
        events += ctx.stack.crs.core.list_namespaced_event(namespace).items
    messages = [str(e.message or "").lower() for e in events if e.type == "Warning"]
    status = sql_rows(ctx.stack, "SHOW ENGINE INNODB STATUS")
    innodb = str(status[0][2]) if status else ""
    return {
        "lock_wait_or_deadlock_events": sum(any(word in m for word in LOCK_WORDS) for m in messages),
        "innodb_deadlock_detected": "LATEST DETECTED DEADLOCK" in innodb,
    }


def run_burst(ctx: Context) -> CaseResult:
    profile = ctx.settings.profile
    rng = ctx.rng("burst")
    # Each race pair is created (both CRs exist at once, or create raises); the burst must be seen running
    # reconciles at once, else it found no work to load the operator with.
    result = CaseResult("burst", faults_injected=profile.race_pairs)
    refs = [CrRef(NAMESPACE, f"burst-{i:02d}") for i in range(profile.burst_crs)]
    pairs = [(CrRef(NAMESPACE, f"race-{i}"), CrRef(RIVALS, f"race-{i}")) for i in range(profile.race_pairs)]
    everything = refs + [ref for pair in pairs for ref in pair]
    rng.shuffle(everything)
    with PeakReconciles(ctx.stack, (NAMESPACE, RIVALS)) as peak:
        ctx.create(everything, parallel=16)
        healths = ctx.settle(result, refs, orphans=False)
    concurrent = peak.peak >= 2
    if concurrent:
        result.faults_injected += 1
    else:
        result.injections_without_work.append({"fault": "burst", "most_reconciles_at_once": peak.peak})
    burst_ok = concurrent and all(h.healthy for h in healths)
    outcomes = [poll(functools.partial(_race_outcome, ctx, *pair), timeout=profile.settle_seconds) for pair in pairs]
    winners = [outcome[0] for outcome in outcomes if outcome]
    losers = [outcome[1] for outcome in outcomes if outcome]
    result.problems += [f"race-{i}: no single winner with a Conflict loser" for i, o in enumerate(outcomes) if not o]
    # Deleting a loser (deletionPolicy: Delete) must leave the winner's database and user alone.
    for loser in losers:
        ctx.stack.crs.delete(loser)
    poll(lambda: not any(ctx.stack.crs.exists(ref) for ref in losers), timeout=profile.settle_seconds, interval=2)
    winner_health = ctx.wait_healthy(winners)
    result.problems += ctx.health.record(winner_health)
    invariants = server_invariants(ctx.stack, [ref.name for ref in refs + winners])
    result.problems += invariants
    result.crs += 2 * len(pairs)
    result.healthy += 2 * sum(h.healthy for h in winner_health)
    result.faults_survived = int(burst_ok and not invariants) + sum(h.healthy for h in winner_health)
    result.details.update(
        concurrent_reconciles=profile.max_concurrent_reconciles,
        most_reconciles_seen_at_once=peak.peak,
        race_pairs=len(pairs),
        races_resolved=len(winners),
        **_lock_trouble(ctx),
    )
    ctx.check_orphans(result)
    return result
