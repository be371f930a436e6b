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
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "faults_injected": self.faults_injected,
            "faults_survived": self.faults_survived,
            "crs": self.crs,
            "healthy": self.healthy,
            "seconds": round(self.seconds, 1),
        }
        if self.hostile_tried:
            entry.update(hostile_inputs_tried=self.hostile_tried, hostile_inputs_refused=self.hostile_refused)
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


def totals(cases: list[CaseResult], findings: Findings) -> dict[str, int]:
    return {
        "faults_injected": sum(case.faults_injected for case in cases),
        "faults_survived": sum(case.faults_survived for case in cases),
        "hostile_inputs_tried": sum(case.hostile_tried for case in cases),
        "hostile_inputs_refused": sum(case.hostile_refused for case in cases),
        "secrets_leaked": len(findings.leaks),
        "credentials_broken": len(findings.broken_credentials),
        "orphans": len(findings.orphans),
    }


def passed(summary: dict[str, int]) -> bool:
    """The suite's verdict: every fault survived, every hostile input refused, nothing leaked or left."""
    return (
        summary["faults_survived"] == summary["faults_injected"]
        and summary["hostile_inputs_refused"] == summary["hostile_inputs_tried"]
        and summary["secrets_leaked"] == 0
        and summary["credentials_broken"] == 0
        and summary["orphans"] == 0
    )


def render(
    cases: list[CaseResult], findings: Findings, *, profile: str, seed: int, seconds: float, errors: list[str]
) -> str:
    summary = totals(cases, findings)
    document = {
        "profile": profile,
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
        },
        "errors": errors,
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
