"""The verdict of a leader failover (testbed/faults/cases/failover.py), from fabricated
observations: the Lease, the Secrets' password history, the server's password_last_changed."""

from __future__ import annotations

from dataclasses import replace

from testbed.faults.cases.failover import (
    FailoverObservation,
    Lease,
    judge_failover,
    replica_of,
    seconds_after,
    set_after_publication,
)

A, B = "faults-replica-a", "faults-replica-b"


def _survived(crs: int = 3) -> FailoverObservation:
    return FailoverObservation(
        crs=crs,
        healthy=crs,
        leader_before=A,
        standby_ready=True,
        killed=A,
        leader_after=B,
        takeover_s=16.2,
        secret_passwords={f"failover-{i:02d}": 1 for i in range(crs)},
        secret_watch_gaps=0,
        set_after_secret=[],
        invariants=[],
        left_after_deletion={f"faults-failover/failover-{i:02d}": [] for i in range(crs)},
    )


def test_the_lease_names_the_replica_by_its_host_name() -> None:
    assert replica_of(Lease(f"{B}_0f3c-uuid", 1.0), [A, B]) == B
    assert replica_of(Lease("faults-replica-ab_uuid", 1.0), [A, B]) == ""  # a prefix is not a match
    assert replica_of(Lease("someone-else_uuid", 1.0), [A, B]) == ""
    assert replica_of(None, [A, B]) == ""


def test_takeover_is_measured_from_the_kill_and_unknown_without_an_acquire_time() -> None:
    assert seconds_after(100.0, 116.24) == 16.2
    assert seconds_after(100.0, None) is None


def test_a_takeover_with_every_cr_healthy_and_one_password_each_is_survived() -> None:
    assert judge_failover(_survived()) == []


def test_no_takeover_fails() -> None:
    assert "no other replica took the Lease over" in judge_failover(replace(_survived(), leader_after=""))[0]
    assert "no other replica" in judge_failover(replace(_survived(), leader_after=A))[0]  # the killed one again


def test_killing_a_replica_that_was_not_leading_proves_nothing() -> None:
    problems = judge_failover(replace(_survived(), killed=B, leader_after=A))
    assert problems == [f"the replica killed ({B}) was not the leader ({A})"]


def test_a_standby_that_was_not_ready_fails() -> None:
    assert judge_failover(replace(_survived(), standby_ready=False)) == [
        "the standby replica was not running and ready when the leader was killed"
    ]


def test_a_lost_cr_fails() -> None:
    assert judge_failover(replace(_survived(), healthy=2)) == ["1 of 3 CRs not healthy after the failover"]
    missing_secret = replace(_survived(), secret_passwords={"failover-00": 1, "failover-01": 1})
    assert judge_failover(missing_secret) == ["1 CRs never got a Secret"]


def test_a_secret_that_held_two_passwords_fails() -> None:
    obs = replace(_survived(), secret_passwords={"failover-00": 2, "failover-01": 1, "failover-02": 1})
    assert judge_failover(obs) == ["failover-00: its Secret held 2 passwords"]


def test_a_password_set_on_the_server_after_the_secret_was_written_fails() -> None:
    obs = replace(_survived(), set_after_secret=["failover-01"])
    assert judge_failover(obs) == ["failover-01: password set on the server after its Secret was written"]


def test_a_secret_watch_that_had_to_start_over_cannot_prove_one_password() -> None:
    assert "may be unseen" in judge_failover(replace(_survived(), secret_watch_gaps=1))[0]


def test_broken_invariants_and_deletion_leftovers_fail() -> None:
    obs = replace(
        _survived(),
        invariants=["'failover-00' has 1 ownership records, not 2"],
        left_after_deletion={"faults-failover/failover-00": ["its user"]},
    )
    assert judge_failover(obs) == [
        "'failover-00' has 1 ownership records, not 2",
        "faults-failover/failover-00: deleted under the new leader, still there: its user",
    ]


def test_password_set_before_or_in_the_second_the_secret_was_written_is_once() -> None:
    published = {"u1": 1000.9, "u2": 1000.2}
    assert set_after_publication({"u1": 1000, "u2": 999}, published) == []


def test_password_set_after_the_secret_was_written_or_unknown_is_flagged() -> None:
    published = {"u1": 1000.9, "u2": 1000.2}
    changed: dict[str, int | None] = {"u1": 1001, "u2": None, "u3": 900}
    assert set_after_publication(changed, published) == ["u1", "u2", "u3"]
