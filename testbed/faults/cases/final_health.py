"""At the end of the run, before cleanup: every MySQLDatabase still there (from every case) is checked
again as the cases checked theirs (Ready, its Secret logs in, sees only its database, holds no global
privilege), and the MySQLServer under test must be Ready."""

from __future__ import annotations

import logging

from ..context import Context
from ..crs import CrRef, poll
from ..report import CaseResult

log = logging.getLogger(__name__)


def run_final_health(ctx: Context) -> CaseResult:
    result = CaseResult("final_health")
    items = poll(ctx.stack.crs.list_all, timeout=60)
    if items is None:
        result.problems.append("the MySQLDatabases could not be listed")
        return result
    refs = sorted(CrRef(cr["metadata"]["namespace"], cr["metadata"]["name"]) for cr in items)
    server = ctx.stack.target.ref
    if ctx.health.wait_reason([server], {"Ready"}, timeout=120)[server] != "Ready":
        result.problems.append(f"{server} is not Ready at the end of the run")
    ctx.settle(result, refs, orphans=True)
    log.info("final_health: %d/%d MySQLDatabases healthy", result.healthy, result.crs)
    return result
