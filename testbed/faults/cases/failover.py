"""Two operator replicas with leader election, each in namespaces of its own (replicas.py): the leader is
SIGKILLed, with every process under it, while it reconciles a burst of CRs. The other replica must take the
Lease over and finish the burst: every CR healthy, nothing lost (one user, one grant and two ownership
records each, no orphans), no password set twice (each Secret only ever held one password, and the server
never set a user's password after its Secret was written), and the time to take over is reported. The
burst is then deleted under the new leader.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from ...localenv.config import OPERATOR_NAMESPACE
from .. import crs, runs
from ..context import Context
from ..crs import CrRef, poll
from ..health import sql_rows
from ..replicas import LEASE_NAME, Replica
from ..report import CaseResult
from ..stack import FaultStack
from . import common

log = logging.getLogger(__name__)
NAMESPACE = "faults-failover"
# A reconcile writes about 60 Ansible events (a finalizer run fewer). The kill falls after at least one
# reconcile's worth of them (so that reconciles are past their start, in the role) and before half the burst's.
EVENTS_PER_CR = 60
TAKEOVER_TIMEOUT = 120.0  # the Lease lasts 15 s (ansible-operator's default, as config/manager deploys it)
QUIET_SECONDS = 3.0


@dataclass(frozen=True)
class Lease:
    holder: str  # holderIdentity: "<host name>_<uuid>"
    acquired: float | None  # acquireTime, epoch seconds


def read_lease(api: client.ApiClient) -> Lease | None:
    try:
        lease = client.CoordinationV1Api(api).read_namespaced_lease(LEASE_NAME, OPERATOR_NAMESPACE)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    spec = lease.spec
    acquired = spec.acquire_time.timestamp() if isinstance(spec.acquire_time, datetime) else None
    return Lease(str(spec.holder_identity or ""), acquired)


def replica_of(lease: Lease | None, hostnames: Iterable[str]) -> str:
    """The replica (by host name) the Lease names; '' when none of them holds it."""
    if lease is None:
        return ""
    return next((name for name in hostnames if lease.holder.startswith(f"{name}_")), "")


def seconds_after(start: float, moment: float | None) -> float | None:
    return None if moment is None else round(moment - start, 1)


def set_after_publication(changed: dict[str, int | None], published: dict[str, float]) -> list[str]:
    """Users whose password the server last set (password_last_changed, whole seconds) after the second in
    which their Secret was first written: a password handed out and then replaced. A user with no record,
    or no Secret, cannot be cleared."""
    late = []
    for name, when in sorted(changed.items()):
        if when is None or name not in published or when > int(published[name]):
            late.append(name)
    return late


@dataclass
class FailoverObservation:
    """What the suite saw of one failover (replicas by host name, CRs by name)."""

    crs: int
    healthy: int
    leader_before: str  # the replica holding the Lease when the kill came
    standby_ready: bool  # the other replica ran and answered /readyz at the kill
    killed: str  # the replica killed
    leader_after: str  # the replica holding the Lease after the takeover ('' none in time)
    takeover_s: float | None  # kill -> the new holder's acquireTime
    secret_passwords: dict[str, int]  # CR -> distinct passwords its Secret ever held
    secret_watch_gaps: int  # times the Secret watch had to start over (changes may have been missed)
    set_after_secret: list[str]  # users whose password was set again after their Secret was written
    invariants: list[str]  # server invariants broken (users, grants, ownership records)
    left_after_deletion: dict[str, list[str]] = field(default_factory=dict)  # CR -> what its deletion left


def judge_failover(obs: FailoverObservation) -> list[str]:
    """The problems of a failover; none means it was survived."""
    problems = []
    if not obs.leader_before or obs.killed != obs.leader_before:
        problems.append(
            f"the replica killed ({obs.killed or 'none'}) was not the leader ({obs.leader_before or 'none'})"
        )
    if not obs.standby_ready:
        problems.append("the standby replica was not running and ready when the leader was killed")
    if not obs.leader_after or obs.leader_after == obs.killed:
        problems.append(f"no other replica took the Lease over within {TAKEOVER_TIMEOUT:.0f}s")
    elif obs.takeover_s is None:
        problems.append("the new leader's Lease has no acquireTime")
    if obs.healthy < obs.crs:
        problems.append(f"{obs.crs - obs.healthy} of {obs.crs} CRs not healthy after the failover")
    problems += obs.invariants
    for name, count in sorted(obs.secret_passwords.items()):
        if count != 1:
            problems.append(f"{name}: its Secret held {count} passwords")
    if len(obs.secret_passwords) < obs.crs:
        problems.append(f"{obs.crs - len(obs.secret_passwords)} CRs never got a Secret")
    if obs.secret_watch_gaps:
        problems.append(f"the Secret watch restarted {obs.secret_watch_gaps} times: password changes may be unseen")
    problems += [f"{name}: password set on the server after its Secret was written" for name in obs.set_after_secret]
    for name, left in sorted(obs.left_after_deletion.items()):
        if left:
            problems.append(f"{name}: deleted under the new leader, still there: {', '.join(left)}")
    return problems


class SecretPasswords:
    """Every password each Secret of a namespace ever held (as digests) and when it was created, from a
    watch that starts before any CR exists; a Secret whose password was changed shows two."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.core, self.namespace = client.CoreV1Api(api), namespace
        self.digests: dict[str, set[str]] = {}
        self.created: dict[str, float] = {}
        self.gaps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="secret-passwords", daemon=True)
        self._version = ""

    def __enter__(self) -> SecretPasswords:
        self._version = self._list()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._list()  # and whatever the last watch call had not delivered yet

    def counts(self) -> dict[str, int]:
        return {name: len(digests) for name, digests in self.digests.items()}

    def _list(self) -> str:
        listing = self.core.list_namespaced_secret(self.namespace, _request_timeout=crs.REQUEST_TIMEOUT)
        for secret in listing.items:
            self._record(secret)
        return str(listing.metadata.resource_version)

    def _record(self, secret: Any) -> None:
        value = (secret.data or {}).get("password")
        name = secret.metadata.name
        if value is None:
            return
        self.digests.setdefault(name, set()).add(hashlib.sha256(base64.b64decode(value)).hexdigest())
        self.created.setdefault(name, secret.metadata.creation_timestamp.timestamp())

    def _watch(self) -> None:
        while not self._stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(
                    self.core.list_namespaced_secret, self.namespace, resource_version=self._version, timeout_seconds=5
                ):
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._record(event["object"])
                    self._version = str(event["object"].metadata.resource_version)
            except ApiException as err:
                if err.status == 410:  # too old: start over from a fresh list, and say changes may be unseen
                    self.gaps += 1
                    with contextlib.suppress(*crs.TRANSIENT):
                        self._version = self._list()
                else:
                    time.sleep(1)
            except (urllib3.exceptions.HTTPError, OSError):
                time.sleep(1)


