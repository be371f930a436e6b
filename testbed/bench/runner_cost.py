"""`python -m testbed.bench.runner_cost`: CPU of one reconcile's ansible-runner, A/B.

Reproduces what ansible-operator v1.42.2 starts for a reconcile, without the operator: a private data dir
with `env/settings` (runner_http_url/runner_http_path pointing at a unix socket this process serves with
204s, as the operator's event receiver does), `env/extravars`, `inventory/hosts`, then
`ansible-runner run <dir> --rotate-artifacts 3 --role R --roles-path <dir> --hosts localhost -i <ident>
[-v…] --role-skip-facts` in the environment `make run` gives the operator (localenv/operator.py). The role
is synthetic: `--tasks` trivial `set_fact` tasks and, with `--wait-s`, one task that waits that long (what
a task waiting on MySQL or the API server costs the polling main process).

Each variant (`--variant 'NAME[:KEY=VALUE …]'`; `v=N` is the -v level, `VAR=value` sets and `-VAR` removes an
environment variable) runs `--runs` times, interleaved and in rotating order, so that load on a shared
machine falls on every variant alike. CPU is the whole process tree's (os.wait4 of ansible-runner, whose
children are all waited for). Printed: per variant the median CPU, wall and peak RSS, and the median of the
paired differences to the first variant. JSON on stdout, a table on stderr.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socketserver
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.background_thread import BackgroundThread
from testbed.localenv.config import REPO_ROOT, Paths
from testbed.localenv.operator import ANSIBLE_VERBOSITY, compile_plugins, operator_env

ROLE = "runner_cost"
# What ansible-operator's event receiver serves (internal/ansible/runner/eventapi).
EVENTS_PATH = "/events/"


@dataclass(frozen=True)
class Variant:
    """One way of running the same reconcile: its -v level and changes to the operator's environment."""

    name: str
    verbosity: int = ANSIBLE_VERBOSITY
    set_env: Mapping[str, str] = field(default_factory=dict)
    unset_env: tuple[str, ...] = ()

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in base.items() if k not in self.unset_env}
        env.update(self.set_env)
        return env


def parse_variant(spec: str) -> Variant:
    """`before:v=2 -PYTHONPATH` -> Variant('before', 2, unset PYTHONPATH); `after` -> the defaults.
    Items are separated by spaces (values may hold commas)."""
    name, _, rest = spec.partition(":")
    if not name:
        raise ValueError(f"variant {spec!r} has no name")
    verbosity, set_env, unset = ANSIBLE_VERBOSITY, {}, []
    for item in rest.split():
        if item.startswith("-"):
            unset.append(item[1:])
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"variant {spec!r}: {item!r} is neither KEY=VALUE nor -VAR")
        if key == "v":
            verbosity = int(value)
        else:
            set_env[key] = value
    return Variant(name, verbosity, set_env, tuple(unset))


def role_tasks(tasks: int, wait_s: int) -> list[dict[str, Any]]:
    """The synthetic role: `tasks` trivial set_facts, then optionally one task that waits `wait_s` seconds
    in a module (not `pause`, which polls stdin at the same interval as the main process)."""
    steps: list[dict[str, Any]] = [
        {"name": f"Set fact {i}", "ansible.builtin.set_fact": {f"runner_cost_{i}": i}} for i in range(tasks)
    ]
    if wait_s > 0:
        steps.append({"name": "Wait like a slow MySQL", "ansible.builtin.wait_for": {"timeout": wait_s}})
    return steps


def write_private_dir(root: Path, socket_path: str, python: str) -> Path:
    """A private data dir as ansible-operator's inputdir.Write() lays it out."""
    env_dir = root / "env"
    (root / "inventory").mkdir(parents=True, exist_ok=True)
    env_dir.mkdir(parents=True, exist_ok=True)
    (env_dir / "envvars").write_text("{}")
    extravars = {"ansible_operator_meta": {"name": "bench", "namespace": "bench"}, "database_name": "bench"}
    (env_dir / "extravars").write_text(json.dumps(extravars))
    settings = {"runner_http_url": socket_path, "runner_http_path": EVENTS_PATH}
    (env_dir / "settings").write_text(json.dumps(settings))
    (root / "inventory" / "hosts").write_text(f"localhost ansible_connection=local ansible_python_interpreter={python}")
    return root


def runner_argv(private_dir: Path, roles_path: Path, ident: str, verbosity: int) -> list[str]:
    """roleCmdFunc of ansible-operator v1.42.2 with ANSIBLE_GATHERING=explicit."""
    argv = ["ansible-runner", "run", str(private_dir), "--rotate-artifacts", "3", "--role", ROLE]
    argv += ["--roles-path", f"{roles_path}/", "--hosts", "localhost", "-i", ident]
    if verbosity > 0:
        argv.append("-" + "v" * verbosity)
    return [*argv, "--role-skip-facts"]


class _EventHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = 204 if self.path == EVENTS_PATH else 404
        if status == 204:
            self.server.events += 1  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    events = 0

    def get_request(self) -> tuple[Any, Any]:
        conn, _ = super().get_request()
        return conn, ("local", 0)  # BaseHTTPRequestHandler wants a (host, port) client address


