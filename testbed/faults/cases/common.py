"""Helpers several cases share: passwords before and after a fault; a SIGKILL that must hit a reconcile;
what a deleted CR left behind; the server's invariants after many CRs; the server's admin Secret."""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ...background_thread import Sampler
from ...localenv.config import OPERATOR_NAMESPACE
from .. import runs
from ..crs import CrRef, poll
from ..health import CrHealth, owner_records, server_objects, sql_rows
from ..stack import FaultStack

log = logging.getLogger(__name__)


def server_hashes(stack: FaultStack, refs: list[CrRef]) -> dict[CrRef, str]:
    """The stored password hash of each CR's user (named like the CR in these cases)."""
    rows = sql_rows(stack, "SELECT User, authentication_string FROM mysql.user WHERE Host = '%'")
    stored = {str(user): str(native_hash) for user, native_hash in rows}
    return {ref: stored.get(ref.name, "") for ref in refs}


def passwords_changed(
    before: dict[CrRef, CrHealth],
    after: list[CrHealth],
    hashes_before: dict[CrRef, str],
    hashes_after: dict[CrRef, str],
) -> list[str]:
    """CRs whose Secret password or server-side password changed across a fault."""
    changed = []
    for health in after:
        old = before.get(health.ref)
        if old is None:
            continue
        if health.password != old.password or hashes_before.get(health.ref) != hashes_after.get(health.ref):
            changed.append(str(health.ref))
    return changed


def set_server_key(stack: FaultStack, key: str, value: str) -> bool:
    """Set one key of the target server's credentials Secret; True once reading it back shows the value."""
    core, name = stack.crs.core, stack.target.credentials
    core.patch_namespaced_secret(name, OPERATOR_NAMESPACE, {"stringData": {key: value}})
    data = core.read_namespaced_secret(name, OPERATOR_NAMESPACE).data or {}
    return base64.b64decode(data.get(key, "")).decode("utf-8", "replace") == value


def no_leftovers(stack: FaultStack, ref: CrRef) -> bool | None:
    """True once nothing is left of the deleted CR (for poll); None while something is."""
    return True if leftovers(stack, ref) == [] else None


def leftovers(stack: FaultStack, ref: CrRef) -> list[str]:
    """What is left of a deleted CR (named like its database and user): the CR, its Secret, database, user
    or ownership records."""
    left = []
    if stack.crs.exists(ref):
        left.append("the CR (finalizer never finished)")
    if ref.name in {s.metadata.name for s in stack.crs.core.list_namespaced_secret(ref.namespace).items}:
        left.append("its Secret")
    objects = server_objects(stack)
    if ref.name in objects.databases:
        left.append("its database")
    if (ref.name, "%") in objects.users:
        left.append("its user")
    if any(name == ref.name for _kind, name, _host, _uid in owner_records(stack)):
        left.append("its ownership records")
    return left


def server_invariants(stack: FaultStack, names: list[str]) -> list[str]:
    """For CRs named like their database and user: no duplicate users, exactly one database grant each,
    two ownership records each."""
    problems = []
    users = sql_rows(stack, "SELECT User, COUNT(*) FROM mysql.user GROUP BY User HAVING COUNT(*) > 1")
    problems += [f"user {user!r} exists {count} times" for user, count in users if str(user) in names]
    grants: dict[str, list[str]] = {}
    for user, db in sql_rows(stack, "SELECT User, Db FROM mysql.db"):
        grants.setdefault(str(user), []).append(str(db))
    records: dict[str, int] = {}
    for _kind, name, _host, _uid in owner_records(stack):
        records[name] = records.get(name, 0) + 1
    for name in names:
        if grants.get(name) != [name.replace("_", "\\_")]:
            problems.append(f"user {name!r} holds database grants on {grants.get(name, [])}, not exactly its own")
        if records.get(name) != 2:
            problems.append(f"{name!r} has {records.get(name, 0)} ownership records, not 2")
    return problems


