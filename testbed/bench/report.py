"""Turn the scenarios' results into the benchmark's JSON document, summary line and plot."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scenarios import CostSample, PropagationResult, RestartResult, SeriesResult
from .stats import percentile

log = logging.getLogger(__name__)

REQUIRED_KEYS = (
    "cores",
    "single_p50_s",
    "single_p95_s",
    "burst_n",
    "burst_all_ready_s",
    "burst_p50_s",
    "burst_p95_s",
    "cpu_s_per_create_reconcile",
    "cpu_s_per_noop_reconcile",
    "steady_cpu_cores",
    "peak_rss_mb",
)
# The targets, for the summary line.
STEADY_TARGET_CRS = 1000


@dataclass
class Measurements:
    cores: int
    single: SeriesResult
    noop: CostSample
    burst: SeriesResult
    idle: CostSample
    reconcile_period_s: float
    peak_rss_bytes: int
    context: Mapping[str, Any]
    change: PropagationResult | None = None
    restart: RestartResult | None = None


def _per(cpu_s: float, count: int) -> float:
    return cpu_s / count if count else math.nan


def _r(value: float, digits: int = 3) -> float:
    return round(value, digits)


def steady_cores(baseline_cores: float, noop_cpu_s: float, crs: int, period_s: float) -> float:
    """Average cores with `crs` CRs each reconciled (a no-op) once per period, on top of the idle baseline."""
    periodic = crs * noop_cpu_s / period_s if period_s > 0 else math.inf
    return baseline_cores + periodic


def propagation(change: PropagationResult) -> dict[str, Any]:
    """How long a change of the MySQLServer took to reach its MySQLDatabases' Secrets, from the patch."""
    return {
        "n": len(change.names),
        "server_checked_s": _r(change.server_checked_s),
        "secret_p50_s": _r(percentile(change.seconds, 50)),
        "secret_p95_s": _r(percentile(change.seconds, 95)),
        "secret_max_s": _r(max(change.seconds)),
        # Until every reconcile the change caused had finished (the last Secret may come before).
        "total_s": _r(change.cost.wall_s),
        "cpu_s": _r(change.cost.cpu_s),
        "reconciles": change.cost.reconciles,
        "server_checks": change.cost.server_checks,
        "cpu_s_per_database": _r(_per(change.cost.cpu_s, len(change.names))),
    }


def restart_keys(restart: RestartResult) -> dict[str, Any]:
    """The restart storm: what a user creating a CR right after a restart waits, and the whole catch-up."""
    crs = restart.existing + 1  # the new one too
    return {
        "restart_n": restart.existing,
        "restart_new_cr_ready_s": _r(restart.new_cr_ready_s),
        "restart_all_reconciled_s": _r(restart.all_reconciled_s),
        # Each existing CR once, the new one once: 1.0.
        "restart_reconciles_per_cr": _r(_per(restart.cost.reconciles, crs), 2),
        "restart_cpu_s_per_cr": _r(_per(restart.cost.cpu_s, crs)),
        "restart_operator_ready_s": _r(restart.operator_ready_s),
        "restart_peak_rss_mb": _r(restart.peak_rss_bytes / 2**20, 1),
    }


def document(m: Measurements) -> dict[str, Any]:
    """The JSON document: the issue's keys first, then what explains them."""
    noop = _per(m.noop.cpu_s, m.noop.reconciles)
    # MySQLDatabase reconciles that fell into the idle window are the periodic load itself; the model adds
    # it exactly once per period for every CR, so the window contributes only the operator's own idle cost,
    # the MySQLServer's periodic checks included.
    baseline = max(0.0, (m.idle.cpu_s - m.idle.reconciles * noop) / m.idle.wall_s)
    n = len(m.burst.names)
    doc: dict[str, Any] = {
        "cores": m.cores,
        "single_p50_s": _r(percentile(m.single.seconds, 50)),
        "single_p95_s": _r(percentile(m.single.seconds, 95)),
        "single_max_s": _r(max(m.single.seconds)),
        "single_n": len(m.single.names),
        "burst_n": n,
        "burst_all_ready_s": _r(m.burst.total_s),
        "burst_p50_s": _r(percentile(m.burst.seconds, 50)),
        "burst_p95_s": _r(percentile(m.burst.seconds, 95)),
        "burst_max_s": _r(max(m.burst.seconds)),
        "cpu_s_per_create_reconcile": _r(_per(m.single.cost.cpu_s, len(m.single.names))),
        "cpu_s_per_noop_reconcile": _r(noop),
        # The Go operator's own share of the two (its proxy, event receiver, caches, logging).
        "operator_cpu_s_per_create_reconcile": _r(_per(m.single.cost.operator_cpu_s, len(m.single.names))),
        "operator_cpu_s_per_noop_reconcile": _r(_per(m.noop.operator_cpu_s, m.noop.reconciles)),
        "steady_cpu_cores": _r(steady_cores(baseline, noop, n, m.reconcile_period_s), 4),
        "peak_rss_mb": _r(m.peak_rss_bytes / 2**20, 1),
        "reconciles_per_create": _r(_per(m.single.cost.reconciles, len(m.single.names)), 2),
        "cpu_s_per_burst_create": _r(_per(m.burst.cost.cpu_s, n)),
        "reconciles_per_burst_create": _r(_per(m.burst.cost.reconciles, n), 2),
        "noop_reconciles": m.noop.reconciles,
        "reconcile_period_s": m.reconcile_period_s,
        "steady_idle_window_s": m.idle.wall_s,
        "steady_idle_window_cpu_s": _r(m.idle.cpu_s),
        "steady_idle_window_reconciles": m.idle.reconciles,
        "steady_idle_window_server_checks": m.idle.server_checks,
        "steady_baseline_cores": _r(baseline, 4),
        "steady_cpu_cores_1000_crs": _r(steady_cores(baseline, noop, STEADY_TARGET_CRS, m.reconcile_period_s), 4),
    }
    if m.change is not None:
        doc["server_change_propagation"] = propagation(m.change)
    if m.restart is not None:
        doc.update(restart_keys(m.restart))
    doc.update(m.context)
    return doc


