"""Process tree discovery from a /proc-like folder (testbed/faults/proctree.py)."""

from __future__ import annotations

from pathlib import Path

from testbed.faults.proctree import command_lines, command_names, descendants, parent_map, stopped


def _proc(root: Path, pid: int, ppid: int, comm: str, state: str = "S") -> None:
    folder = root / str(pid)
    folder.mkdir(parents=True)
    # The command name may contain spaces and parentheses; the state is the 3rd field, the parent PID the 4th.
    (folder / "stat").write_text(f"{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1\n")
    (folder / "comm").write_text(comm + "\n")


def test_descendants_include_children_that_left_the_process_group(tmp_path: Path) -> None:
    _proc(tmp_path, 1, 0, "init")
    _proc(tmp_path, 10, 1, "ansible-operato")
    _proc(tmp_path, 11, 10, "ansible-runner")
    _proc(tmp_path, 12, 11, "ansible-playboo")  # pexpect: its own session
    _proc(tmp_path, 13, 12, "python3 (x) y")
    _proc(tmp_path, 20, 1, "unrelated")
    (tmp_path / "self").mkdir()
    parents = parent_map(tmp_path)
    assert parents[13] == 12
    assert descendants(10, parents) == {11, 12, 13}
    assert command_names([11, 12, 99], tmp_path) == ["ansible-runner", "ansible-playboo"]


def test_stopped_finds_processes_in_state_t(tmp_path: Path) -> None:
    _proc(tmp_path, 5, 1, "etcd", state="T")
    _proc(tmp_path, 6, 1, "mariadbd (T) x")
    assert stopped([5, 6, 7], tmp_path) == [5]


def test_command_lines_are_split_at_nul(tmp_path: Path) -> None:
    _proc(tmp_path, 11, 10, "ansible-runner")
    (tmp_path / "11" / "cmdline").write_bytes(b"python\0/venv/bin/ansible-runner\0run\0/runner/x y\0")
    assert command_lines([11, 12], tmp_path) == {11: ("python", "/venv/bin/ansible-runner", "run", "/runner/x y")}
