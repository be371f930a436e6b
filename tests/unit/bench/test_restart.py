"""The restart storm's pure parts: how many CRs to add, when the catch-up ended, its JSON keys and plot."""

from __future__ import annotations

import math
from pathlib import Path

from testbed.bench import report, scenarios
from testbed.bench.scenarios import CostSample, RestartResult, SeriesResult


def test_top_up_creates_only_what_is_missing() -> None:
    assert scenarios.top_up_names(120, 300) == [f"restart-{i:04d}" for i in range(180)]
    assert scenarios.top_up_names(300, 300) == []
    assert scenarios.top_up_names(400, 300) == []


def test_catch_up_ends_at_the_idle_point_less_its_settle_time() -> None:
    assert scenarios.settled_at(idle_at=100.0, settle_s=3.0, last_ready=90.0) == 97.0
    assert scenarios.settled_at(idle_at=100.0, settle_s=3.0, last_ready=99.0) == 99.0


def test_last_count_of_the_progress() -> None:
    assert scenarios.last_count([]) == 0
    assert scenarios.last_count([(0.5, 3), (1.0, 7)]) == 7


def _restart(reconciles: int = 301) -> RestartResult:
    return RestartResult(
        existing=300,
        operator_ready_s=4.2,
        new_cr_ready_s=151.23456,
        all_reconciled_s=290.5,
        cost=CostSample(cpu_s=301.0, reconciles=reconciles, wall_s=293.0),
        progress=[(0.5, 0), (10.0, 20), (290.0, 301)],
        peak_rss_bytes=512 * 2**20,
    )


def test_restart_keys() -> None:
    keys = report.restart_keys(_restart())
    assert keys == {
        "restart_n": 300,
        "restart_new_cr_ready_s": 151.235,
        "restart_all_reconciled_s": 290.5,
        "restart_reconciles_per_cr": 1.0,
        "restart_cpu_s_per_cr": 1.0,
        "restart_operator_ready_s": 4.2,
        "restart_peak_rss_mb": 512.0,
    }
    assert report.restart_keys(_restart(reconciles=602))["restart_reconciles_per_cr"] == 2.0


def _series(n: int) -> SeriesResult:
    return SeriesResult(
        names=[f"c{i}" for i in range(n)], seconds=[1.0 + i / 10 for i in range(n)], total_s=float(n),
        cost=CostSample(cpu_s=n * 1.0, reconciles=n, wall_s=float(n)),
    )  # fmt: skip


def _measurements(restart: RestartResult | None) -> report.Measurements:
    return report.Measurements(
        cores=2,
        single=_series(3),
        noop=CostSample(cpu_s=2.0, reconciles=2, wall_s=5.0),
        burst=_series(5),
        idle=CostSample(cpu_s=1.0, reconciles=0, wall_s=60.0),
        reconcile_period_s=36000.0,
        peak_rss_bytes=2**20,
        context={},
        restart=restart,
    )


def test_document_keeps_every_key_and_adds_the_restart_ones() -> None:
    without = report.document(_measurements(None))
    with_restart = report.document(_measurements(_restart()))
    assert not report.missing_keys(with_restart)
    assert set(without) <= set(with_restart)
    assert {"restart_new_cr_ready_s", "restart_all_reconciled_s"} <= set(with_restart) - set(without)
    assert "restart with 300 CRs: new CR Ready 151.235s" in report.summary(with_restart)
    assert "restart" not in report.summary(without)
    assert not math.isnan(with_restart["reconciles_per_create"])


def test_plot_draws_the_restart_panel(tmp_path: Path) -> None:
    png = tmp_path / "bench.png"
    report.plot(_series(3), _series(5), png, "t", _restart())
    assert png.stat().st_size > 0
