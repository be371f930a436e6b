"""Reading ansible-runner's artifact folders (testbed/faults/runs.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testbed.faults import runs


def _job(root: Path, name: str, job: str, tasks: list[str | None], finished: bool = False) -> Path:
    folder = root / "faults-kill" / name / "artifacts" / job
    (folder / "job_events").mkdir(parents=True)
    for counter, task in enumerate(tasks, start=1):
        data = {"event": "runner_on_ok", "event_data": {"task": task} if task else {}}
        (folder / "job_events" / f"{counter}-uuid{counter}.json").write_text(json.dumps(data))
    if finished:
        (folder / "rc").write_text("0")
    return folder


def test_events_and_tasks_of_runs_started_since(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "RUNNER_KIND", tmp_path)
    _job(tmp_path, "kill-00", "1", ["Read the spec", "Validate"], finished=True)
    known = runs.jobs("faults-kill")
    _job(tmp_path, "kill-00", "2", ["Read the spec", "Ensure the database", None])
    _job(tmp_path, "kill-01", "3", [None])
    _job(tmp_path, "kill-02", "4", ["Report Ready"], finished=True)
    assert runs.event_count("faults-kill", known) == 5
    assert runs.tasks_in_flight("faults-kill", known) == ["(starting)", "Ensure the database"]
    assert runs.event_count("other-namespace", set()) == 0


RUNNER = "/tmp/ansible-operator/runner/piwik.pro/v1"  # noqa: S108 - ansible-operator's own folder


def _runner(folder: str) -> tuple[str, ...]:
    """An ansible-runner command line as ansible-operator starts it."""
    return ("/venv/bin/python", "/venv/bin/ansible-runner", "run", folder, "--rotate-artifacts", "3", "-vv")


def test_reconciles_are_read_from_ansible_runner_command_lines() -> None:
    commands = [
        _runner(f"{RUNNER}/MySQLDatabase/faults-kill/kill-00"),
        _runner(f"{RUNNER}/MySQLDatabase/faults-kill/kill-01"),
        _runner(f"{RUNNER}/MySQLDatabase/faults-other/kill-02"),
        _runner(f"{RUNNER}/MySQLServer/default"),  # a server's check is no reconcile of the namespace
        ("/venv/bin/python", "/venv/bin/ansible-playbook", "-i", f"{RUNNER}/MySQLDatabase/faults-kill/kill-03/inv"),
        (),
    ]
    assert runs.reconciles_of(commands, "faults-kill") == ["faults-kill/kill-00", "faults-kill/kill-01"]
    assert runs.reconciles_of(commands, "faults-kill", "kill-01") == ["faults-kill/kill-01"]
    assert runs.reconciles_of(commands, "faults-delete") == []
    assert runs.runner_dir(commands[3]) == f"{RUNNER}/MySQLServer/default"
    assert runs.runner_dir(commands[4]) == ""


def test_a_replicas_own_runner_folder_is_read_through_kind_root(tmp_path: Path) -> None:
    """A replica has a /tmp/ansible-operator of its own: its runs are read where the suite sees that folder."""
    _job(tmp_path, "kill-00", "1", ["Read the spec", "Ensure the database"])
    assert runs.jobs("faults-kill", tmp_path) == {tmp_path / "faults-kill" / "kill-00" / "artifacts" / "1"}
    assert runs.event_count("faults-kill", set(), tmp_path) == 2
    assert runs.tasks_in_flight("faults-kill", set(), tmp_path) == ["Ensure the database"]


def test_a_run_begins_when_it_wrote_its_first_event(tmp_path: Path) -> None:
    early = _job(tmp_path, "kill-00", "1", ["Read the spec", "Validate"])
    late = _job(tmp_path, "kill-01", "2", ["Read the spec"])
    for folder, when in ((early, 1000.0), (late, 2000.0)):
        for event in (folder / "job_events").iterdir():
            counter = int(event.name.split("-", 1)[0])  # <counter>-<uuid>.json
            os.utime(event, (when + counter, when + counter))
    assert runs.first_event_times("faults-kill", set(), tmp_path) == [1001.0, 2001.0]
    assert runs.first_event_times("faults-kill", {early}, tmp_path) == [2001.0]
