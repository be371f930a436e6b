"""Percentiles, Go durations and the operator's metrics text."""

from __future__ import annotations

import math

import pytest

from testbed.bench.monitor import RECONCILE_METRIC, parse_metric
from testbed.bench.stats import go_duration_seconds, percentile


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        ([3.0], 50, 3.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        (list(map(float, range(1, 21))), 95, 19.05),
    ],
)
def test_percentile_interpolates_between_ranks(values: list[float], pct: float, expected: float) -> None:
    assert percentile(values, pct) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 50))


def test_percentile_outside_0_100_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("250ms", 0.25), ("0", 0)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert go_duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10", "m", "10 m", "1d"])
def test_bad_go_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="Go duration"):
        go_duration_seconds(text)


def test_reconcile_count_sums_every_gvk_and_ignores_similar_names() -> None:
    text = (
        "# HELP ansible_operator_reconciles How long in seconds a reconcile takes.\n"
        f'{RECONCILE_METRIC}{{GVK="piwik.pro/v1, Kind=MySQLDatabase"}} 41\n'
        f'{RECONCILE_METRIC}{{GVK="other/v1, Kind=Thing"}} 1\n'
        'ansible_operator_reconciles_count_total{GVK="x"} 1000\n'
        'ansible_operator_reconciles_sum{GVK="x"} 3.5\n'
    )
    assert parse_metric(text, RECONCILE_METRIC) == 42
    assert parse_metric("", RECONCILE_METRIC) == 0


def test_reconcile_count_of_one_kind() -> None:
    text = (
        f'{RECONCILE_METRIC}{{GVK="piwik.pro/v1, Kind=MySQLDatabase"}} 41\n'
        f'{RECONCILE_METRIC}{{GVK="piwik.pro/v1, Kind=MySQLServer"}} 3\n'
    )
    assert parse_metric(text, RECONCILE_METRIC, "Kind=MySQLDatabase") == 41
    assert parse_metric(text, RECONCILE_METRIC, "Kind=MySQLServer") == 3
    assert parse_metric(text, RECONCILE_METRIC, "Kind=Other") == 0
