"""A SIGKILL of the operator counts only when it verifiably hit a reconcile in flight
(testbed/faults/cases/common.py), from fabricated runner folders and process tables."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testbed.faults import runs
from testbed.faults.cases import common

NAMESPACE = "faults-kill"


@dataclass
class FakeStack:
    """What the kill helper asks of the stack: the processes under the operator, what a kill froze."""

    running: list[tuple[str, ...]]
    frozen: list[tuple[str, ...]]  # what every kill finds in the frozen tree
    kills: int = 0
    restarts: int = 0
    retries: list[int] = field(default_factory=list)

    def running_commands(self) -> list[tuple[str, ...]]:
        return self.running

    def kill_operator(self) -> dict[int, tuple[str, ...]]:
        self.kills += 1
        return dict(enumerate(self.frozen, start=100))

    def restart_operator(self) -> None:
        self.restarts += 1


def _runner(root: Path, *parts: str) -> tuple[str, ...]:
    return ("/venv/bin/python", "/venv/bin/ansible-runner", "run", str(root.joinpath(*parts)), "-vv")


def _job(root: Path, name: str, job: str, events: int, finished: bool) -> None:
    folder = root / NAMESPACE / name / "artifacts" / job / "job_events"
    folder.mkdir(parents=True)
    for counter in range(1, events + 1):
        (folder / f"{counter}-u.json").write_text(json.dumps({"event_data": {"task": "Ensure the database"}}))
    if finished:
        (folder.parent / "rc").write_text("0")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(runs, "RUNNER_KIND", tmp_path)
    monkeypatch.setattr(common, "WORK_TIMEOUT", 0.3)
    return tmp_path


def _kill(stack: FakeStack) -> dict[str, object]:
    def retry() -> common.Work:
        stack.retries.append(len(stack.retries) + 1)
        return set(), ""

    rng = random.Random(1)  # noqa: S311 - fault timing, not secrets
    return common.kill_during_reconcile(stack, (set(), ""), NAMESPACE, rng, 3, retry)  # type: ignore[arg-type]


def test_a_kill_that_froze_a_reconcile_of_the_namespace_counts(root: Path) -> None:
    _job(root, "kill-00", "1", events=5, finished=False)
    reconcile = _runner(root, NAMESPACE, "kill-00")
    stack = FakeStack(running=[reconcile], frozen=[reconcile, ("/usr/bin/ansible-operator",)])
    kill = _kill(stack)
    assert kill["hit"] == [f"{NAMESPACE}/kill-00"] and kill["attempts"] == 1 and kill["misses"] == []
    assert (stack.kills, stack.restarts, stack.retries) == (1, 0, [])


def test_a_kill_that_froze_only_a_server_check_is_retried_and_never_counted(root: Path) -> None:
    _job(root, "kill-00", "1", events=5, finished=False)
    server_check = ("/venv/bin/python", "/venv/bin/ansible-runner", "run", "/runner/piwik.pro/v1/MySQLServer/default")
    stack = FakeStack(running=[_runner(root, NAMESPACE, "kill-00")], frozen=[server_check])
    kill = _kill(stack)
    assert kill["hit"] == [] and kill["attempts"] == common.MAX_ATTEMPTS
    assert [miss["found"] for miss in kill["misses"]] == ["finished before the kill"] * common.MAX_ATTEMPTS  # type: ignore[attr-defined]
    assert stack.kills == stack.restarts == common.MAX_ATTEMPTS and len(stack.retries) == common.MAX_ATTEMPTS


def test_an_idle_operator_is_never_killed_and_the_miss_is_reported(root: Path) -> None:
    _job(root, "kill-00", "1", events=5, finished=True)
    stack = FakeStack(running=[], frozen=[])
    kill = _kill(stack)
    assert kill["hit"] == [] and stack.kills == 0
    assert [miss["found"] for miss in kill["misses"]] == ["idle"] * common.MAX_ATTEMPTS  # type: ignore[attr-defined]


def test_no_run_at_all_is_a_miss_after_the_deadline_not_a_kill(root: Path) -> None:
    stack = FakeStack(running=[], frozen=[])
    kill = _kill(stack)
    assert kill["hit"] == [] and stack.kills == 0
    assert [miss["found"] for miss in kill["misses"]] == ["no run"] * common.MAX_ATTEMPTS  # type: ignore[attr-defined]
