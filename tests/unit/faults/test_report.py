"""The report's totals and verdict (external_mysql_operator/faults/report.py)."""

from __future__ import annotations

import json

from external_mysql_operator.faults.report import CaseResult, Findings, passed, render, totals


def _cases() -> list[CaseResult]:
    return [
        CaseResult("operator_kill", faults_injected=6, faults_survived=6, crs=20, healthy=20),
        CaseResult("mariadb_outage", faults_injected=2, faults_survived=1, crs=10, healthy=9),
        CaseResult("hostile", crs=40, healthy=40, hostile_tried=120, hostile_refused=119),
    ]


def test_totals_add_up_cases_and_count_distinct_findings() -> None:
    findings = Findings(
        broken_credentials={"ns/a", "ns/b"},
        orphans={"database 'x'"},
        leaks={"admin password": ["logs/ansible-operator.log", "events"]},
    )
    assert totals(_cases(), findings) == {
        "faults_injected": 8,
        "faults_survived": 7,
        "hostile_inputs_tried": 120,
        "hostile_inputs_refused": 119,
        "secrets_leaked": 1,
        "credentials_broken": 2,
        "orphans": 1,
    }


def test_clean_run_passes() -> None:
    clean = [CaseResult("burst", faults_injected=5, faults_survived=5, crs=58, healthy=58)]
    assert passed(totals(clean, Findings()))


def test_any_lost_fault_leak_orphan_or_broken_credential_fails() -> None:
    clean = [CaseResult("burst", faults_injected=1, faults_survived=1, hostile_tried=2, hostile_refused=2)]
    assert not passed(totals([*clean, CaseResult("x", faults_injected=1)], Findings()))
    assert not passed(totals([*clean, CaseResult("x", hostile_tried=1)], Findings()))
    assert not passed(totals(clean, Findings(leaks={"password of a/b #1": ["events"]})))
    assert not passed(totals(clean, Findings(orphans={"user 'u'@'%'"})))
    assert not passed(totals(clean, Findings(broken_credentials={"a/b"})))


def test_rendered_report_has_the_issue_fields_per_case_and_in_totals() -> None:
    document = json.loads(render(_cases(), Findings(), profile="ci", seed=3, seconds=12.34, errors=[]))
    assert document["profile"] == "ci" and document["seed"] == 3 and document["duration_seconds"] == 12.3
    assert document["passed"] is False  # one outage and one hostile input were lost
    for case in document["cases"].values():
        assert {"faults_injected", "crs", "healthy"} <= set(case)
    assert document["cases"]["hostile"]["hostile_inputs_refused"] == 119
    assert "hostile_inputs_tried" not in document["cases"]["operator_kill"]
    assert set(document["totals"]) == {
        "faults_injected",
        "faults_survived",
        "hostile_inputs_tried",
        "hostile_inputs_refused",
        "secrets_leaked",
        "credentials_broken",
        "orphans",
    }


def test_errors_fail_the_run_even_with_clean_totals() -> None:
    text = render([], Findings(), profile="full", seed=1, seconds=1, errors=["burst: TimeoutError"])
    assert json.loads(text)["passed"] is False
