"""Process-tree CPU and RSS from a fake /proc."""

from __future__ import annotations

from pathlib import Path

from testbed.bench import proctree


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
    assert proctree.descendants(processes, 10) == [10, 11, 12, 13]
    assert proctree.tree_cpu_ticks(processes, 10) == 120 + 330 + 50 + 75 + 30 + 10
    assert proctree.tree_rss_pages(processes, 10) == 11000
    assert proctree.count_named(processes, proctree.descendants(processes, 10), "ansible-runner") == 1


def test_missing_root_is_an_empty_tree(tmp_path: Path) -> None:
    processes = proctree.read_processes(fake_proc(tmp_path, [stat_line(5, "x", 1, 1, 1, 0, 0, 1)]))
    assert proctree.descendants(processes, 6) == []
    assert proctree.tree_cpu_ticks(processes, 6) == 0
