"""The benchmark's scenarios, each against the running operator and its process-tree monitor."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kubernetes import client

from . import kube
from .monitor import Reading, TreeMonitor

log = logging.getLogger(__name__)

SERVER = "default"  # the MySQLServer the local environment makes for its MariaDB
# Reconciles are counted for this kind; the MySQLServer's periodic checks (watches.yaml) are steady
# load of their own, whatever the number of CRs, and stay in the CPU figures.
KIND, SERVER_KIND = "MySQLDatabase", "MySQLServer"
# settle of TreeMonitor.wait_idle: the idle point it returns lies this long after the last activity.
IDLE_SETTLE_S = 3.0


@dataclass
class Context:
    api: client.ApiClient
    monitor: TreeMonitor
    ready_timeout: float = 900.0


@dataclass
class CostSample:
    """CPU seconds of the operator's tree and MySQLDatabase reconciles it ran between two idle points."""

    cpu_s: float
    reconciles: int
    wall_s: float
    server_checks: int = 0  # MySQLServer reconciles in the same time
    operator_cpu_s: float = 0.0  # of cpu_s, the ansible-operator process's own


@dataclass
class SeriesResult:
    """Time to Ready of each CR, in creation order, and what it cost."""

    names: list[str]
    seconds: list[float]
    total_s: float
    cost: CostSample
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class PropagationResult:
    """A change of the MySQLServer reaching the Secrets of its MySQLDatabases, timed from the patch."""

    names: list[str]
    seconds: list[float]  # per Secret, in `names` order: until it carried the new value
    server_checked_s: float  # until the MySQLServer was Ready for its new generation
    cost: CostSample  # from the patch until the operator was idle again


def _measure_until_idle(ctx: Context, base: Reading, started_count: int) -> CostSample:
    idle = ctx.monitor.wait_idle()
    return CostSample(
        cpu_s=idle.cpu_s - base.cpu_s,
        reconciles=ctx.monitor.reconciles(KIND) - started_count,
        wall_s=idle.at - base.at,
        operator_cpu_s=idle.operator_cpu_s - base.operator_cpu_s,
    )


def single_create(ctx: Context, namespace: str, count: int) -> SeriesResult:
    """Create `count` CRs one after another, each once the previous one is Ready."""
    kube.create_namespace(ctx.api, namespace)
    names = [f"single-{i:02d}" for i in range(count)]
    base = ctx.monitor.wait_idle()
    base_count = ctx.monitor.reconciles(KIND)
    seconds: list[float] = []
    with kube.ReadyWatcher(ctx.api, namespace) as watcher:
        for name in names:
            started = kube.create_cr(ctx.api, namespace, name)
            ready = watcher.wait([name], ctx.ready_timeout)[name]
            seconds.append(ready - started)
            log.info("%s Ready after %.2fs", name, ready - started)
    cost = _measure_until_idle(ctx, base, base_count)
    return SeriesResult(names=names, seconds=seconds, total_s=cost.wall_s, cost=cost)


def noop_reconciles(ctx: Context, namespace: str, names: list[str], rounds: int) -> CostSample:
    """Reconcile Ready CRs that need nothing: `rounds` annotation changes on each, one round at a time."""
    base = ctx.monitor.wait_idle()
    base_count = ctx.monitor.reconciles(KIND)
    for round_no in range(rounds):
        for name in names:
            kube.poke(ctx.api, namespace, name, f"{time.time_ns()}-{round_no}")
        ctx.monitor.wait_idle(settle=1.0)
    return _measure_until_idle(ctx, base, base_count)


def burst(ctx: Context, namespace: str, count: int) -> SeriesResult:
    """Create `count` CRs at once; time until all are Ready and each one's time to Ready."""
    kube.create_namespace(ctx.api, namespace)
    names = [f"burst-{i:04d}" for i in range(count)]
    base = ctx.monitor.wait_idle()
    base_count = ctx.monitor.reconciles(KIND)
    timeout = ctx.ready_timeout * max(1.0, count / 100)
    with kube.ReadyWatcher(ctx.api, namespace) as watcher:
        first = time.monotonic()
        starts = kube.create_many(ctx.api, namespace, names)
        created = time.monotonic() - first
        ready = watcher.wait(names, timeout)
    seconds = [ready[n] - starts[n] for n in names]
    all_ready = max(ready.values()) - first
    cost = _measure_until_idle(ctx, base, base_count)
    return SeriesResult(names=names, seconds=seconds, total_s=all_ready, cost=cost, extra={"create_s": created})


def idle_window(ctx: Context, window_s: float) -> CostSample:
    """CPU of the tree over a fixed window with nothing asked of the operator (periodic reconciles may run)."""
    base = ctx.monitor.wait_idle()
    base_count, base_checks = ctx.monitor.reconciles(KIND), ctx.monitor.reconciles(SERVER_KIND)
    time.sleep(window_s)
    end = ctx.monitor.read()
    return CostSample(
        cpu_s=end.cpu_s - base.cpu_s,
        reconciles=ctx.monitor.reconciles(KIND) - base_count,
        wall_s=window_s,
        server_checks=ctx.monitor.reconciles(SERVER_KIND) - base_checks,
    )


