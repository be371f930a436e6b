"""Collect everything a secret must never reach and run the leak scanner over it."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from . import replicas
from .context import Context
from .crs import poll
from .leaks import LeakScanner
from .runs import RUNNER_KIND, RUNNER_SERVER_KIND
from .stack import RUNNER_ROOT

log = logging.getLogger(__name__)
NAMESPACE_PREFIX = "faults-"


def runner_dirs() -> list[Path]:
    """The MySQLDatabase runs of the suite's namespaces."""
    return sorted(RUNNER_KIND.glob(f"{NAMESPACE_PREFIX}*")) if RUNNER_KIND.exists() else []


def server_runner_dirs() -> list[Path]:
    """Every MySQLServer's runs: they handle the admin credentials. Not forgotten at the start, since
    another session's operator may share the folder (the suite's own servers are new each run)."""
    return sorted(RUNNER_SERVER_KIND.glob("*")) if RUNNER_SERVER_KIND.exists() else []


def forget_old_runs() -> None:
    """A previous run's artifacts (same namespaces) would only slow the scan down."""
    for folder in runner_dirs():
        shutil.rmtree(folder, ignore_errors=True)


def api_texts(ctx: Context) -> dict[str, str]:
    """Events of every namespace and every MySQLDatabase and MySQLServer with its status, as JSON."""
    api = ctx.stack.api
    texts = dict(ctx.status_texts)
    events = poll(lambda: ctx.stack.crs.core.list_event_for_all_namespaces().items, timeout=60) or []
    texts["events"] = json.dumps(api.sanitize_for_serialization(events))
    texts["CRs at the end"] = json.dumps(poll(ctx.stack.crs.list_all, timeout=60) or [])
    texts["MySQLServers at the end"] = json.dumps(poll(ctx.stack.crs.list_servers, timeout=60) or [])
    log.info("leak scan: %d events", len(events))
    return texts


def scan_files(ctx: Context, scanner: LeakScanner) -> dict[str, int]:
    """The environment's logs (the operator's output, ours) and every ansible-runner artifact."""
    counts = {"log_files": scanner.scan_tree(ctx.stack.paths.logs, ctx.stack.paths.state)}
    artifacts = 0
    for folder in runner_dirs() + server_runner_dirs():
        artifacts += scanner.scan_tree(folder, RUNNER_ROOT)
    for root in replicas.runner_roots(ctx.stack.paths):  # the failover case's replicas had folders of their own
        artifacts += scanner.scan_tree(root, root)
    counts["runner_files"] = artifacts
    return counts


def record(ctx: Context, scanner: LeakScanner) -> None:
    for label, places in scanner.findings.items():
        ctx.findings.leaks.setdefault(label, [])
        ctx.findings.leaks[label] = sorted(set(ctx.findings.leaks[label]) | places)


CONTROL_LABEL = "leak-scan control value (planted on purpose, not a secret)"


def control_places(ctx: Context) -> dict[str, int]:
    """Where the planted control value was found, by kind of place; taken out of the leaks."""
    places = ctx.findings.leaks.pop(CONTROL_LABEL, [])
    return count_places(places, f"logs/{ctx.stack.operator.log.name}")


def count_places(places: list[str], operator_log: str) -> dict[str, int]:
    return {
        "runner_files": sum(place.startswith("piwik.pro/") for place in places),
        "log_files": sum(place.startswith("logs/") for place in places),
        "operator_log": sum(place == operator_log for place in places),
        "api_texts": sum(not place.startswith(("piwik.pro/", "logs/")) for place in places),
    }


def control_unproven(control: dict[str, int]) -> list[str]:
    """The kinds of place where the planted control value was not found: the scan is not proven there."""
    return [kind for kind in ("runner_files", "operator_log", "api_texts") if not control.get(kind)]
