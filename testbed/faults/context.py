"""What every case gets: the stack, the health checker, the secret book, seeded randomness, CR factories."""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.rest import ApiException

from . import crs
from .crs import CrRef
from .health import CrHealth, HealthChecker
from .leaks import SecretBook
from .report import CaseResult, Findings
from .settings import Settings
from .stack import FaultStack

log = logging.getLogger(__name__)
SECONDS_PER_CR = 10.0


@dataclass
class Context:
    settings: Settings
    stack: FaultStack
    health: HealthChecker
    book: SecretBook
    findings: Findings
    status_texts: dict[str, str] = field(default_factory=dict)  # where -> CR JSON, for the leak scan
    created: int = 0
    control: str = ""  # planted in the first CR's annotations: the leak scan must find it (self-check)
    control_planted: bool = False

    def rng(self, case: str) -> random.Random:
        """Each case draws from its own seeded stream, so cases stay reproducible when others change."""
        return random.Random(f"{self.settings.seed}:{case}")  # noqa: S311 - fault timing, not secrets

    def manifest(self, ref: CrRef, spec: dict[str, Any] | None = None, plant_control: bool = True) -> dict[str, Any]:
        """A CR the suite owns, on the server under test: deletionPolicy Delete (cleanup leaves an empty
        server); some at verbosity 7. The first CR that may carry the leak scan's control value gets it; a
        case that deletes its CRs before the end of the run passes plant_control=False."""
        self.created += 1
        annotations = {}
        full_spec = {"deletionPolicy": "Delete", **self.stack.target.server_ref(), **(spec or {})}
        if self.created % self.settings.profile.verbose_every == 1:
            annotations[crs.VERBOSITY_ANNOTATION] = "7"
        if plant_control and self.control and not self.control_planted:
            # The leak scan must find this fake secret in every kind of place it scans: the CR (API texts),
            # ansible-runner's artifacts, and the operator's log, which prints the normalised spec (with
            # secretTemplate) of a CR at verbosity 7 (this CR has it). It stays until cleanup.
            self.control_planted = True
            annotations[crs.VERBOSITY_ANNOTATION] = "7"
            annotations[crs.CONTROL_ANNOTATION] = self.control
            full_spec["secretTemplate"] = {crs.CONTROL_KEY: self.control}
        return crs.body(ref, full_spec, annotations)

    def create(
        self, refs: Iterable[CrRef], spec: dict[str, Any] | None = None, parallel: int = 1, plant_control: bool = True
    ) -> list[CrRef]:
        refs = list(refs)
        for namespace in sorted({ref.namespace for ref in refs}):
            self.stack.crs.ensure_namespace(namespace)
        manifests = [self.manifest(ref, spec, plant_control) for ref in refs]
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            list(pool.map(self._create_once, manifests))
        return refs

    def _create_once(self, manifest: dict[str, Any]) -> None:
        """Create; one that already exists (a retried call) is fine."""
        try:
            self.stack.crs.create(manifest)
        except ApiException as err:
            if err.status != 409:
                raise

    def poke(self, refs: Iterable[CrRef], value: str) -> None:
        def poke(ref: CrRef) -> bool:
            self.stack.crs.poke(ref, value)
            return True

        for ref in refs:
            crs.poll(functools.partial(poke, ref), timeout=30)

    def timeout(self, count: int) -> float:
        """How long waiting for `count` CRs may take: a reconcile costs seconds of CPU, more on a busy machine."""
        return self.settings.profile.settle_seconds + SECONDS_PER_CR * count

    def wait_healthy(self, refs: list[CrRef]) -> list[CrHealth]:
        return self.health.wait_healthy(refs, self.timeout(len(refs)))

    def settle(self, result: CaseResult, refs: list[CrRef], orphans: bool = True) -> list[CrHealth]:
        """Wait for the CRs to be healthy; count them, note problems, scan for orphans, keep their status."""
        started = time.monotonic()
        healths = self.wait_healthy(refs)
        result.crs += len(refs)
        result.healthy += sum(h.healthy for h in healths)
        result.problems += self.health.record(healths)
        log.info(
            "%s: %d/%d healthy after %.0fs",
            result.name,
            sum(h.healthy for h in healths),
            len(refs),
            time.monotonic() - started,
        )
        if orphans:
            self.check_orphans(result)
        return healths

    def check_orphans(self, result: CaseResult) -> None:
        found = self.health.scan_orphans_or_fail(result.name)
        if found is None:
            result.details["orphans"] = "the scan could not run"
            result.problems.append("the orphan scan could not run")
        else:
            result.details["orphans"] = len(found)
            result.problems += [f"orphan: {orphan}" for orphan in found]
        self.capture_status(result.name)

    def capture_status(self, where: str) -> None:
        """Keep every CR and MySQLServer as the API returns it (status included) for the leak scan at the end."""
        items = crs.poll(self.stack.crs.list_all, timeout=60) or []
        self.status_texts[f"CRs after {where}"] = json.dumps(items)
        servers = crs.poll(self.stack.crs.list_servers, timeout=60) or []
        self.status_texts[f"MySQLServers after {where}"] = json.dumps(servers)
