"""Delete `deletionPolicy: Delete` CRs while their server cannot be reached: MariaDB stopped, the admin
Secret holding a wrong password, MariaDB crashed (full profile). The finalizer must stay and the CR say why
(Ready=False, the reason the finalizer's own connection met), nothing may be dropped meanwhile, nothing the
CR did not own ever (a neighbour CR's database and user, an unmanaged database and user), and the cleanup
must complete on its own once the server is back.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...localenv import process
from ..context import Context
from ..crs import TRANSIENT, CrRef, poll
from ..health import CrHealth, server_objects, sql_rows
from ..report import CaseResult
from .common import leftovers, no_leftovers, passwords_changed, server_hashes, set_server_key

log = logging.getLogger(__name__)
NAMESPACE = "faults-delete-outage"
FINALIZER = "piwik.pro/finalizer"  # watches.yaml
UNMANAGED = "faults_unmanaged"  # a database and user made by hand on the server, never by a CR
STOPPED, WRONG_PASSWORD, CRASHED = "server stopped", "wrong admin password", "server crashed"
FAULTS = (STOPPED, WRONG_PASSWORD, CRASHED)
# The finalizer connects whatever its server's last check said (require_ready is off while finalizing:
# roles/mysqldatabase/tasks/server_connection.yml), so it reports what its own connection met
# (delete.yml keeps the finalizer with that reason).
EXPECTED_REASONS = {
    STOPPED: frozenset({"ServerUnreachable"}),
    WRONG_PASSWORD: frozenset({"AdminAuthFailed"}),
    CRASHED: frozenset({"ServerUnreachable"}),
}


@dataclass
class DeletionUnderFault:
    """What the suite saw of CRs deleted while one fault lasted (names are "namespace/name")."""

    fault: str
    injected: bool  # the fault verifiably happened (MariaDB down, the wrong password read back)
    reasons: dict[str, str]  # victim -> the Ready=False reason it reported while the fault lasted
    finalizer_held: dict[str, bool]  # victim -> still there with its finalizer through the whole hold
    dropped_during: dict[str, list[str]]  # victim or bystander -> its objects gone while the fault lasted
    recovered: bool  # the fault verifiably undone
    left_after: dict[str, list[str]]  # victim -> what was left of it once the cleanup had its time
    bystanders_after: list[str] = field(default_factory=list)  # what others own, gone or changed afterwards
    observable_during: bool = True  # the server answered the suite while the fault lasted


def judge_deletion(obs: DeletionUnderFault) -> list[str]:
    """The problems of one deletion under a fault; none means it was survived."""
    problems = []
    if not obs.injected:
        problems.append(f"{obs.fault}: the fault did not verifiably happen")
    expected = EXPECTED_REASONS[obs.fault]
    for victim, reason in sorted(obs.reasons.items()):
        if reason not in expected:
            problems.append(
                f"{victim}: reported {reason or 'nothing'} under {obs.fault}, not {'/'.join(sorted(expected))}"
            )
    for victim, held in sorted(obs.finalizer_held.items()):
        if not held:
            problems.append(f"{victim}: the finalizer let go under {obs.fault}")
    for owner, gone in sorted(obs.dropped_during.items()):
        if gone:
            problems.append(f"{owner}: {', '.join(gone)} dropped under {obs.fault}")
    if not obs.recovered:
        problems.append(f"{obs.fault}: the server could not be brought back")
    for victim, left in sorted(obs.left_after.items()):
        if left:
            problems.append(f"{victim}: after recovery from {obs.fault} still there: {', '.join(left)}")
    problems += [f"after {obs.fault}: {what}" for what in obs.bystanders_after]
    if not obs.reasons or set(obs.reasons) != set(obs.finalizer_held) or set(obs.reasons) != set(obs.left_after):
        problems.append(f"{obs.fault}: the victims were not all observed")
    return problems


@dataclass
class Bystanders:
    """What the deleted CRs never owned: a neighbour CR and an unmanaged database and user."""

    neighbour: CrRef
    neighbour_health: dict[CrRef, CrHealth]  # before the faults, for passwords_changed
    neighbour_hash: dict[CrRef, str]
    unmanaged_hash: str

    def objects_missing(self, objects: Any) -> list[str]:
        """The bystanders' objects not on the server (from server_objects)."""
        missing = []
        name = self.neighbour.name
        if name not in objects.databases:
            missing.append(f"database {name!r} of {self.neighbour}")
        if (name, "%") not in objects.users:
            missing.append(f"user {name!r} of {self.neighbour}")
        if UNMANAGED not in objects.databases:
            missing.append(f"unmanaged database {UNMANAGED!r}")
        if (UNMANAGED, "%") not in objects.users:
            missing.append(f"unmanaged user {UNMANAGED!r}")
        return missing


