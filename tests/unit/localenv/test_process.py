"""Processes are tracked by PID and stopped by PID, with their whole process group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from testbed.localenv import process
from testbed.localenv.config import Paths


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(root=tmp_path, state=tmp_path / "state")


def test_started_process_is_tracked_and_stopped_by_pid(paths: Paths) -> None:
    pid = process.start(paths, "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    assert process.pid_of(paths, "sleeper") == pid
    assert process.stop(paths, "sleeper") is True
    assert process.pid_of(paths, "sleeper") is None
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_stop_kills_children_of_the_process_group(paths: Paths) -> None:
    script = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print(flush=True); time.sleep(60)"
    )
    process.start(paths, "parent", [sys.executable, "-c", script])
    process.wait_for(paths, "parent", lambda: (paths.logs / "parent.log").read_text() != "", timeout=10)
    pgid = process.pid_of(paths, "parent")
    process.stop(paths, "parent")
    survivors = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(p) == pgid]
    assert survivors == []


def _pgid(proc: Path) -> int | None:
    try:
        stat = (proc / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[2])


def test_stopping_what_never_ran_is_a_no_op(paths: Paths) -> None:
    assert process.stop(paths, "ghost") is False


def test_wait_for_reports_the_log_of_a_process_that_died(paths: Paths) -> None:
    process.start(paths, "crasher", [sys.executable, "-c", "import sys; print('boom: port taken'); sys.exit(3)"])
    with pytest.raises(process.ProcessError, match="boom: port taken"):
        process.wait_for(paths, "crasher", lambda: False, timeout=10)


def test_free_port_is_bindable() -> None:
    port = process.free_port()
    assert 0 < port < 65536
    assert process.port_open(port) is False