def server_change(ctx: Context, namespace: str, count: int, timeout: float) -> PropagationResult:
    """`count` MySQLDatabases on the server `default`, Ready; then a new spec.publishHost on the server,
    and when each application Secret carries it. Afterwards the databases are deleted and the server's
    spec restored, so that the scenarios after this one find the environment as before."""
    kube.create_namespace(ctx.api, namespace)
    names = [f"change-{i:03d}" for i in range(count)]
    with kube.ReadyWatcher(ctx.api, namespace) as watcher:
        kube.create_many(ctx.api, namespace, names)
        watcher.wait(names, timeout)
    base = ctx.monitor.wait_idle()
    base_count, base_checks = ctx.monitor.reconciles(KIND), ctx.monitor.reconciles(SERVER_KIND)
    host = f"moved-{time.time_ns()}.bench.example"
    with kube.SecretValueWatcher(ctx.api, namespace, "host", host) as secrets:
        patched = kube.patch_server(ctx.api, SERVER, {"publishHost": host})
        checked = kube.wait_server_ready(ctx.api, SERVER, timeout)
        arrived = secrets.wait(names, timeout)
    idle = ctx.monitor.wait_idle()
    cost = CostSample(
        cpu_s=idle.cpu_s - base.cpu_s,
        reconciles=ctx.monitor.reconciles(KIND) - base_count,
        wall_s=max(idle.at - IDLE_SETTLE_S, max(arrived.values())) - patched,
        server_checks=ctx.monitor.reconciles(SERVER_KIND) - base_checks,
    )
    log.info("restoring: deleting the %d MySQLDatabases, removing spec.publishHost", count)
    kube.delete_all(ctx.api, namespace, timeout)
    kube.patch_server(ctx.api, SERVER, {"publishHost": None})
    kube.wait_server_ready(ctx.api, SERVER, timeout)
    return PropagationResult(
        names=names,
        seconds=[arrived[name] - patched for name in names],
        server_checked_s=checked - patched,
        cost=cost,
    )


@dataclass
class RestartResult:
    """The operator restarted with `existing` MySQLDatabases present, one more created right after."""

    existing: int
    operator_ready_s: float  # from the stop until the new operator's readiness endpoint answered
    new_cr_ready_s: float  # the CR created right after the restart: create -> Ready
    all_reconciled_s: float  # from the restart until every CR had been reconciled once and the operator idle
    cost: CostSample  # from the restart until idle: CPU of the new tree, MySQLDatabase reconciles
    progress: list[tuple[float, int]]  # (seconds since the restart, MySQLDatabase reconciles started so far)
    peak_rss_bytes: int = 0  # of the new tree (the MySQLServer's check runs beside two database reconciles)


def top_up_names(existing: int, wanted: int, prefix: str = "restart") -> list[str]:
    """Names of the CRs to create so that `wanted` exist (none when there are enough)."""
    return [f"{prefix}-{i:04d}" for i in range(max(0, wanted - existing))]


def settled_at(idle_at: float, settle_s: float, last_ready: float) -> float:
    """When the last reconcile ended: the idle point less its settle time, never before the last Ready seen."""
    return max(idle_at - settle_s, last_ready)


def restart_storm(
    ctx: Context, namespace: str, count: int, restart: Callable[[], TreeMonitor], timeout: float
) -> RestartResult:
    """`count` MySQLDatabases exist (created here up to that number), the operator restarts, a new CR is
    created at once; how long that CR takes to become Ready, and until all were reconciled again.

    `restart` stops the operator, starts it again and returns a running monitor of the new process tree;
    ctx.monitor is replaced by it."""
    kube.create_namespace(ctx.api, namespace)
    names = top_up_names(kube.count_crs(ctx.api), count)
    with kube.ReadyWatcher(ctx.api, namespace) as watcher:
        kube.create_many(ctx.api, namespace, names)
        watcher.wait(names, timeout)
    ctx.monitor.wait_idle()
    existing = kube.count_crs(ctx.api)
    log.info("restart storm: restarting the operator with %d MySQLDatabases", existing)
    stopped = time.monotonic()
    ctx.monitor = restart()
    restarted = time.monotonic()
    base = ctx.monitor.read()
    with kube.ReadyWatcher(ctx.api, namespace) as watcher:
        created = kube.create_cr(ctx.api, namespace, "restart-new")
        progress = _follow_reconciles(ctx.monitor, restarted, existing + 1, timeout)
        ready = watcher.wait(["restart-new"], timeout)["restart-new"]
    idle = ctx.monitor.wait_idle(settle=IDLE_SETTLE_S)
    reconciles = ctx.monitor.reconciles(KIND)
    return RestartResult(
        existing=existing,
        operator_ready_s=restarted - stopped,
        new_cr_ready_s=ready - created,
        all_reconciled_s=settled_at(idle.at, IDLE_SETTLE_S, ready) - restarted,
        cost=CostSample(cpu_s=idle.cpu_s - base.cpu_s, reconciles=reconciles, wall_s=idle.at - restarted),
        progress=progress,
        peak_rss_bytes=ctx.monitor.peak_rss_bytes,
    )


def _follow_reconciles(monitor: TreeMonitor, since: float, target: int, timeout: float) -> list[tuple[float, int]]:
    """Reconciles started since the restart, every half second, until `target` have started."""
    progress: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = monitor.reconciles(KIND)
        progress.append((time.monotonic() - since, count))
        if count >= target:
            return progress
        time.sleep(0.5)
    raise TimeoutError(f"{last_count(progress)} of {target} MySQLDatabases reconciled {timeout:.0f}s after the restart")


def last_count(progress: Sequence[tuple[float, int]]) -> int:
    return progress[-1][1] if progress else 0