def _unmanaged_hash(ctx: Context) -> str:
    rows = sql_rows(
        ctx.stack, "SELECT authentication_string FROM mysql.user WHERE User = %s AND Host = '%%'", (UNMANAGED,)
    )
    return str(rows[0][0]) if rows else ""


def _make_unmanaged(ctx: Context) -> None:
    """A database and a locked user with a grant on it, as a DBA would make by hand (the password meets the
    hardened server's policy: upper, lower, digit, other)."""
    password = f"{secrets.token_urlsafe(18)}aA1!"
    ctx.book.add("password of the unmanaged user made by deletion_outage", password)
    sql_rows(ctx.stack, f"CREATE DATABASE IF NOT EXISTS `{UNMANAGED}`")
    sql_rows(ctx.stack, "CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s ACCOUNT LOCK", (UNMANAGED, password))
    sql_rows(ctx.stack, f"GRANT SELECT ON `{UNMANAGED}`.* TO %s@'%%'", (UNMANAGED,))


def _drop_unmanaged(ctx: Context) -> None:
    poll(lambda: server_objects(ctx.stack), timeout=120, interval=2)
    sql_rows(ctx.stack, f"DROP DATABASE IF EXISTS `{UNMANAGED}`")
    sql_rows(ctx.stack, "DROP USER IF EXISTS %s@'%%'", (UNMANAGED,))


def _bystanders_after(ctx: Context, bystanders: Bystanders) -> list[str]:
    """After a fault's cleanup: every bystander object there, the neighbour healthy with the same password,
    the unmanaged user's password untouched."""
    stack = ctx.stack
    problems = bystanders.objects_missing(server_objects(stack))
    health = ctx.wait_healthy([bystanders.neighbour])
    problems += ctx.health.record(health)
    hashes = server_hashes(stack, [bystanders.neighbour])
    changed = passwords_changed(bystanders.neighbour_health, health, bystanders.neighbour_hash, hashes)
    problems += [f"{ref}: password changed" for ref in changed]
    if _unmanaged_hash(ctx) != bystanders.unmanaged_hash:
        problems.append(f"unmanaged user {UNMANAGED!r}: password changed or user gone")
    return problems


def _finalizer_on(ctx: Context, ref: CrRef) -> bool | None:
    """True while the CR is being deleted with its finalizer on; False once gone; None when unreadable."""
    try:
        if not ctx.stack.crs.exists(ref):
            return False
        meta = ctx.stack.crs.get(ref)["metadata"]
    except TRANSIENT:
        return None
    return bool(meta.get("deletionTimestamp")) and FINALIZER in (meta.get("finalizers") or [])


def _hold(
    ctx: Context, victims: list[CrRef], bystanders: Bystanders, seconds: float, observable: bool
) -> tuple[dict[str, bool], dict[str, list[str]]]:
    """Watch the victims for `seconds` while the fault lasts: the finalizer must stay on each, and (when the
    server answers the suite) neither their objects nor the bystanders' may disappear."""
    held = {str(ref): True for ref in victims}
    dropped: dict[str, list[str]] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for ref in victims:
            if _finalizer_on(ctx, ref) is False:
                held[str(ref)] = False
        if observable:
            objects = server_objects(ctx.stack)
            for ref in victims:
                gone = [kind for kind, there in _objects_of(ref.name, objects).items() if not there]
                if gone:
                    dropped[str(ref)] = sorted(set(dropped.get(str(ref), [])) | set(gone))
            missing = bystanders.objects_missing(objects)
            if missing:
                dropped["bystanders"] = sorted(set(dropped.get("bystanders", [])) | set(missing))
        time.sleep(2)
    return held, dropped


def _objects_of(name: str, objects: Any) -> dict[str, bool]:
    return {"its database": name in objects.databases, "its user": (name, "%") in objects.users}


@dataclass
class Fault:
    """How to inject one fault and undo it; each returns whether it verifiably happened."""

    inject: Callable[[], bool]
    undo: Callable[[], bool]
    observable: bool  # the server answers the suite's DBA connection while it lasts


