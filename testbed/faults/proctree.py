"""Kill a whole process tree at once, including children that left its process group.

ansible-operator starts ansible-runner, which starts ansible-playbook through pexpect in a new
session, so `killpg` on the operator's group would leave the playbook running. The tree is frozen
with SIGSTOP until no new process appears, then every member gets SIGKILL. What each frozen process was
running is read before the SIGKILL, so that a kill can prove it hit a reconcile in flight.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")


def parent_map(proc: Path = PROC) -> dict[int, int]:
    """pid -> parent pid of every process, from /proc/<pid>/stat."""
    parents: dict[int, int] = {}
    for entry in proc.iterdir() if proc.exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may itself contain ") ".
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            parents[int(entry.name)] = int(fields[1])
    return parents


def stopped(pids: Iterable[int], proc: Path = PROC) -> list[int]:
    """The processes among `pids` in state T (stopped by a signal)."""
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = (proc / str(pid) / "stat").read_text()
            if stat[stat.rfind(")") + 2 :].startswith("T"):
                found.append(pid)
    return found


def resume(pids: Iterable[int]) -> None:
    _signal(pids, signal.SIGCONT)


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


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


def _signal(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_tree(root: int, proc: Path = PROC) -> dict[int, tuple[str, ...]]:
    """SIGKILL `root` and all its descendants at once; returns the pids killed with the argv each was
    running when it was frozen."""
    frozen: set[int] = set()
    while True:
        tree = {root} | descendants(root, parent_map(proc))
        new = tree - frozen
        if not new:
            break
        _signal(new, signal.SIGSTOP)
        frozen |= new
    running = command_lines(frozen, proc)
    _signal(frozen, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(root, 0)  # the operator is our child: reap it so its PID is free again
    return {pid: running.get(pid, ()) for pid in frozen}
