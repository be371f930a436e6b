"""Stop the MariaDB under test (cleanly, then by SIGKILL) under the running operator, and start it again:
its MySQLServer reports ServerUnreachable, its MySQLDatabases are refused, and all heal afterwards."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..context import Context
from ..crs import CrRef
from ..health import CrHealth
from ..report import CaseResult
from .common import passwords_changed, server_hashes

log = logging.getLogger(__name__)
NAMESPACE = "faults-outage"
OUTAGE_REASON = "ServerUnreachable"
# A MySQLDatabase that reconciles before its server's next check finds MariaDB gone itself; one that
# reconciles after it is refused because its server is not Ready.
DATABASE_REASONS = frozenset({OUTAGE_REASON, "ServerNotReady"})


@dataclass
class Outages:
    """The CRs Ready before the first outage (with their passwords) and every CR made since."""

    before: dict[CrRef, CrHealth]
    hashes_before: dict[CrRef, str]
    everyone: list[CrRef] = field(default_factory=list)


def _outage(ctx: Context, state: Outages, index: int, rng: random.Random, result: CaseResult) -> dict[str, Any]:
    """One outage: CRs report ServerUnreachable, the operator keeps running, all heal, no password changes."""
    crash, stack, existing = index % 2 == 1, ctx.stack, list(state.before)
    server = stack.target.ref
    operator_pid = stack.operator_pid()
    went_down = stack.stop_mariadb(crash=crash)
    started = time.monotonic()
    # The server and every CR so far (those made in earlier outages too) check now, not at their period.
    ctx.poke([server, *state.everyone], f"outage-{index}")
    state.everyone += ctx.create(
        [CrRef(NAMESPACE, f"outage-new-{index}-{i}") for i in range(ctx.settings.profile.outage_new_crs)]
    )
    server_reason = ctx.health.wait_reason([server], {OUTAGE_REASON}, timeout=180)[server]
    reasons = ctx.health.wait_reason(state.everyone, DATABASE_REASONS, timeout=180)
    wrong = {str(ref): reason for ref, reason in reasons.items() if reason not in DATABASE_REASONS}
    if server_reason != OUTAGE_REASON:
        wrong[str(server)] = server_reason
    time.sleep(rng.uniform(2.0, 8.0))
    kept_running = operator_pid is not None and stack.operator_pid() == operator_pid
    down_for = time.monotonic() - started
    came_back = stack.start_mariadb()
    after = ctx.wait_healthy(state.everyone)
    changed = passwords_changed(state.before, after, state.hashes_before, server_hashes(stack, existing))
    if not went_down:
        result.problems.append(f"outage {index + 1}: MariaDB {stack.target.component} was not down after the stop")
    if not came_back:
        result.problems.append(f"outage {index + 1}: MariaDB {stack.target.component} did not come back")
    injected = went_down and came_back
    if injected and all(h.healthy for h in after) and kept_running and not wrong and not changed:
        result.faults_survived += 1
    result.problems += [f"{ref}: reported {reason or 'nothing'} during the outage" for ref, reason in wrong.items()]
    result.problems += [f"{ref}: password changed because of the outage" for ref in changed]
    if not kept_running:
        result.problems.append("the operator did not keep running during the outage")
    return {
        "kind": "SIGKILL" if crash else "SIGTERM",
        "server": stack.target.server,
        "verified_down": went_down,
        "down_seconds": round(down_for, 1),
        "server_reported": server_reason or "nothing",
        "databases_reported": sorted(set(reasons.values())),
        "refused": sum(reason in DATABASE_REASONS for reason in reasons.values()),
        "operator_kept_running": kept_running,
        "passwords_changed": len(changed),
        "healthy_after": sum(h.healthy for h in after),
    }


def run_mariadb_outage(ctx: Context) -> CaseResult:
    profile, rng = ctx.settings.profile, ctx.rng("mariadb_outage")
    result = CaseResult("mariadb_outage")
    refs = ctx.create([CrRef(NAMESPACE, f"outage-{i:02d}") for i in range(profile.outage_crs)], parallel=4)
    state = Outages({h.ref: h for h in ctx.wait_healthy(refs)}, server_hashes(ctx.stack, refs), list(refs))
    outages = []
    for index in range(profile.outages):
        result.faults_injected += 1
        outages.append(_outage(ctx, state, index, rng, result))
        log.info("mariadb_outage: outage %d: %s", index + 1, outages[-1])
    ctx.settle(result, state.everyone)
    result.details.update(outages=outages)
    return result
