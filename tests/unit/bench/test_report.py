"""The benchmark's JSON document: the issue's keys, and what they are computed from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.bench import report
from testbed.bench.scenarios import CostSample, PropagationResult, SeriesResult


def series(prefix: str, seconds: list[float], cpu_s: float, reconciles: int) -> SeriesResult:
    names = [f"{prefix}-{i}" for i in range(len(seconds))]
    return SeriesResult(names=names, seconds=seconds, total_s=max(seconds), cost=CostSample(cpu_s, reconciles, 60.0))


def measurements() -> report.Measurements:
    return report.Measurements(
        cores=2,
        single=series("s", [1.0, 2.0, 3.0, 4.0], cpu_s=8.0, reconciles=4),
        noop=CostSample(cpu_s=6.0, reconciles=8, wall_s=30.0),
        burst=series("b", [float(i) for i in range(1, 11)], cpu_s=25.0, reconciles=10),
        idle=CostSample(cpu_s=3.75, reconciles=1, wall_s=60.0, server_checks=1),
        reconcile_period_s=600.0,
        peak_rss_bytes=300 * 2**20,
        context={"load_avg_start": 1.5},
        change=PropagationResult(
            names=[f"c-{i}" for i in range(4)],
            seconds=[4.0, 2.0, 3.0, 5.0],
            server_checked_s=1.5,
            cost=CostSample(cpu_s=10.0, reconciles=5, wall_s=6.0, server_checks=1),
        ),
    )


def test_document_has_every_key_the_issue_asks_for() -> None:
    doc = report.document(measurements())
    assert report.missing_keys(doc) == []
    json.dumps(doc)  # serialisable as is


def test_document_values() -> None:
    doc = report.document(measurements())
    assert (doc["cores"], doc["burst_n"], doc["single_n"]) == (2, 10, 4)
    assert doc["single_p50_s"] == 2.5
    assert doc["burst_all_ready_s"] == 10.0
    assert doc["cpu_s_per_create_reconcile"] == 2.0
    assert doc["cpu_s_per_noop_reconcile"] == 0.75
    # The idle window's one MySQLDatabase reconcile is taken out; 3.0 CPU-s over 60 s is the operator's own
    # baseline, the MySQLServer's periodic check included.
    assert doc["steady_baseline_cores"] == 0.05
    assert (doc["steady_idle_window_reconciles"], doc["steady_idle_window_server_checks"]) == (1, 1)
    assert doc["steady_cpu_cores"] == pytest.approx(0.05 + 10 * 0.75 / 600, abs=1e-4)
    assert doc["steady_cpu_cores_1000_crs"] == pytest.approx(0.05 + 1000 * 0.75 / 600, abs=1e-4)
    assert doc["peak_rss_mb"] == 300.0
    assert doc["load_avg_start"] == 1.5


def test_summary_is_one_line() -> None:
    line = report.summary(report.document(measurements()))
    assert "\n" not in line
    assert "p50 2.5s" in line


def test_json_goes_to_the_file(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "bench.json"
    text = report.write_json({"cores": 2}, out)
    assert json.loads(out.read_text()) == {"cores": 2} == json.loads(text)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    m = measurements()
    png = tmp_path / "plot.png"
    report.plot(m.single, m.burst, png, "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_server_change_propagation_is_timed_per_secret_from_the_patch() -> None:
    change = report.document(measurements())["server_change_propagation"]
    assert change == {
        "n": 4,
        "server_checked_s": 1.5,
        "secret_p50_s": 3.5,
        "secret_p95_s": 4.85,
        "secret_max_s": 5.0,
        "total_s": 6.0,
        "cpu_s": 10.0,
        "reconciles": 5,
        "server_checks": 1,
        "cpu_s_per_database": 2.5,
    }
    assert "server change -> 4 Secrets p50 3.5s max 5.0s (total 6.0s)" in report.summary(
        report.document(measurements())
    )


def test_a_run_without_the_server_change_has_no_such_key() -> None:
    m = measurements()
    m.change = None
    doc = report.document(m)
    assert "server_change_propagation" not in doc
    assert "server change" not in report.summary(doc)


def test_the_go_operators_own_share_is_reported_per_reconcile() -> None:
    m = measurements()
    m.single.cost.operator_cpu_s = 0.4
    m.noop.operator_cpu_s = 0.8
    doc = report.document(m)
    assert (doc["operator_cpu_s_per_create_reconcile"], doc["operator_cpu_s_per_noop_reconcile"]) == (0.1, 0.1)
