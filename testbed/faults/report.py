"""The suite's result: one entry per case and the totals the issue asks for (pure, unit-tested)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CaseResult:
    """What one case did and how it ended. Problems name CRs and reasons, never a secret."""

    name: str
    faults_injected: int = 0
    faults_survived: int = 0
    crs: int = 0
    healthy: int = 0
    hostile_tried: int = 0
    hostile_refused: int = 0
    # Of hostile_refused, those Kubernetes' own metadata validation (name, labels, annotations) refused;
    # the rest were refused by the operator: its CRD's schema and CEL rules count as the operator's.
    refused_by_kubernetes: int = 0
    seconds: float = 0.0
    # Faults the case meant to inject that never met work to hit (a SIGKILL with no reconcile in flight,
    # a burst that never ran two reconciles at once), after its retries; not counted as injected.
    injections_without_work: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def refused_by_operator(self) -> int:
        return self.hostile_refused - self.refused_by_kubernetes

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "faults_injected": self.faults_injected,
            "faults_survived": self.faults_survived,
            "crs": self.crs,
            "healthy": self.healthy,
            "seconds": round(self.seconds, 1),
        }
        if self.injections_without_work:
            entry["injections_without_work"] = self.injections_without_work
        if self.hostile_tried:
            entry.update(
                hostile_inputs_tried=self.hostile_tried,
                hostile_inputs_refused=self.hostile_refused,
                refused_by_kubernetes=self.refused_by_kubernetes,
                refused_by_operator=self.refused_by_operator,
            )
        entry.update(details=self.details, problems=self.problems)
        return entry


@dataclass
class Findings:
    """What the checks found across the whole run, deduplicated."""

    broken_credentials: set[str] = field(default_factory=set)  # "namespace/name" of the CR
    orphans: set[str] = field(default_factory=set)  # "database 'x'", "user 'u'@'h'", "owners record ..."
    leaks: dict[str, list[str]] = field(default_factory=dict)  # secret label -> where it was found
    leak_scan: dict[str, int] = field(default_factory=dict)  # what the leak scan covered
    # Processes something outside the suite stopped (SIGSTOP) on a shared machine; the suite resumed them.
    external_stops: list[str] = field(default_factory=list)
    canaries: dict[str, str] = field(default_factory=dict)  # hostile entry id -> phase its canary was found
    orphan_scans_failed: list[str] = field(default_factory=list)  # where an orphan scan could not run
    errors: list[str] = field(default_factory=list)  # checks that could not run or prove themselves


def totals(cases: list[CaseResult], findings: Findings) -> dict[str, int | None]:
    """The report's totals. `orphans` is None (null) when an orphan scan could not run: unknown, not 0."""
    return {
        "faults_injected": sum(case.faults_injected for case in cases),
        "faults_survived": sum(case.faults_survived for case in cases),
        "injections_without_work": sum(len(case.injections_without_work) for case in cases),
        "hostile_inputs_tried": sum(case.hostile_tried for case in cases),
        "hostile_inputs_refused": sum(case.hostile_refused for case in cases),
        "refused_by_kubernetes": sum(case.refused_by_kubernetes for case in cases),
        "refused_by_operator": sum(case.refused_by_operator for case in cases),
        "payload_canaries_found": len(findings.canaries),
        "secrets_leaked": len(findings.leaks),
        "credentials_broken": len(findings.broken_credentials),
        "orphans": None if findings.orphan_scans_failed else len(findings.orphans),
    }


def passed(summary: dict[str, int | None]) -> bool:
    """The suite's verdict: every fault survived, every hostile input refused and none of its payloads ran,
    nothing leaked, no orphans (and the scan for them ran). Faults that found no work to hit are reported
    (`injections_without_work`) and simply not counted as injected."""
    return (
        summary["faults_survived"] == summary["faults_injected"]
        and summary["hostile_inputs_refused"] == summary["hostile_inputs_tried"]
        and summary["payload_canaries_found"] == 0
        and summary["secrets_leaked"] == 0
        and summary["credentials_broken"] == 0
        and summary["orphans"] == 0
    )


def render(
    cases: list[CaseResult],
    findings: Findings,
    *,
    profile: str,
    server: str,
    seed: int,
    seconds: float,
    errors: list[str],
) -> str:
    summary = totals(cases, findings)
    errors = [*errors, *findings.errors]
    document = {
        "profile": profile,
        "server": server,
        "seed": seed,
        "duration_seconds": round(seconds, 1),
        "passed": passed(summary) and not errors,
        "totals": summary,
        "cases": {case.name: case.as_dict() for case in cases},
        "findings": {
            "broken_credentials": sorted(findings.broken_credentials),
            "orphans": sorted(findings.orphans),
            "leaks": {label: sorted(places) for label, places in sorted(findings.leaks.items())},
            "leak_scan": findings.leak_scan,
            "external_stops_resumed": len(findings.external_stops),
            "payload_canaries": dict(sorted(findings.canaries.items())),
            "orphan_scans_failed": findings.orphan_scans_failed,
        },
        "errors": errors,
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
