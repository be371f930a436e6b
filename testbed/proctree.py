"""Processes and process trees, read from /proc: what the benchmark measures (CPU time, resident memory) and
what the fault suite finds, resumes and kills under the operator.

A child's CPU time moves into its parent's `cutime`/`cstime` when the parent reaps it, so the CPU of a
tree is: the root's own and reaped-children time, plus the own and reaped-children time of every
descendant still alive. Processes that exit between two reads are counted once their parent reaps
them, so a reading taken while nothing is running is exact.

ansible-operator starts ansible-runner, which starts ansible-playbook through pexpect in a new session,
so `killpg` on the operator's group would leave the playbook running: a tree is found by parent PID,
not by process group. `kill_tree` freezes the tree with SIGSTOP until no new process appears, then every
member gets SIGKILL. What each frozen process was running is read before the SIGKILL, so that a kill
can prove it hit a reconcile in flight.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
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


def _split(text: str) -> tuple[str, list[str]]:
    """`<pid> (<comm>` and the fields after the command name (field 3 of proc(5), the state, first). The
    name may hold spaces and ") ", so it ends at the last parenthesis."""
    head, _, rest = text.rpartition(")")
    return head, rest.split()


def parse_stat(text: str) -> ProcStat:
    """Parse one /proc/<pid>/stat line."""
    head, fields = _split(text)
    pid_text, _, comm = head.partition(" (")
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


def _stat_lines(proc: Path) -> Iterator[tuple[int, str]]:
    """pid and stat line of every process under `proc`; one that exits while being read is skipped."""
    for entry in proc.iterdir() if proc.exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), text


def read_processes(proc: Path = PROC) -> dict[int, ProcStat]:
    """Every process readable under `proc`."""
    processes: dict[int, ProcStat] = {}
    for pid, text in _stat_lines(proc):
        with contextlib.suppress(ValueError, IndexError):
            processes[pid] = parse_stat(text)
    return processes


def parent_map(proc: Path = PROC) -> dict[int, int]:
    """pid -> parent pid of every process."""
    parents: dict[int, int] = {}
    for pid, text in _stat_lines(proc):
        fields = _split(text)[1]
        if len(fields) > 1:
            parents[pid] = int(fields[1])
    return parents


def state_of(pid: int, proc: Path = PROC) -> str:
    """The state letter of the process (R, S, T for stopped by a signal, Z for a zombie, ...); '' when it
    is gone."""
    try:
        fields = _split((proc / str(pid) / "stat").read_text())[1]
    except OSError:
        return ""
    return fields[0] if fields else ""


def descendants(root: int, parents: Mapping[int, int]) -> list[int]:
    """Every process below `root` (not `root` itself), parents before children."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    seen, queue = {root}, deque([root])
    while queue:
        for child in sorted(children.get(queue.popleft(), [])):
            if child not in seen:  # a PID reused while /proc was read must not loop
                seen.add(child)
                found.append(child)
                queue.append(child)
    return found


def tree(processes: Mapping[int, ProcStat], root: int) -> list[int]:
    """`root` and every process below it, parents before children; empty when `root` is gone."""
    if root not in processes:
        return []
    return [root, *descendants(root, {stat.pid: stat.ppid for stat in processes.values()})]


def cpu_ticks(processes: Mapping[int, ProcStat], pids: Iterable[int]) -> int:
    """CPU of `pids` and of the children they reaped."""
    return sum(processes[p].cpu_ticks + processes[p].children_cpu_ticks for p in pids)


def rss_pages(processes: Mapping[int, ProcStat], pids: Iterable[int]) -> int:
    """Sum of the resident pages of `pids` (shared pages count once per process, as `ps` shows them)."""
    return sum(processes[p].rss_pages for p in pids)


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


def stopped(pids: Iterable[int], proc: Path = PROC) -> list[int]:
    """The processes among `pids` in state T (stopped by a signal)."""
    return [pid for pid in pids if state_of(pid, proc) == "T"]


def resume(pids: Iterable[int]) -> None:
    _signal(pids, signal.SIGCONT)


def command_names(pids: Iterable[int], proc: Path = PROC) -> list[str]:
    names = []
    for pid in pids:
        with contextlib.suppress(OSError):
            names.append((proc / str(pid) / "comm").read_text().strip())
    return names


def command_lines(pids: Iterable[int], proc: Path = PROC) -> dict[int, tuple[str, ...]]:
    """pid -> argv of each process still there (from /proc/<pid>/cmdline)."""
    lines = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            raw = (proc / str(pid) / "cmdline").read_bytes()
            lines[pid] = tuple(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return lines


def commands_below(root: int, proc: Path = PROC) -> list[tuple[str, ...]]:
    """The argv of every process below `root` now."""
    return list(command_lines(descendants(root, parent_map(proc)), proc).values())


def _signal(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_tree(root: int, proc: Path = PROC) -> dict[int, tuple[str, ...]]:
    """SIGKILL `root` and all its descendants at once; returns the pids killed with the argv each was
    running when it was frozen."""
    frozen: set[int] = set()
    while True:
        new = {root, *descendants(root, parent_map(proc))} - frozen
        if not new:
            break
        _signal(new, signal.SIGSTOP)
        frozen |= new
    running = command_lines(frozen, proc)
    _signal(frozen, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(root, 0)  # the operator is our child: reap it so its PID is free again
    return {pid: running.get(pid, ()) for pid in frozen}