def password_last_changed(stack: FaultStack, names: list[str]) -> dict[str, int | None]:
    """MariaDB's password_last_changed of each user (whole seconds), from mysql.global_priv."""
    rows = sql_rows(
        stack, "SELECT User, JSON_VALUE(Priv, '$.password_last_changed') FROM mysql.global_priv WHERE Host = '%'"
    )
    stored = {str(user): int(when) if when is not None else None for user, when in rows}
    return {name: stored.get(name) for name in names}


@dataclass
class Replicas:
    """The two replicas of the case, started one after the other so that the first one leads."""

    stack: FaultStack
    members: list[Replica]

    @classmethod
    def of(cls, stack: FaultStack) -> Replicas:
        state = stack.state
        ports = (state.apiserver_port, state.mysql_port, state.mysql_hardened_port)
        return cls(stack, [Replica(stack.paths, letter, stack.operator.watches, ports) for letter in "ab"])

    @property
    def hostnames(self) -> list[str]:
        return [member.hostname for member in self.members]

    def by_hostname(self, hostname: str) -> Replica:
        return next(member for member in self.members if member.hostname == hostname)

    def start(self, member: Replica) -> None:
        member.start(
            args=[f"--max-concurrent-reconciles={self.stack.concurrency}", "--ansible-log-events=Everything"],
            extra_env={"ANSIBLE_DEBUG_LOGS": "True"},
        )

    def leader(self, timeout: float) -> str:
        """The replica holding the Lease, waiting up to `timeout` for one to hold it."""
        found = poll(lambda: replica_of(read_lease(self.stack.api), self.hostnames), timeout=timeout, interval=0.5)
        return found or ""

    def leader_other_than(self, replica: Replica) -> str:
        holder = replica_of(read_lease(self.stack.api), self.hostnames)
        return holder if holder != replica.hostname else ""

    def stop(self) -> None:
        for member in self.members:
            with contextlib.suppress(Exception):  # stop the others whatever one of them does
                member.stop()


def _quiet(replica: Replica, timeout: float) -> bool:
    """Wait until the replica runs no reconcile for QUIET_SECONDS (its start-up reconciles are over)."""
    since = {"quiet": 0.0}

    def check() -> bool:
        busy = any(runs.runner_dir(argv) for argv in replica.running_commands())
        now = time.monotonic()
        if busy or not since["quiet"]:
            since["quiet"] = 0.0 if busy else now
            return False
        return now - since["quiet"] >= QUIET_SECONDS

    return bool(poll(check, timeout=timeout, interval=0.5))


