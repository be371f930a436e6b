"""Delete every CR the suite made: the server must end as it began, and no admin password in any Secret."""

from __future__ import annotations

import base64
import logging

from ...localenv.config import OPERATOR_NAMESPACE
from ..context import Context
from ..crs import CrRef, poll
from ..leaks import LeakScanner, SecretBook
from ..report import CaseResult

log = logging.getLogger(__name__)


def admin_password_in_secrets(ctx: Context) -> None:
    """Application Secrets may hold their own password, never the admin's (e.g. through secretTemplate)."""
    admin = SecretBook()
    admin.add("admin password", ctx.stack.state.mysql_admin_password)
    admin.add("admin password of the hardened MariaDB", ctx.stack.state.mysql_hardened_admin_password)
    scanner = LeakScanner(admin)
    for secret in ctx.stack.crs.core.list_secret_for_all_namespaces().items:
        if secret.metadata.namespace == OPERATOR_NAMESPACE:
            continue
        values = [base64.b64decode(v).decode("utf-8", "replace") for v in (secret.data or {}).values()]
        scanner.scan_text(f"Secret {secret.metadata.namespace}/{secret.metadata.name}", "\n".join(values))
    for label, places in scanner.findings.items():
        ctx.findings.leaks.setdefault(label, []).extend(sorted(places))


def run_cleanup(ctx: Context) -> CaseResult:
    result = CaseResult("cleanup")
    admin_password_in_secrets(ctx)
    ctx.capture_status("the last case")
    refs = [CrRef(cr["metadata"]["namespace"], cr["metadata"]["name"]) for cr in ctx.stack.crs.list_all()]
    for ref in refs:
        ctx.stack.crs.delete(ref)
    poll(lambda: not ctx.stack.crs.list_all(), timeout=ctx.timeout(len(refs)), interval=2)
    left = [f"{cr['metadata']['namespace']}/{cr['metadata']['name']}" for cr in ctx.stack.crs.list_all()]
    result.crs = len(refs)
    result.healthy = len(refs) - len(left)
    result.problems += [f"{name}: still there (finalizer never finished)" for name in left]
    ctx.check_orphans(result)
    result.details.update(deleted=len(refs))
    log.info("cleanup: %d CRs deleted, %d left, %d orphans", len(refs), len(left), result.details["orphans"])
    return result
