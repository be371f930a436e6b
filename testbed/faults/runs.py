"""What ansible-runner is doing, read from its artifact folders: how far reconciles got, which task runs.

A kill "at a random point of a reconcile" waits for a random number of Ansible events after the
operator (re)started, so the points spread over the whole role whatever the machine's speed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path

from .stack import RUNNER_ROOT

# runner/<group>/<version>/<kind>/<namespace>/<name>/artifacts/<job>/job_events/<counter>-<uuid>.json
RUNNER_KIND = RUNNER_ROOT / "piwik.pro" / "v1" / "MySQLDatabase"
# runner/<group>/<version>/MySQLServer/<name>/artifacts/...: a cluster-scoped kind has no namespace folder.
RUNNER_SERVER_KIND = RUNNER_ROOT / "piwik.pro" / "v1" / "MySQLServer"


def jobs(namespace: str, kind_root: Path | None = None) -> set[Path]:
    """The artifact folder of every run so far for the namespace's CRs; `kind_root` is RUNNER_KIND as
    seen from outside an operator that has a /tmp/ansible-operator of its own (a replica)."""
    root = RUNNER_KIND if kind_root is None else kind_root
    return set(root.glob(f"{namespace}/*/artifacts/*")) if root.exists() else set()


def event_count(namespace: str, known: set[Path], kind_root: Path | None = None) -> int:
    """Ansible events written by the runs that are not in `known` (those started since)."""
    return sum(len(list((job / "job_events").glob("*.json"))) for job in jobs(namespace, kind_root) - known)


def _counter(path: Path) -> int:
    head = path.name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1


def tasks_in_flight(namespace: str, known: set[Path], kind_root: Path | None = None) -> list[str]:
    """The task each unfinished run (not in `known`, no rc file yet) last reported."""
    tasks = []
    for job in jobs(namespace, kind_root) - known:
        if (job / "rc").exists():
            continue
        events = sorted((job / "job_events").glob("*.json"), key=_counter)
        task = "(starting)"
        for event in reversed(events):
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(event.read_text()).get("event_data") or {}
                if data.get("task"):
                    task = str(data["task"])
                    break
        tasks.append(task)
    return sorted(tasks)


def first_event_times(namespace: str, known: set[Path], kind_root: Path | None = None) -> list[float]:
    """When each run not in `known` wrote its first Ansible event (file modification time, epoch seconds):
    when a reconcile began doing something."""
    times = []
    for job in jobs(namespace, kind_root) - known:
        events = sorted((job / "job_events").glob("*.json"), key=_counter)
        with contextlib.suppress(OSError):
            times += [events[0].stat().st_mtime] if events else []
    return sorted(times)


def runner_dir(argv: tuple[str, ...]) -> str:
    """The private data folder an ansible-runner process runs (`ansible-runner run <folder> ...`), else ''."""
    for index, part in enumerate(argv[:-2]):
        if Path(part).name == "ansible-runner" and argv[index + 1] == "run":
            return argv[index + 2]
    return ""


def reconciles_of(argvs: Iterable[tuple[str, ...]], namespace: str, name: str = "") -> list[str]:
    """The MySQLDatabase reconciles ("namespace/name") among these processes' command lines, of the
    namespace (and of the one CR `name` when given): what a kill must find to have hit work."""
    wanted = RUNNER_KIND / namespace
    found = []
    for argv in argvs:
        path = runner_dir(argv)
        folder = Path(path) if path else None
        if folder is None or folder.parent != wanted or (name and folder.name != name):
            continue
        found.append(f"{namespace}/{folder.name}")
    return sorted(found)
