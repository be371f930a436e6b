"""The verdict of a deletion under a server fault (testbed/faults/cases/deletion_outage.py),
from fabricated observations."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.faults.cases.deletion_outage import (
    STOPPED,
    UNMANAGED,
    WRONG_PASSWORD,
    Bystanders,
    DeletionUnderFault,
    judge_deletion,
)
from testbed.faults.crs import CrRef
from testbed.faults.health import ServerObjects

VICTIM = "faults-delete-outage/victim-0-0"


def _survived(fault: str = WRONG_PASSWORD, reason: str = "AdminAuthFailed") -> DeletionUnderFault:
    return DeletionUnderFault(
        fault=fault,
        injected=True,
        reasons={VICTIM: reason},
        finalizer_held={VICTIM: True},
        dropped_during={},
        recovered=True,
        left_after={VICTIM: []},
    )


def test_a_held_finalizer_with_the_reason_and_a_clean_recovery_is_survived() -> None:
    assert judge_deletion(_survived()) == []
    assert judge_deletion(_survived(STOPPED, "ServerUnreachable")) == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(STOPPED, "AdminAuthFailed"), (WRONG_PASSWORD, "ServerUnreachable"), (WRONG_PASSWORD, ""), (STOPPED, "Ready")],
)
def test_a_reason_other_than_what_the_fault_causes_fails(fault: str, reason: str) -> None:
    problems = judge_deletion(_survived(fault, reason))
    assert problems and VICTIM in problems[0] and (reason or "nothing") in problems[0]


def test_a_finalizer_that_let_go_during_the_fault_fails() -> None:
    problems = judge_deletion(replace(_survived(), finalizer_held={VICTIM: False}))
    assert problems == [f"{VICTIM}: the finalizer let go under {WRONG_PASSWORD}"]


def test_anything_dropped_while_the_fault_lasted_fails_even_when_the_cleanup_ends_well() -> None:
    obs = replace(_survived(), dropped_during={VICTIM: ["its user"], "bystanders": []})
    assert judge_deletion(obs) == [f"{VICTIM}: its user dropped under {WRONG_PASSWORD}"]


def test_a_cleanup_that_never_completed_after_recovery_fails() -> None:
    obs = replace(_survived(), left_after={VICTIM: ["the CR (finalizer never finished)", "its database"]})
    assert "still there: the CR (finalizer never finished), its database" in judge_deletion(obs)[0]


def test_a_bystander_touched_fails() -> None:
    obs = replace(_survived(), bystanders_after=[f"unmanaged database {UNMANAGED!r}"])
    assert judge_deletion(obs) == [f"after {WRONG_PASSWORD}: unmanaged database {UNMANAGED!r}"]


def test_a_fault_that_did_not_verifiably_happen_or_was_not_undone_fails() -> None:
    assert judge_deletion(replace(_survived(), injected=False)) == [
        f"{WRONG_PASSWORD}: the fault did not verifiably happen"
    ]
    assert judge_deletion(replace(_survived(), recovered=False)) == [
        f"{WRONG_PASSWORD}: the server could not be brought back"
    ]


def test_no_victims_observed_is_no_survival() -> None:
    obs = replace(_survived(), reasons={}, finalizer_held={}, left_after={})
    assert judge_deletion(obs) == [f"{WRONG_PASSWORD}: the victims were not all observed"]


def test_bystander_objects_missing_are_named() -> None:
    neighbour = CrRef("faults-delete-outage", "neighbour")
    bystanders = Bystanders(neighbour, {}, {}, "")
    everything = ServerObjects(frozenset({"neighbour", UNMANAGED}), frozenset({("neighbour", "%"), (UNMANAGED, "%")}))
    assert bystanders.objects_missing(everything) == []
    partial = ServerObjects(frozenset({"neighbour"}), frozenset({(UNMANAGED, "%")}))
    assert bystanders.objects_missing(partial) == [
        f"user 'neighbour' of {neighbour}",
        f"unmanaged database {UNMANAGED!r}",
    ]
