"""The hostile corpus's payload canaries: each entry's `lookup('pipe', 'touch <file>')` names a file in the
run's canary folder, which exists only if something executed that payload.

The folder is checked after every phase that may run a payload (creation, the reconciles, deletion with
its finalizer run) and once more at the end of the run; any file found fails the run (`report.passed`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from .context import Context

log = logging.getLogger(__name__)


def folder(ctx: Context) -> Path:
    return ctx.stack.paths.state / "canaries"


def present(where: Path) -> list[str]:
    """The canary files in the folder (named by entry id); none when it does not exist."""
    return sorted(path.name for path in where.iterdir()) if where.is_dir() else []


def record(found: list[str], seen: dict[str, str], phase: str) -> list[str]:
    """Note each canary not seen before with the phase after which it appeared; returns the new ones."""
    new = [name for name in found if name not in seen]
    for name in new:
        seen[name] = phase
    return new


def check(ctx: Context, phase: str) -> list[str]:
    """Look for canaries after `phase`; returns every one found so far."""
    found = present(folder(ctx))
    new = record(found, ctx.findings.canaries, phase)
    if new:
        log.error("payload canaries appeared after %s: %s", phase, ", ".join(new))
    return found
