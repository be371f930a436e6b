"""`python -m testbed.bench`: the operator's benchmark on the embedded local environment.

Brings up its own local environment (state folder `BENCH_STATE_DIR`, default `.cache/bench-localenv`,
wiped first), runs the real ansible-operator on the repository's watches.yaml (default reconcile
period), runs the scenarios, writes the JSON document to `BENCH_OUT` (stdout when unset), a PNG next to
it (or in bench-out/), a one-line summary on stderr, and stops everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import config as kube_config

from testbed.localenv import cluster, env, process
from testbed.localenv.config import REPO_ROOT, Paths
from testbed.localenv.operator import OperatorProcess, PortsTaken, check_fixed_ports

from . import kube, report, scenarios
from .monitor import TreeMonitor
from .stats import go_duration_seconds

log = logging.getLogger("bench")

KIND = "MySQLDatabase"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    add = parser.add_argument
    add("--burst-n", type=int, default=int(os.environ.get("BENCH_N", "100")), help="CRs created at once (BENCH_N)")
    add("--single-n", type=int, default=20, help="CRs created one after another")
    add("--noop-rounds", type=int, default=2, help="annotation changes per single-create CR (no-op reconciles)")
    add(
        "--change-n",
        type=int,
        default=int(os.environ.get("BENCH_CHANGE_N", "50")),
        help="CRs a change of the MySQLServer must reach (BENCH_CHANGE_N)",
    )
    add(
        "--restart-n",
        type=int,
        default=int(os.environ.get("BENCH_RESTART_N", "300")),
        help="MySQLDatabases present when the operator restarts (restart storm; 0 skips it) (BENCH_RESTART_N)",
    )
    add("--idle-window", type=float, default=float(os.environ.get("BENCH_IDLE_WINDOW_S", "60")), help="seconds")
    add("--out", default=os.environ.get("BENCH_OUT", ""), help="JSON file (BENCH_OUT); stdout when empty")
    add("--plot", default=os.environ.get("BENCH_PLOT", ""), help="PNG file; default next to --out or bench-out/")
    add("--watches", default=str(REPO_ROOT / "watches.yaml"), help="watches file to run the operator on")
    add(
        "--operator-args",
        default=os.environ.get("BENCH_OPERATOR_ARGS", ""),
        help="extra ansible-operator flags, e.g. --max-concurrent-reconciles=4 (BENCH_OPERATOR_ARGS)",
    )
    add(
        "--ready-timeout",
        type=float,
        default=float(os.environ.get("BENCH_READY_TIMEOUT_S", "900")),
        help="seconds one CR may take to become Ready (the burst gets at least this much per 100 CRs)",
    )
    add("--keep-env", action="store_true", help="leave the local environment running afterwards")
    return parser


def reconcile_period_s(watches_file: Path) -> float:
    for watch in yaml.safe_load(watches_file.read_text()):
        if watch.get("kind") == KIND:
            return go_duration_seconds(str(watch.get("reconcilePeriod", "10h")))
    raise ValueError(f"{watches_file} has no watch for {KIND}")


def _git_rev() -> str:
    """The commit measured, `+dirty` when the work tree has changes (the figures belong to those too)."""
    git_bin = shutil.which("git")
    if git_bin is None:
        return "unknown"

    def git(*args: str) -> str:
        return subprocess.run([git_bin, *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False).stdout

    rev = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    return rev + ("+dirty" if git("status", "--porcelain", "--untracked-files=no").strip() else "")


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _plot_path(out: str, plot: str) -> Path:
    if plot:
        return Path(plot)
    if out:
        return Path(out).with_suffix(".png")
    return REPO_ROOT / "bench-out" / "bench.png"


def _run_scenarios(ctx: scenarios.Context, args: argparse.Namespace, loads: dict[str, float]) -> dict[str, Any]:
    # First, on an otherwise empty server, so that the change reaches exactly these CRs; it cleans up after itself.
    log.info("server change: a new publishHost on MySQLServer default reaching %d CRs", args.change_n)
    loads["change"] = _load()
    change = scenarios.server_change(
        ctx, "bench-change", args.change_n, args.ready_timeout * max(1.0, args.change_n / 100)
    )
    log.info("single create: %d CRs one after another", args.single_n)
    loads["single"] = _load()
    single = scenarios.single_create(ctx, "bench-single", args.single_n)
    log.info("no-op reconciles: %d rounds over %d CRs", args.noop_rounds, args.single_n)
    loads["noop"] = _load()
    noop = scenarios.noop_reconciles(ctx, "bench-single", single.names, args.noop_rounds)
    log.info("burst: %d CRs at once", args.burst_n)
    loads["burst"] = _load()
    burst = scenarios.burst(ctx, "bench-burst", args.burst_n)
    log.info("idle window: %.0fs with %d CRs present", args.idle_window, args.burst_n + args.single_n)
    loads["idle"] = _load()
    idle = scenarios.idle_window(ctx, args.idle_window)
    return {"single": single, "noop": noop, "burst": burst, "idle": idle, "change": change}


def run(args: argparse.Namespace) -> dict[str, Any]:
    paths = Paths(root=REPO_ROOT, state=Path(os.environ.get("BENCH_STATE_DIR", REPO_ROOT / ".cache/bench-localenv")))
    watches = Path(args.watches).resolve()
    period = reconcile_period_s(watches)
    loads = {"start": _load()}
    env.down(paths, purge=True)
    operator = OperatorProcess(paths, watches)
    metrics_port = process.free_port()
    extra_args = [f"--metrics-bind-address=127.0.0.1:{metrics_port}", *shlex.split(args.operator_args)]
    restart = None
    try:
        log.info("starting the local environment in %s", paths.state)
        state, _ = env.up(paths)
        cluster.install_crds(paths, state=state)
        with kube_config.new_client_from_config(str(paths.kubeconfig)) as api, contextlib.ExitStack() as monitors:
            operator.start(args=extra_args)
            # Every CR waits for its server's first check; the figures must not include it.
            kube.wait_server_ready(api, scenarios.SERVER, args.ready_timeout)
            metrics = f"http://127.0.0.1:{metrics_port}/metrics"
            monitor = monitors.enter_context(TreeMonitor(_operator_pid(operator), metrics))
            ctx = scenarios.Context(api=api, monitor=monitor, ready_timeout=args.ready_timeout)
            results = _run_scenarios(ctx, args, loads)
            if args.restart_n > 0:

                def restarted() -> TreeMonitor:
                    ctx.monitor.__exit__()  # its root is about to go
                    operator.stop()
                    operator.start(args=extra_args)
                    return monitors.enter_context(TreeMonitor(_operator_pid(operator), metrics))

                log.info("restart storm: %d MySQLDatabases, restart, one more created", args.restart_n)
                loads["restart"] = _load()
                timeout = args.ready_timeout * max(1.0, args.restart_n / 100)
                restart = scenarios.restart_storm(ctx, "bench-restart", args.restart_n, restarted, timeout)
            # The operator before the restart, as peak_rss_mb always was; the storm has restart_peak_rss_mb.
            peak = monitor.peak_rss_bytes
    finally:
        operator.stop()
        if not args.keep_env:
            env.down(paths)
    loads["end"] = _load()
    measurements = report.Measurements(
        cores=os.cpu_count() or 0,
        reconcile_period_s=period,
        peak_rss_bytes=peak,
        context={
            "load_avg_start": loads.pop("start"),
            "load_avg_end": loads.pop("end"),
            "load_avg_at_scenario_start": loads,
            "operator_args": extra_args[1:],
            "max_concurrent_reconciles_env": os.environ.get("MAX_CONCURRENT_RECONCILES_MYSQLDATABASE_PIWIK_PRO", ""),
            "burst_create_s": round(results["burst"].extra["create_s"], 3),
            "git_rev": _git_rev(),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        restart=restart,
        **results,
    )
    doc = report.document(measurements)
    png = _plot_path(args.out, args.plot)
    title = f"external-mysql-operator bench {doc['git_rev']}"
    report.plot(results["single"], results["burst"], png, title, restart)
    doc["plot"] = str(png)
    return doc


def _operator_pid(operator: OperatorProcess) -> int:
    pid = operator.pid
    if pid is None:
        raise process.ProcessError(f"ansible-operator exited; see {operator.log}")
    return pid


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SystemExit unwinds through run()'s finally: the operator and the environment are stopped by PID.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=os.environ.get("BENCH_LOG_LEVEL", "INFO"), format="bench: %(message)s")
    for noisy in ("kubernetes", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        check_fixed_ports()
        doc = run(args)
    except PortsTaken as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (process.ProcessError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as err:
        print(f"error: {shlex.join(err.cmd)} failed:\n{err.stderr}", file=sys.stderr)
        return 1
    text = report.write_json(doc, Path(args.out) if args.out else None)
    if not args.out:
        sys.stdout.write(text)
    print(report.summary(doc), file=sys.stderr)
    return 0