def _faults(ctx: Context) -> dict[str, Fault]:
    stack = ctx.stack
    wrong = secrets.token_urlsafe(24)
    ctx.book.add("wrong admin password set by deletion_outage", wrong)
    target = stack.target

    def restart() -> bool:
        came_back = stack.start_mariadb()
        ctx.poke([target.ref], f"deletion-outage-{time.monotonic():.0f}")  # its check now, not in 5 minutes
        return came_back

    return {
        STOPPED: Fault(lambda: stack.stop_mariadb(crash=False), restart, observable=False),
        WRONG_PASSWORD: Fault(
            lambda: bool(poll(lambda: set_server_key(stack, "password", wrong), timeout=60)),
            lambda: bool(poll(lambda: set_server_key(stack, "password", target.admin_password), timeout=60)),
            observable=True,
        ),
        CRASHED: Fault(lambda: stack.stop_mariadb(crash=True), restart, observable=False),
    }


def _delete_under(
    ctx: Context, kind: str, fault: Fault, index: int, bystanders: Bystanders
) -> tuple[DeletionUnderFault, dict[str, Any], list[str]]:
    """Create the fault's victims, inject it, delete them, watch the finalizer hold, undo it, watch the
    cleanup; returns the observation, its summary and the victims that were not healthy to begin with."""
    profile, stack = ctx.settings.profile, ctx.stack
    victims = [CrRef(NAMESPACE, f"victim-{index}-{n}") for n in range(profile.deletions_per_fault)]
    ctx.create(victims, parallel=4, plant_control=False)
    before = ctx.wait_healthy(victims)
    unhealthy = ctx.health.record(before)
    injected = fault.inject()
    started = time.monotonic()
    for ref in victims:
        ctx.stack.crs.delete(ref)
    reasons = ctx.health.wait_reason(victims, EXPECTED_REASONS[kind], timeout=180)
    held, dropped = _hold(ctx, victims, bystanders, profile.deletion_hold_seconds, fault.observable)
    # What they say at the end of the hold, after the operator's retries.
    reasons = {ref: ctx.health.wait_reason([ref], EXPECTED_REASONS[kind], timeout=30)[ref] for ref in victims}
    recovered = fault.undo()
    down_for = time.monotonic() - started
    left: dict[str, list[str]] = {}
    for ref in victims:
        clean = poll(functools.partial(no_leftovers, stack, ref), timeout=profile.settle_seconds, interval=2)
        left[str(ref)] = [] if clean else leftovers(stack, ref)
    cleanup_took = time.monotonic() - started - down_for
    obs = DeletionUnderFault(
        fault=kind,
        injected=injected,
        reasons={str(ref): reason for ref, reason in reasons.items()},
        finalizer_held=held,
        dropped_during=dropped,
        recovered=recovered,
        left_after=left,
        bystanders_after=_bystanders_after(ctx, bystanders),
        observable_during=fault.observable,
    )
    detail = {
        "fault": kind,
        "verified": injected,
        "deleted": len(victims),
        "healthy_before": sum(h.healthy for h in before),
        "reported": sorted(set(reasons.values())),
        "finalizer_held": sum(held.values()),
        "objects_checked_during": fault.observable,
        "fault_seconds": round(down_for, 1),
        "cleaned_up_after": sum(not v for v in left.values()),
        "cleanup_seconds_after_recovery": round(cleanup_took, 1),
    }
    return obs, detail, unhealthy


def run_deletion_outage(ctx: Context) -> CaseResult:
    stack = ctx.stack
    result = CaseResult("deletion_outage")
    neighbour = CrRef(NAMESPACE, "neighbour")
    ctx.create([neighbour])
    before = ctx.wait_healthy([neighbour])
    result.problems += ctx.health.record(before)
    _make_unmanaged(ctx)
    bystanders = Bystanders(
        neighbour, {h.ref: h for h in before}, server_hashes(stack, [neighbour]), _unmanaged_hash(ctx)
    )
    faults = _faults(ctx)
    details = []
    try:
        for index, kind in enumerate(FAULTS[: ctx.settings.profile.deletion_faults]):
            result.faults_injected += 1
            obs, detail, unhealthy = _delete_under(ctx, kind, faults[kind], index, bystanders)
            problems = judge_deletion(obs) + unhealthy
            result.faults_survived += not problems
            result.crs += len(obs.left_after)
            result.healthy += sum(not left for left in obs.left_after.values())  # a deleted CR is well when gone
            result.problems += problems
            details.append(detail)
            log.info("deletion_outage: %s: %s", kind, detail)
    finally:
        # Whatever happened, the next cases get their server back as it was.
        if process.pid_of(stack.paths, stack.target.component) is None and not stack.start_mariadb():
            result.problems.append(f"MariaDB {stack.target.component} could not be started again")
        poll(lambda: set_server_key(stack, "password", stack.target.admin_password), timeout=60)
        _drop_unmanaged(ctx)
    ctx.settle(result, [neighbour])
    result.details.update(faults=details)
    return result
