"""Watch the operator's process tree while the benchmark runs: CPU, peak RSS, reconcile count."""

from __future__ import annotations

import logging
import time
import urllib.request
from dataclasses import dataclass

from .. import proctree
from ..background_thread import Sampler

log = logging.getLogger(__name__)

# ansible-operator's histogram, observed once per ansible-runner it starts (runner.Run).
RECONCILE_METRIC = "ansible_operator_reconciles_count"


@dataclass(frozen=True)
class Reading:
    """One look at the tree: when, CPU seconds so far (the whole tree's, and the operator's own: the Go
    process alone, its proxy, event receiver, caches and logging, without the ansible-runners it starts),
    processes in it."""

    at: float
    cpu_s: float
    processes: int
    operator_cpu_s: float = 0.0


def parse_metric(text: str, name: str, label: str = "") -> float:
    """Sum of every sample of `name` in a Prometheus text exposition whose labels contain `label`
    (every sample when empty; 0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        base, _, labels = metric.partition("{")
        if base == name and label in labels:
            total += float(value)
    return total


class TreeMonitor(Sampler):
    """Samples the tree below `root` every `interval` seconds on a thread; keeps the peak RSS."""

    def __init__(self, root: int, metrics_url: str, interval: float = 0.1) -> None:
        super().__init__("tree-monitor", interval, join_timeout=5)
        self.root = root
        self.metrics_url = metrics_url
        self.units = proctree.Units.of_machine()
        self.peak_rss_bytes = 0

    def sample(self) -> None:
        self.read()

    def read(self) -> Reading:
        processes = proctree.read_processes()
        pids = proctree.tree(processes, self.root)
        rss = proctree.rss_pages(processes, pids) * self.units.page_bytes
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
        cpu = proctree.cpu_ticks(processes, pids)
        own = processes[self.root].cpu_ticks if self.root in processes else 0
        ticks = self.units.ticks_per_s
        return Reading(at=time.monotonic(), cpu_s=cpu / ticks, processes=len(pids), operator_cpu_s=own / ticks)

    def reconciles(self, kind: str = "") -> int:
        """Reconciles started so far (each one ansible-runner run) of `kind`, of every kind when empty,
        from the operator's metrics (labelled GVK="<group>/<version>, Kind=<kind>")."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:  # noqa: S310 - loopback URL we built
            return int(parse_metric(response.read().decode(), RECONCILE_METRIC, f"Kind={kind}" if kind else ""))

    def wait_idle(self, settle: float = 3.0, timeout: float = 1800.0) -> Reading:
        """Wait until only the operator itself runs and no reconcile started for `settle` seconds."""
        deadline = time.monotonic() + timeout
        count, quiet_since = self.reconciles(), time.monotonic()
        while time.monotonic() < deadline:
            reading = self.read()
            now_count = self.reconciles()
            if reading.processes > 1 or now_count != count:
                count, quiet_since = now_count, time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return reading
            time.sleep(0.2)
        raise TimeoutError(f"the operator did not become idle within {timeout:.0f}s")