MAX_ATTEMPTS = 3  # tries of one SIGKILL to find a reconcile in flight
RETRY_MOST_EVENTS = 10  # a retry's work is a single reconcile: kill it early
WORK_TIMEOUT = 300.0
# What the retry of a kill that found no work returns: the runs known before it made new work, and the
# one CR whose reconcile must be hit ('' for any of the namespace).
Work = tuple[set[Path], str]


class Operator(Protocol):
    """What waiting for work asks of an operator: the command lines of the processes under it."""

    def running_commands(self) -> list[tuple[str, ...]]: ...


def await_work(
    operator: Operator, namespace: str, known: set[Path], target: int, name: str = "", kind_root: Path | None = None
) -> str:
    """Wait until `target` Ansible events of runs not in `known` were written while a reconcile of the
    namespace (of `name`, when given) is in flight under `operator` (whose runs are under `kind_root`, see
    runs.jobs). Returns "in flight", "idle" (every run finished first), or "no run" / "timeout" when the
    deadline passed."""
    outcome = {"state": ""}

    def settled() -> bool:
        count = runs.event_count(namespace, known, kind_root)
        in_flight = runs.reconciles_of(operator.running_commands(), namespace, name)
        if count >= target and in_flight:
            outcome["state"] = "in flight"
        elif count and not in_flight and not runs.tasks_in_flight(namespace, known, kind_root):
            outcome["state"] = "idle"
        return bool(outcome["state"])

    if poll(settled, timeout=WORK_TIMEOUT, interval=0.2):
        return outcome["state"]
    return "timeout" if runs.event_count(namespace, known, kind_root) else "no run"


def kill_during_reconcile(
    stack: FaultStack,
    work: Work,
    namespace: str,
    rng: random.Random,
    most: int,
    retry: Callable[[], Work],
) -> dict[str, Any]:
    """SIGKILL the operator tree after a random number (1..most) of Ansible events of the runs not known
    before, while a reconcile of the namespace (or of the one CR the work names) runs.

    Waiting for events rather than seconds spreads the kills over the role's tasks whatever the machine's
    speed. The kill counts only when the frozen tree verifiably held such a reconcile (an ansible-runner
    running that CR's folder); otherwise `retry` makes new work and it is tried again, MAX_ATTEMPTS times
    in all. The record's "hit" lists the reconciles killed; empty when no attempt found work.
    """
    misses: list[dict[str, Any]] = []
    for attempt in range(MAX_ATTEMPTS):
        known, name = work
        target = rng.randint(1, most if attempt == 0 else min(most, RETRY_MOST_EVENTS))
        state = await_work(stack, namespace, known, target, name)
        if state == "in flight":
            tasks = runs.tasks_in_flight(namespace, known)
            killed = stack.kill_operator()
            hit = runs.reconciles_of(killed.values(), namespace, name)
            if hit:
                record = {"after_events": target, "hit": hit, "tasks": tasks, "processes_killed": len(killed)}
                return {**record, "attempts": attempt + 1, "misses": misses}
            state = "finished before the kill"
            stack.restart_operator()
        misses.append({"after_events": target, "found": state, "cr": name or namespace})
        log.info("kill attempt %d in %s found no reconcile to hit (%s)", attempt + 1, namespace, state)
        work = retry()
    return {"hit": [], "attempts": MAX_ATTEMPTS, "misses": misses}


class PeakReconciles(Sampler):
    """The most reconciles of some namespaces seen running at once, sampled in the background while in
    a `with` block: what proves that a burst ran reconciles concurrently."""

    def __init__(self, stack: FaultStack, namespaces: tuple[str, ...]) -> None:
        super().__init__("peak-reconciles", interval=0.5)
        self.stack, self.namespaces, self.peak = stack, namespaces, 0

    def sample(self) -> None:
        commands = self.stack.running_commands()
        now = sum(len(runs.reconciles_of(commands, namespace)) for namespace in self.namespaces)
        self.peak = max(self.peak, now)