class EventSink(BackgroundThread):
    """Answers ansible-runner's event POSTs on a unix socket with 204, as ansible-operator does."""

    def __init__(self, socket_path: str) -> None:
        super().__init__("event-sink")
        self.socket_path = socket_path
        self._server = _UnixHTTPServer(socket_path, _EventHandler)

    @property
    def events(self) -> int:
        return self._server.events

    def loop(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()

    def __exit__(self, *_: object) -> None:
        super().__exit__()
        self._server.server_close()
        Path(self.socket_path).unlink(missing_ok=True)


@dataclass(frozen=True)
class Sample:
    cpu_s: float
    wall_s: float
    maxrss_mb: float
    returncode: int
    events: int


def run_once(argv: Sequence[str], env: Mapping[str, str], sink: EventSink, cwd: Path) -> Sample:
    """One ansible-runner; CPU of it and every descendant it waited for."""
    before = sink.events
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=wall,
        maxrss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        events=sink.events - before,
    )


def rotation(names: Sequence[str], round_no: int) -> list[str]:
    """The order of one round: the variants rotated by the round number (paired and interleaved)."""
    shift = round_no % len(names)
    return [*names[shift:], *names[:shift]]


def paired_median(runs: Sequence[Sample], base: Sequence[Sample], attr: str) -> float:
    """Median over rounds of (this variant - base) in the same round."""
    differences: list[float] = [getattr(s, attr) - getattr(b, attr) for s, b in zip(runs, base, strict=True)]
    return statistics.median(differences)


def summarize(samples: Mapping[str, Sequence[Sample]]) -> dict[str, dict[str, float]]:
    """Medians per variant and the median paired differences (same round) to the first and the previous one."""
    names = list(samples)
    base = samples[names[0]]
    out = {}
    for i, name in enumerate(names):
        runs, prev = samples[name], samples[names[max(i - 1, 0)]]
        out[name] = {
            "runs": len(runs),
            "cpu_s_median": round(statistics.median(s.cpu_s for s in runs), 4),
            "wall_s_median": round(statistics.median(s.wall_s for s in runs), 4),
            "maxrss_mb_median": round(statistics.median(s.maxrss_mb for s in runs), 1),
            "events_median": statistics.median(s.events for s in runs),
            "cpu_s_paired_diff_median": round(paired_median(runs, base, "cpu_s"), 4),
            "cpu_s_paired_diff_prev_median": round(paired_median(runs, prev, "cpu_s"), 4),
            "wall_s_paired_diff_median": round(paired_median(runs, base, "wall_s"), 4),
            "failed_runs": sum(1 for s in runs if s.returncode != 0),
        }
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runner_cost", description=__doc__)
    parser.add_argument("--runs", type=int, default=12, help="runs per variant (paired, interleaved)")
    parser.add_argument("--tasks", type=int, default=7, help="trivial set_fact tasks in the role")
    parser.add_argument("--wait-s", type=int, default=0, help="one more task that waits this long")
    parser.add_argument(
        "--variant", action="append", default=[], help="'NAME[:v=N VAR=value -VAR]'; the first is the base"
    )
    return parser


def measure(variants: Sequence[Variant], runs: int, tasks: int, wait_s: int) -> dict[str, list[Sample]]:
    paths = Paths(root=REPO_ROOT, state=REPO_ROOT / ".cache" / "runner-cost")
    compile_plugins(paths)  # as OperatorProcess.start: bytecode for plugins/ and ansible_site/
    base_env = operator_env(paths, kubeconfig=os.devnull)
    python = str(paths.venv / "bin" / "python3")
    samples: dict[str, list[Sample]] = {v.name: [] for v in variants}
    by_name = {v.name: v for v in variants}
    with tempfile.TemporaryDirectory(prefix="runner-cost-") as tmp:
        root = Path(tmp)
        role = root / "roles" / ROLE / "tasks"
        role.mkdir(parents=True)
        (role / "main.yml").write_text(json.dumps(role_tasks(tasks, wait_s)))
        socket_path = str(root / "events.sock")
        dirs = {v.name: write_private_dir(root / "runs" / v.name, socket_path, python) for v in variants}
        with EventSink(socket_path) as sink:
            for round_no in range(runs):
                for name in rotation(list(by_name), round_no):
                    variant = by_name[name]
                    argv = runner_argv(dirs[name], root / "roles", f"{name}-{round_no}", variant.verbosity)
                    samples[name].append(run_once(argv, variant.env(base_env), sink, cwd=REPO_ROOT))
    return samples


def _table(summary: Mapping[str, Mapping[str, float]]) -> str:
    lines = [
        f"{'variant':<16}{'CPU-s':>8}{'Δ first':>9}{'Δ prev':>8}{'wall-s':>8}{'Δ wall':>8}{'RSS MB':>8}{'events':>7}"
    ]
    for name, s in summary.items():
        lines.append(
            f"{name:<16}{s['cpu_s_median']:>8.3f}{s['cpu_s_paired_diff_median']:>+9.3f}"
            f"{s['cpu_s_paired_diff_prev_median']:>+8.3f}{s['wall_s_median']:>8.3f}"
            f"{s['wall_s_paired_diff_median']:>+8.3f}{s['maxrss_mb_median']:>8.1f}{s['events_median']:>7}"
            + (f"  ({s['failed_runs']} failed)" if s["failed_runs"] else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    variants = [parse_variant(v) for v in args.variant] or [Variant("now")]
    if len({v.name for v in variants}) != len(variants):
        print("error: variant names must be unique", file=sys.stderr)
        return 2
    samples = measure(variants, args.runs, args.tasks, args.wait_s)
    summary = summarize(samples)
    doc = {"tasks": args.tasks, "wait_s": args.wait_s, "load_avg": os.getloadavg()[0], "variants": summary}
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    print(_table(summary), file=sys.stderr)
    return 1 if any(s["failed_runs"] for s in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