def _kill_leader(ctx: Context, leader: Replica, known: set[Path], result: CaseResult) -> dict[str, Any]:
    """SIGKILL the leader's tree once the burst has run a random number of events with a reconcile of it
    in flight; counted as injected only when the frozen tree held such a reconcile."""
    rng = ctx.rng("failover")
    target = rng.randint(EVENTS_PER_CR, max(EVENTS_PER_CR, EVENTS_PER_CR * ctx.settings.profile.failover_crs // 2))
    state = common.await_work(leader, NAMESPACE, known, target, kind_root=leader.kind_root)
    tasks = runs.tasks_in_flight(NAMESPACE, known, leader.kind_root)
    killed_at = time.time()
    killed = leader.kill()
    hit = runs.reconciles_of(killed.values(), NAMESPACE)
    record = {"after_events": target, "found": state, "hit": hit, "tasks": tasks, "processes_killed": len(killed)}
    if hit:
        result.faults_injected += 1
    else:
        result.injections_without_work.append({"fault": "SIGKILL of the leader", **record})
    return {**record, "killed_at": killed_at}


def _delete_all(ctx: Context, refs: list[CrRef]) -> dict[str, list[str]]:
    stack = ctx.stack
    for ref in refs:
        stack.crs.delete(ref)
    poll(lambda: not any(stack.crs.exists(ref) for ref in refs), timeout=ctx.timeout(len(refs)), interval=2)
    return {str(ref): common.leftovers(stack, ref) for ref in refs}


def _failover(ctx: Context, replicas: Replicas, refs: list[CrRef], result: CaseResult) -> FailoverObservation:
    stack = ctx.stack
    first, second = replicas.members
    replicas.start(first)
    leader_before = replicas.leader(timeout=60)
    replicas.start(second)
    leader = replicas.by_hostname(leader_before) if leader_before else first
    standby = second if leader is first else first
    if not _quiet(leader, timeout=ctx.timeout(len(stack.crs.list_all()))):
        result.problems.append("the leader never finished its start-up reconciles")
    stack.crs.ensure_namespace(NAMESPACE)
    known = runs.jobs(NAMESPACE, leader.kind_root)
    with SecretPasswords(stack.api, NAMESPACE) as passwords:
        ctx.create(refs, parallel=16, plant_control=False)
        standby_ready = standby.pid is not None and standby.ready()
        kill = _kill_leader(ctx, leader, known, result)
        killed_at = kill.pop("killed_at")
        leader_after = poll(lambda: replicas.leader_other_than(leader), timeout=TAKEOVER_TIMEOUT, interval=0.2)
        lease = read_lease(stack.api)
        healths = ctx.settle(result, refs, orphans=False)
    names = [ref.name for ref in refs]
    firsts = runs.first_event_times(NAMESPACE, set(), standby.kind_root)
    result.details.update(
        replicas=replicas.hostnames,
        leader_killed=leader.hostname,
        new_leader=leader_after or "none",
        takeover_s=seconds_after(killed_at, lease.acquired if lease and leader_after else None),
        first_reconcile_s=seconds_after(killed_at, firsts[0] if firsts else None),
        kill=kill,
        bridged_connections={m.hostname: m.bridge.connections if m.bridge else 0 for m in replicas.members},
    )
    return FailoverObservation(
        crs=len(refs),
        healthy=sum(h.healthy for h in healths),
        leader_before=leader_before,
        standby_ready=standby_ready,
        killed=leader.hostname,
        leader_after=str(leader_after or ""),
        takeover_s=result.details["takeover_s"],
        secret_passwords={name: count for name, count in passwords.counts().items() if name in names},
        secret_watch_gaps=passwords.gaps,
        set_after_secret=set_after_publication(password_last_changed(stack, names), passwords.created),
        invariants=common.server_invariants(stack, names),
    )


def run_failover(ctx: Context) -> CaseResult:
    stack = ctx.stack
    result = CaseResult("failover")
    refs = [CrRef(NAMESPACE, f"failover-{i:02d}") for i in range(ctx.settings.profile.failover_crs)]
    replicas = Replicas.of(stack)
    stack.operator.stop()  # it runs without leader election: it would reconcile beside the replicas
    try:
        obs = _failover(ctx, replicas, refs, result)
        obs.left_after_deletion = _delete_all(ctx, refs)
    finally:
        replicas.stop()
        stack.start_operator()
    problems = judge_failover(obs)
    result.problems += problems
    result.faults_survived = int(result.faults_injected > 0 and not problems)
    result.details.update(
        secrets_with_one_password=sum(count == 1 for count in obs.secret_passwords.values()),
        passwords_set_after_secret=len(obs.set_after_secret),
        deleted_under_new_leader=sum(not left for left in obs.left_after_deletion.values()),
    )
    ctx.check_orphans(result)
    return result