def missing_keys(doc: Mapping[str, Any]) -> list[str]:
    return [key for key in REQUIRED_KEYS if key not in doc]


def summary(doc: Mapping[str, Any]) -> str:
    change = doc.get("server_change_propagation")
    change_text = (
        f"server change -> {change['n']} Secrets p50 {change['secret_p50_s']}s max {change['secret_max_s']}s "
        f"(total {change['total_s']}s); "
        if change
        else ""
    )
    restart_text = (
        f"restart with {doc['restart_n']} CRs: new CR Ready {doc['restart_new_cr_ready_s']}s, all reconciled "
        f"{doc['restart_all_reconciled_s']}s ({doc['restart_reconciles_per_cr']} per CR); "
        if "restart_n" in doc
        else ""
    )
    return (
        f"create->Ready p50 {doc['single_p50_s']}s p95 {doc['single_p95_s']}s; "
        f"burst {doc['burst_n']} all Ready {doc['burst_all_ready_s']}s (p50 {doc['burst_p50_s']}s); "
        f"{change_text}"
        f"{restart_text}"
        f"CPU/create {doc['cpu_s_per_create_reconcile']}s, CPU/no-op {doc['cpu_s_per_noop_reconcile']}s; "
        f"steady {doc['steady_cpu_cores']} cores ({doc['steady_cpu_cores_1000_crs']} at 1000 CRs); "
        f"peak RSS {doc['peak_rss_mb']} MB; load {doc.get('load_avg_start', '?')}->{doc.get('load_avg_end', '?')}"
    )


def write_json(doc: Mapping[str, Any], out: Path | None) -> str:
    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return text


def plot(
    single: SeriesResult, burst: SeriesResult, png: Path, title: str, restart: RestartResult | None = None
) -> None:
    """Time to Ready against CR index, one panel per scenario; with a restart storm, a third panel: reconciles
    after the restart against time, and when the CR created right after it became Ready."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3 if restart else 2, figsize=(16.5 if restart else 11, 4.2))
    for ax, series, label in (
        (axes[0], single, f"single create ({len(single.names)} one after another)"),
        (axes[1], burst, f"burst ({len(burst.names)} at once)"),
    ):
        ax.plot(range(len(series.seconds)), series.seconds, "o", markersize=3)
        ax.set_title(label)
        ax.set_xlabel("CR index (creation order)")
        ax.set_ylabel("create -> Ready (s)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    if restart:
        _plot_restart(axes[2], restart)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)


def _plot_restart(ax: Any, restart: RestartResult) -> None:
    seconds = [t for t, _ in restart.progress]
    ax.plot(seconds, [n for _, n in restart.progress], "-", label="MySQLDatabase reconciles started")
    ax.axhline(restart.existing + 1, color="grey", linestyle=":", label=f"{restart.existing} existing + 1 new")
    ax.axvline(restart.new_cr_ready_s, color="tab:red", linestyle="--", label="new CR Ready")
    ax.axvline(restart.all_reconciled_s, color="tab:green", linestyle="--", label="all reconciled, idle")
    ax.set_title(f"restart storm ({restart.existing} CRs, then 1 created)")
    ax.set_xlabel("seconds since the operator was ready again")
    ax.set_ylabel("reconciles")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
