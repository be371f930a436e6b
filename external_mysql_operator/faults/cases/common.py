"""Helpers several cases share: passwords before and after a fault."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from .. import runs
from ..crs import CrRef, poll
from ..health import CrHealth, sql_rows
from ..stack import FaultStack


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


def kill_at_random_event(
    stack: FaultStack, namespace: str, rng: random.Random, most: int, known: set[Path]
) -> dict[str, Any]:
    """SIGKILL the operator tree after a random number (1..most) of Ansible events of the runs not in `known`.

    Waiting for events rather than seconds spreads the kills over the role's tasks whatever the
    machine's speed; when every run has finished first, the kill hits an idle operator.
    """
    target = rng.randint(1, most)

    def reached() -> bool:
        count = runs.event_count(namespace, known)
        return count >= target or (count > 0 and stack.reconciles_running() == 0)

    poll(reached, timeout=300, interval=0.2)
    tasks = runs.tasks_in_flight(namespace, known)
    in_flight = stack.reconciles_running()
    killed = stack.kill_operator()
    return {"after_events": target, "reconciles_in_flight": in_flight, "tasks": tasks, "processes_killed": killed}
