"""Break the credentials Secret of the MySQLServer under test (wrong password, then wrong user) and fix it
again: the server reports AdminAuthFailed, its MySQLDatabases are refused, and all heal afterwards."""

from __future__ import annotations

import functools
import logging
import string

from ..context import Context
from ..crs import CrRef, poll
from ..report import CaseResult
from .common import passwords_changed, server_hashes, set_server_key

log = logging.getLogger(__name__)
NAMESPACE = "faults-admin"
REASON = "AdminAuthFailed"
# A MySQLDatabase that reconciles before its server's next check meets the wrong credentials itself; one
# that reconciles after it is refused because its server is not Ready. Neither changes anything.
DATABASE_REASONS = frozenset({REASON, "ServerNotReady"})


def _breakages(ctx: Context, count: int) -> list[tuple[str, str, str]]:
    """(key, wrong value, right value) for each flip: a wrong password first, then a wrong user."""
    rng = ctx.rng("admin_password")
    wrong_password = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
    ctx.book.add("wrong admin password set by admin_password", wrong_password)
    target = ctx.stack.target
    flips = [
        ("password", wrong_password, target.admin_password),
        ("username", "faults_no_such_admin", target.admin_user),
    ]
    return flips[:count]


def run_admin_password(ctx: Context) -> CaseResult:
    profile, stack = ctx.settings.profile, ctx.stack
    server = stack.target.ref
    result = CaseResult("admin_password")
    refs = ctx.create([CrRef(NAMESPACE, f"admin-{i:02d}") for i in range(profile.admin_crs)], parallel=4)
    before = {h.ref: h for h in ctx.wait_healthy(refs)}
    hashes_before = server_hashes(stack, refs)
    flips = []
    for index, (key, wrong, right) in enumerate(_breakages(ctx, profile.admin_flips)):
        result.faults_injected += 1  # one that could not be injected counts, unsurvived: the case fails
        if not poll(functools.partial(set_server_key, stack, key, wrong), timeout=60):
            result.problems.append(f"flip {index + 1}: the wrong admin {key} never reached the server's Secret")
            continue
        # The server reconciles at once when its Secret changes (its role marks the Secret as its dependent);
        # that is part of what is tested, so it is not poked. The databases hear of a change only when their
        # server works again; poke them so that they try the wrong credentials now.
        ctx.poke(refs, f"admin-{index}")
        server_reason = ctx.health.wait_reason([server], {REASON}, timeout=180)[server]
        reasons = ctx.health.wait_reason(refs, DATABASE_REASONS, timeout=180)
        wrong_reasons = {str(ref): reason for ref, reason in reasons.items() if reason not in DATABASE_REASONS}
        if server_reason != REASON:
            wrong_reasons[str(server)] = server_reason
        restored = bool(poll(functools.partial(set_server_key, stack, key, right), timeout=60))
        if not restored:
            result.problems.append(f"flip {index + 1}: the right admin {key} could not be put back")
        after = ctx.wait_healthy(refs)
        changed = passwords_changed(before, after, hashes_before, server_hashes(stack, refs))
        if restored and not wrong_reasons and not changed and all(h.healthy for h in after):
            result.faults_survived += 1
        result.problems += [
            f"{ref}: reported {r or 'nothing'} with a wrong admin {key}" for ref, r in wrong_reasons.items()
        ]
        result.problems += [f"{ref}: password changed because of the admin Secret" for ref in changed]
        flips.append(
            {
                "wrong": key,
                "server_reported": server_reason or "nothing",
                "databases_reported": sorted(set(reasons.values())),
                "refused": sum(reason in DATABASE_REASONS for reason in reasons.values()),
                "passwords_changed": len(changed),
                "healthy_after": sum(h.healthy for h in after),
            }
        )
        log.info("admin_password: flip %d: %s", index + 1, flips[-1])
    ctx.settle(result, refs)
    result.details.update(flips=flips)
    return result
