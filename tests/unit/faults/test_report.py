"""The report's totals and verdict (testbed/faults/report.py)."""

from __future__ import annotations

import json

from testbed.faults.report import CaseResult, Findings, passed, render, totals


def _cases() -> list[CaseResult]:
    return [
        CaseResult(
            "operator_kill",
            faults_injected=6,
            faults_survived=6,
            crs=20,
            healthy=20,
            injections_without_work=[{"fault": "SIGKILL 7", "hit": [], "attempts": 3}],
        ),
        CaseResult("mariadb_outage", faults_injected=2, faults_survived=1, crs=10, healthy=9),
        CaseResult("hostile", crs=40, healthy=40, hostile_tried=120, hostile_refused=119, refused_by_kubernetes=9),
    ]


def _render(cases: list[CaseResult], findings: Findings, errors: list[str] | None = None) -> dict[str, object]:
    return json.loads(
        render(cases, findings, profile="ci", server="hardened", seed=3, seconds=12.34, errors=errors or [])
    )


def test_totals_add_up_cases_and_count_distinct_findings() -> None:
    findings = Findings(
        broken_credentials={"ns/a", "ns/b"},
        orphans={"database 'x'"},
        leaks={"admin password": ["logs/ansible-operator.log", "events"]},
    )
    assert totals(_cases(), findings) == {
        "faults_injected": 8,
        "faults_survived": 7,
        "injections_without_work": 1,
        "hostile_inputs_tried": 120,
        "hostile_inputs_refused": 119,
        "refused_by_kubernetes": 9,
        "refused_by_operator": 110,
        "payload_canaries_found": 0,
        "secrets_leaked": 1,
        "credentials_broken": 2,
        "orphans": 1,
    }


def test_clean_run_passes() -> None:
    clean = [CaseResult("burst", faults_injected=5, faults_survived=5, crs=58, healthy=58)]
    assert passed(totals(clean, Findings()))


def test_any_lost_fault_leak_orphan_or_broken_credential_fails() -> None:
    """One case each that must produce a failure."""
    clean = [CaseResult("burst", faults_injected=1, faults_survived=1, hostile_tried=2, hostile_refused=2)]
    assert not passed(totals([*clean, CaseResult("x", faults_injected=1)], Findings()))
    assert not passed(totals([*clean, CaseResult("x", hostile_tried=1)], Findings()))
    assert not passed(totals(clean, Findings(leaks={"password of a/b #1": ["events"]})))
    assert not passed(totals(clean, Findings(orphans={"user 'u'@'%'"})))
    assert not passed(totals(clean, Findings(broken_credentials={"a/b"})))


def test_rendered_report_has_the_issue_fields_per_case_and_in_totals() -> None:
    document = _render(_cases(), Findings())
    assert document["profile"] == "ci" and document["server"] == "hardened" and document["seed"] == 3
    assert document["duration_seconds"] == 12.3
    assert document["passed"] is False  # one outage and one hostile input were lost
    cases = document["cases"]
    assert isinstance(cases, dict)
    for case in cases.values():
        assert {"faults_injected", "crs", "healthy"} <= set(case)
    assert cases["hostile"]["hostile_inputs_refused"] == 119
    assert (cases["hostile"]["refused_by_kubernetes"], cases["hostile"]["refused_by_operator"]) == (9, 110)
    assert "hostile_inputs_tried" not in cases["operator_kill"]
    assert cases["operator_kill"]["injections_without_work"] == [{"fault": "SIGKILL 7", "hit": [], "attempts": 3}]
    assert "injections_without_work" not in cases["mariadb_outage"]
    assert set(document["totals"]) == {  # type: ignore[arg-type]
        "faults_injected",
        "faults_survived",
        "injections_without_work",
        "hostile_inputs_tried",
        "hostile_inputs_refused",
        "refused_by_kubernetes",
        "refused_by_operator",
        "payload_canaries_found",
        "secrets_leaked",
        "credentials_broken",
        "orphans",
    }


def test_errors_fail_the_run_even_with_clean_totals() -> None:
    assert _render([], Findings(), errors=["burst: TimeoutError"])["passed"] is False


def test_an_orphan_scan_that_could_not_run_is_an_error_and_never_zero_orphans() -> None:
    clean = [CaseResult("cleanup", crs=3, healthy=3)]
    findings = Findings()
    findings.orphan_scans_failed.append("cleanup")
    findings.errors.append("orphan scan after cleanup could not run (the server did not answer for 60 s)")
    summary = totals(clean, findings)
    assert summary["orphans"] is None and not passed(summary)
    document = _render(clean, findings)
    assert document["passed"] is False and document["errors"] == findings.errors
    assert document["findings"]["orphan_scans_failed"] == ["cleanup"]  # type: ignore[index]


def test_a_payload_canary_fails_the_run_whatever_the_cases_said() -> None:
    clean = [CaseResult("hostile", hostile_tried=2, hostile_refused=2)]
    findings = Findings(canaries={"annotation-jinja": "deleting the hostile entries (their finalizer runs)"})
    assert not passed(totals(clean, findings))
    assert _render(clean, findings)["findings"]["payload_canaries"] == findings.canaries  # type: ignore[index]


def test_injections_without_work_are_reported_but_not_counted_as_injected() -> None:
    case = CaseResult("delete_kill", faults_injected=1, faults_survived=1)
    case.injections_without_work.append({"fault": "SIGKILL during deletion 2", "hit": []})
    summary = totals([case], Findings())
    assert (summary["faults_injected"], summary["injections_without_work"]) == (1, 1)
    assert passed(summary)
