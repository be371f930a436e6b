"""`python -m testbed.faults`: run the cases, scan for leaks, print the JSON report."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from ..localenv.operator import PortsTaken, check_fixed_ports
from ..localenv.process import ProcessError
from . import canaries, scan
from .cases import CASES
from .context import Context
from .health import HealthChecker
from .leaks import LeakScanner, SecretBook
from .report import CaseResult, Findings, passed, render, totals
from .settings import Settings
from .stack import FaultStack

log = logging.getLogger("faults")


def _run_cases(ctx: Context, names: list[str], errors: list[str]) -> list[CaseResult]:
    results = []
    for name in names:
        log.info("case %s: start", name)
        started = time.monotonic()
        try:
            result = CASES[name](ctx)
        except Exception as err:  # one broken case must not hide the others' figures
            log.exception("case %s crashed", name)
            result = CaseResult(name, problems=[f"the case crashed: {type(err).__name__}"])
            errors.append(f"{name}: {type(err).__name__}: {err}"[:500])
        result.seconds = time.monotonic() - started
        log.info("case %s: done in %.0fs (%d/%d healthy)", name, result.seconds, result.healthy, result.crs)
        results.append(result)
    return results


def _case_names(settings: Settings) -> list[str]:
    unknown = [name for name in settings.cases if name not in CASES]
    if unknown:
        raise ValueError(f"FAULTS_CASES names unknown cases {unknown}; known: {', '.join(CASES)}")
    return [name for name in CASES if not settings.cases or name in settings.cases]


def _log_to(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def _run(settings: Settings, errors: list[str]) -> tuple[list[CaseResult], Findings, SecretBook]:
    names = _case_names(settings)
    stack = FaultStack.up(settings.state_dir, settings.profile.max_concurrent_reconciles, settings.server)
    findings, book = Findings(), SecretBook()
    try:
        _log_to(stack.log_file)
        log.info(
            "profile %s on server %s, seed %d, cases %s",
            settings.profile.name,
            settings.server,
            settings.seed,
            ", ".join(names),
        )
        scan.forget_old_runs()
        # Both MySQLServers are checked throughout the run, whichever one the cases aim at.
        book.add("admin password", stack.state.mysql_admin_password)
        book.add("admin password of the hardened MariaDB", stack.state.mysql_hardened_admin_password)
        ctx = Context(settings, stack, HealthChecker.create(stack, book, findings), book, findings)
        ctx.control = secrets.token_urlsafe(24)
        book.add(scan.CONTROL_LABEL, ctx.control)
        stack.watch_for_external_stops()
        stack.start_operator()
        results = _run_cases(ctx, names, errors)
        canaries.check(ctx, "the end of the run")
        texts = scan.api_texts(ctx)
        stack.operator.stop()  # its log is complete from here on
        scanner = LeakScanner(book)
        for where, text in texts.items():
            scanner.scan_text(where, text)
        counts = scan.scan_files(ctx, scanner)
        scan.record(ctx, scanner)
        counts.update(api_texts=len(texts), megabytes=round(scanner.bytes_scanned / 1e6))
        counts.update(secrets_known=len(book.values), server_hashes_known=len(book.hashes))
        control = scan.control_places(ctx)
        counts.update({f"control_found_in_{kind}": count for kind, count in control.items()})
        unproven = scan.control_unproven(control)
        if unproven:
            errors.append(f"leak scan not proven: the planted control value was not found in {', '.join(unproven)}")
        findings.leak_scan = counts
        log.info("leak scan: %s", counts)
    finally:
        stack.down()
        findings.external_stops = list(stack.external_stops)
    return results, findings, book


def _report(results: list[CaseResult], findings: Findings, book: SecretBook, **options: Any) -> str:
    """Render the report; it is output too, so it is scanned like everything else before it is shown."""
    text = render(results, findings, **options)
    scanner = LeakScanner(book)
    scanner.scan_text("the suite's report", text)
    if not scanner.findings:
        return text
    for label in scanner.findings:
        findings.leaks.setdefault(label, []).append("the suite's report")
    return render([], findings, **options)  # without the cases, which carried the secret


def main() -> int:
    logging.basicConfig(level=os.environ.get("FAULTS_LOG_LEVEL", "INFO"), format="faults %(name)s: %(message)s")
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        check_fixed_ports()
    except (ValueError, PortsTaken) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    started = time.monotonic()
    errors: list[str] = []
    try:
        results, findings, book = _run(settings, errors)
    except (ProcessError, PortsTaken, RuntimeError, ValueError) as err:  # the environment never came up
        print(f"error: {err}", file=sys.stderr)
        return 2
    seconds = time.monotonic() - started
    options = {
        "profile": settings.profile.name,
        "server": settings.server,
        "seed": settings.seed,
        "seconds": seconds,
        "errors": errors,
    }
    text = _report(results, findings, book, **options)
    if settings.out:
        settings.out.parent.mkdir(parents=True, exist_ok=True)
        settings.out.write_text(text)
        log.info("report written to %s", settings.out)
    else:
        sys.stdout.write(text)
    summary = totals(results, findings)
    log.info("totals: %s (%.0fs)", summary, seconds)
    return 0 if passed(summary) and not errors and not findings.errors else 1
