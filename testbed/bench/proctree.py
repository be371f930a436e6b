"""CPU time and resident memory of a process and all its descendants, read from /proc.

A child's CPU time moves into its parent's `cutime`/`cstime` when the parent reaps it, so the CPU of a
tree is: the root's own and reaped-children time, plus the own and reaped-children time of every
descendant still alive. Processes that exit between two reads are counted once their parent reaps
them, so a reading taken while nothing is running is exact.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat that the benchmark uses (times in clock ticks, RSS in pages)."""

    pid: int
    comm: str
    ppid: int
    cpu_ticks: int
    children_cpu_ticks: int
    start_ticks: int
    rss_pages: int


def parse_stat(text: str) -> ProcStat:
    """Parse one /proc/<pid>/stat line; `comm` may hold spaces and parentheses."""
    head, _, rest = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = rest.split()
    # fields[0] is field 3 of proc(5): state. utime=14 stime=15 cutime=16 cstime=17 starttime=22 rss=24.
    return ProcStat(
        pid=int(pid_text),
        comm=comm,
        ppid=int(fields[1]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        children_cpu_ticks=int(fields[13]) + int(fields[14]),
        start_ticks=int(fields[19]),
        rss_pages=int(fields[21]),
    )


def read_processes(proc: Path = PROC) -> dict[int, ProcStat]:
    """Every process readable under `proc`; processes that vanish while being read are skipped."""
    processes: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            processes[int(entry.name)] = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
    return processes


def descendants(processes: Mapping[int, ProcStat], root: int) -> list[int]:
    """`root` and every process below it, parents before children."""
    children: dict[int, list[int]] = {}
    for stat in processes.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    if root not in processes:
        return []
    order, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        order.append(pid)
        queue.extend(sorted(children.get(pid, [])))
    return order


def tree_cpu_ticks(processes: Mapping[int, ProcStat], root: int) -> int:
    return sum(processes[p].cpu_ticks + processes[p].children_cpu_ticks for p in descendants(processes, root))


def tree_rss_pages(processes: Mapping[int, ProcStat], root: int) -> int:
    """Sum of the resident pages of the tree (shared pages count once per process, as `ps` shows them)."""
    return sum(processes[p].rss_pages for p in descendants(processes, root))


def count_named(processes: Mapping[int, ProcStat], pids: Iterable[int], comm: str) -> int:
    return sum(1 for p in pids if processes[p].comm == comm)


@dataclass(frozen=True)
class Units:
    """Clock ticks per second and bytes per page of this machine."""

    ticks_per_s: int
    page_bytes: int

    @classmethod
    def of_machine(cls) -> Units:
        return cls(ticks_per_s=os.sysconf("SC_CLK_TCK"), page_bytes=os.sysconf("SC_PAGE_SIZE"))
