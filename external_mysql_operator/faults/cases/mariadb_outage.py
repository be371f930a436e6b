"""Stop MariaDB (cleanly, then by SIGKILL) under the running operator, and start it again."""

from __future__ import annotations

import logging
import time

from ..context import Context
from ..crs import CrRef
from ..report import CaseResult
from .common import passwords_changed, server_hashes

log = logging.getLogger(__name__)
NAMESPACE = "faults-outage"
OUTAGE_REASON = "ServerUnreachable"


def run_mariadb_outage(ctx: Context) -> CaseResult:
    profile, stack = ctx.settings.profile, ctx.stack
    rng = ctx.rng("mariadb_outage")
    result = CaseResult("mariadb_outage")
    refs = ctx.create([CrRef(NAMESPACE, f"outage-{i:02d}") for i in range(profile.outage_crs)], parallel=4)
    before = {h.ref: h for h in ctx.wait_healthy(refs)}
    hashes_before = server_hashes(stack, refs)
    outages = []
    everyone = list(refs)
    for index in range(profile.outages):
        crash = index % 2 == 1
        operator_pid = stack.operator_pid()
        stack.stop_mariadb(crash=crash)
        result.faults_injected += 1
        started = time.monotonic()
        new = [CrRef(NAMESPACE, f"outage-new-{index}-{i}") for i in range(profile.outage_new_crs)]
        ctx.create(new)
        everyone += new
        ctx.poke(refs, f"outage-{index}")
        reasons = ctx.health.wait_reason(everyone, OUTAGE_REASON, timeout=180)
        wrong = {str(ref): reason for ref, reason in reasons.items() if reason != OUTAGE_REASON}
        time.sleep(rng.uniform(2.0, 8.0))
        operator_kept_running = operator_pid is not None and stack.operator_pid() == operator_pid
        down_for = time.monotonic() - started
        stack.start_mariadb()
        after = ctx.wait_healthy(everyone)
        changed = passwords_changed(before, after, hashes_before, server_hashes(stack, refs))
        healthy = all(h.healthy for h in after)
        if healthy and operator_kept_running and not wrong and not changed:
            result.faults_survived += 1
        result.problems += [f"{ref}: reported {reason or 'nothing'} during the outage" for ref, reason in wrong.items()]
        result.problems += [f"{ref}: password changed because of the outage" for ref in changed]
        if not operator_kept_running:
            result.problems.append("the operator did not keep running during the outage")
        outages.append(
            {
                "kind": "SIGKILL" if crash else "SIGTERM",
                "down_seconds": round(down_for, 1),
                "reported_server_unreachable": len(reasons) - len(wrong),
                "operator_kept_running": operator_kept_running,
                "passwords_changed": len(changed),
                "healthy_after": sum(h.healthy for h in after),
            }
        )
        log.info("mariadb_outage: outage %d: %s", index + 1, outages[-1])
    ctx.settle(result, everyone)
    result.details.update(outages=outages)
    return result
