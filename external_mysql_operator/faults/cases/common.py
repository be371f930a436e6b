"""Helpers several cases share: passwords before and after a fault; a SIGKILL that must hit a reconcile."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import runs
from ..crs import CrRef, poll
from ..health import CrHealth, sql_rows
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


MAX_ATTEMPTS = 3  # tries of one SIGKILL to find a reconcile in flight
RETRY_MOST_EVENTS = 10  # a retry's work is a single reconcile: kill it early
WORK_TIMEOUT = 300.0
# What the retry of a kill that found no work returns: the runs known before it made new work, and the
# one CR whose reconcile must be hit ('' for any of the namespace).
Work = tuple[set[Path], str]


def _await_work(stack: FaultStack, namespace: str, known: set[Path], target: int, name: str) -> str:
    """Wait until `target` Ansible events of runs not in `known` were written while a reconcile of the
    namespace (of `name`, when given) is in flight. Returns "in flight", "idle" (every run finished
    first), or "no run" / "timeout" when the deadline passed."""
    outcome = {"state": ""}

    def settled() -> bool:
        count = runs.event_count(namespace, known)
        in_flight = runs.reconciles_of(stack.running_commands(), namespace, name)
        if count >= target and in_flight:
            outcome["state"] = "in flight"
        elif count and not in_flight and not runs.tasks_in_flight(namespace, known):
            outcome["state"] = "idle"
        return bool(outcome["state"])

    if poll(settled, timeout=WORK_TIMEOUT, interval=0.2):
        return outcome["state"]
    return "timeout" if runs.event_count(namespace, known) else "no run"


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
        state = _await_work(stack, namespace, known, target, name)
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


class PeakReconciles:
    """The most reconciles of some namespaces seen running at once, sampled in the background while in
    a `with` block: what proves that a burst ran reconciles concurrently."""

    def __init__(self, stack: FaultStack, namespaces: tuple[str, ...]) -> None:
        self.stack, self.namespaces, self.peak = stack, namespaces, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-reconciles", daemon=True)

    def __enter__(self) -> PeakReconciles:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            commands = self.stack.running_commands()
            now = sum(len(runs.reconciles_of(commands, namespace)) for namespace in self.namespaces)
            self.peak = max(self.peak, now)
