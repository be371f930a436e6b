"""Processes and process trees from a fake /proc (testbed/proctree.py)."""

from __future__ import annotations

from pathlib import Path

from testbed import proctree


def stat_line(pid: int, comm: str, ppid: int, utime: int, stime: int, cutime: int, cstime: int, rss: int) -> str:
    # Fields 3..24 of proc(5): state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss ...
    tail = f"S {ppid} {pid} {pid} 0 -1 4194304 10 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0 777 1000 {rss} 0"
    return f"{pid} ({comm}) {tail}\n"


def fake_proc(root: Path, lines: list[str]) -> Path:
    for line in lines:
        pid = line.split(" ", 1)[0]
        (root / pid).mkdir()
        (root / pid / "stat").write_text(line)
    (root / "self").mkdir()  # not a pid: ignored
    (root / "999").mkdir()  # vanished process without stat: ignored
    return root


def _proc(root: Path, pid: int, ppid: int, comm: str, state: str = "S") -> None:
    """A process with a short stat line (up to field 8) and its comm file."""
    folder = root / str(pid)
    folder.mkdir(parents=True)
    # The command name may contain spaces and parentheses; the state is the 3rd field, the parent PID the 4th.
    (folder / "stat").write_text(f"{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1\n")
    (folder / "comm").write_text(comm + "\n")


def test_parse_stat_handles_spaces_and_parentheses_in_comm() -> None:
    stat = proctree.parse_stat(stat_line(42, "ansible (x) y", 7, 11, 4, 100, 50, 3000))
    assert (stat.pid, stat.comm, stat.ppid) == (42, "ansible (x) y", 7)
    assert (stat.cpu_ticks, stat.children_cpu_ticks, stat.start_ticks, stat.rss_pages) == (15, 150, 777, 3000)


def test_tree_cpu_counts_live_descendants_and_reaped_children(tmp_path: Path) -> None:
    proc = fake_proc(
        tmp_path,
        [
            stat_line(10, "ansible-operator", 1, 100, 20, 300, 30, 5000),  # reaped runners: 330 ticks
            stat_line(11, "ansible-runner", 10, 40, 10, 0, 0, 2000),
            stat_line(12, "ansible-playboo", 11, 70, 5, 25, 5, 3000),
            stat_line(13, "python3", 12, 9, 1, 0, 0, 1000),
            stat_line(20, "unrelated", 1, 999, 999, 999, 999, 99999),
        ],
    )
    processes = proctree.read_processes(proc)
    assert set(processes) == {10, 11, 12, 13, 20}
    pids = proctree.tree(processes, 10)
    assert pids == [10, 11, 12, 13]
    assert proctree.cpu_ticks(processes, pids) == 120 + 330 + 50 + 75 + 30 + 10
    assert proctree.rss_pages(processes, pids) == 11000
    assert proctree.count_named(processes, pids, "ansible-runner") == 1


def test_missing_root_is_an_empty_tree(tmp_path: Path) -> None:
    processes = proctree.read_processes(fake_proc(tmp_path, [stat_line(5, "x", 1, 1, 1, 0, 0, 1)]))
    assert proctree.tree(processes, 6) == []
    assert proctree.cpu_ticks(processes, proctree.tree(processes, 6)) == 0


def test_descendants_include_children_that_left_the_process_group(tmp_path: Path) -> None:
    _proc(tmp_path, 1, 0, "init")
    _proc(tmp_path, 10, 1, "ansible-operato")
    _proc(tmp_path, 11, 10, "ansible-runner")
    _proc(tmp_path, 12, 11, "ansible-playboo")  # pexpect: its own session
    _proc(tmp_path, 13, 12, "python3 (x) y")
    _proc(tmp_path, 20, 1, "unrelated")
    (tmp_path / "self").mkdir()
    parents = proctree.parent_map(tmp_path)
    assert parents[13] == 12
    assert proctree.descendants(10, parents) == [11, 12, 13]
    assert proctree.command_names([11, 12, 99], tmp_path) == ["ansible-runner", "ansible-playboo"]


def test_a_parent_loop_from_reused_pids_ends() -> None:
    assert proctree.descendants(10, {10: 11, 11: 10, 12: 11}) == [11, 12]


def test_stopped_finds_processes_in_state_t(tmp_path: Path) -> None:
    _proc(tmp_path, 5, 1, "etcd", state="T")
    _proc(tmp_path, 6, 1, "mariadbd (T) x")
    assert proctree.stopped([5, 6, 7], tmp_path) == [5]
    assert (proctree.state_of(6, tmp_path), proctree.state_of(7, tmp_path)) == ("S", "")


def test_command_lines_are_split_at_nul(tmp_path: Path) -> None:
    _proc(tmp_path, 11, 10, "ansible-runner")
    (tmp_path / "11" / "cmdline").write_bytes(b"python\0/venv/bin/ansible-runner\0run\0/runner/x y\0")
    assert proctree.command_lines([11, 12], tmp_path) == {
        11: ("python", "/venv/bin/ansible-runner", "run", "/runner/x y")
    }
    assert proctree.commands_below(10, tmp_path) == [("python", "/venv/bin/ansible-runner", "run", "/runner/x y")]
