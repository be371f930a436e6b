"""The hostile corpus: every entry of hostile_corpus.yaml is applied as a MySQLDatabase (or, with
`kind: MySQLServer`, as a MySQLServer) and must be refused.

Refused means: the API rejects it (the CRD schema, 4xx), or the operator reports Ready=False with the
expected reason, or, for free text the operator only passes on (annotations, secretTemplate values,
pruned unknown fields), the CR works and the text arrives verbatim, never evaluated. In every case no
canary file appears (each entry's `lookup('pipe', 'touch ...')` names its own), and nothing of
another CR or of the server's system schemas changes (snapshots before, after and after deletion).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from ..localenv.config import OPERATOR_NAMESPACE
from . import crs, servers, snapshot
from .context import Context
from .crs import KIND, SERVER_KIND, CrRef, is_current, poll, ready_condition
from .health import sql_rows
from .report import CaseResult

log = logging.getLogger(__name__)
CORPUS = Path(__file__).with_name("hostile_corpus.yaml")
NAMESPACE, OTHER_NAMESPACE = "faults-hostile", "faults-hostile-other"
BYSTANDERS = ("bystander", "hxwild")  # hxwild: what a `_` wildcard in h_wild would also match
DBA = "faults_dba"
CANARY = "@CANARY@"
ROTATED_ANNOTATION = "piwik.pro/password-rotation"
ROTATE_ANNOTATION = "piwik.pro/rotate-password"
PLACEHOLDER = re.compile(r"\{(host|port|database|username|password)\}")


class _CorpusLoader(yaml.SafeLoader):
    """YAML with `!repeat [text, count]` (long strings) and `!keys [prefix, count, value]` (big maps)."""


def _repeat(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    text, count = loader.construct_sequence(node)
    return str(text) * int(count)


def _keys(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    prefix, count, value = loader.construct_sequence(node, deep=True)
    return {f"{prefix}{index}": value for index in range(int(count))}


_CorpusLoader.add_constructor("!repeat", _repeat)
_CorpusLoader.add_constructor("!keys", _keys)


def _fill(value: Any, canary: str) -> Any:
    if isinstance(value, str):
        return value.replace(CANARY, canary)
    if isinstance(value, list):
        return [_fill(item, canary) for item in value]
    if isinstance(value, dict):
        return {_fill(key, canary): _fill(item, canary) for key, item in value.items()}
    return value


@dataclass
class Entry:
    id: str
    why: str
    ref: CrRef  # its kind is the entry's: a MySQLDatabase in NAMESPACE, or a cluster-scoped MySQLServer
    spec: Any
    expect: str | list[str]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    canary: Path = Path()

    def manifest(self) -> dict[str, Any]:
        spec = self.spec
        if not self.ref.is_server and isinstance(spec, dict) and "deletionPolicy" not in spec:
            spec = {**spec, "deletionPolicy": "Delete"}
        manifest = crs.body(self.ref, None, self.annotations, self.labels)
        manifest["spec"] = spec
        return manifest

    @property
    def database(self) -> str:
        """The database a MySQLDatabase entry names; a MySQLServer entry names none."""
        if self.ref.is_server or not isinstance(self.spec, dict):
            return ""
        return str(self.spec.get("databaseName") or self.ref.name)

    @property
    def username(self) -> str:
        if self.ref.is_server or not isinstance(self.spec, dict):
            return ""
        return str(self.spec.get("username") or self.ref.name)


def load_corpus(path: Path, canaries: Path) -> list[Entry]:
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_CorpusLoader)  # noqa: S506 - SafeLoader subclass
    entries = []
    for index, item in enumerate(raw["entries"]):
        canary = canaries / item["id"]
        item = _fill(item, str(canary))
        kind, name = item.get("kind", KIND), item.get("name", f"h-{index:03d}")
        if kind not in (KIND, SERVER_KIND):
            raise ValueError(f"corpus entry {item['id']}: kind must be {KIND} or {SERVER_KIND}, not {kind!r}")
        entries.append(
            Entry(
                id=item["id"],
                why=item["why"],
                ref=CrRef.server(name) if kind == SERVER_KIND else CrRef(NAMESPACE, name),
                spec=item.get("spec", {}),
                expect=item["expect"],
                labels=item.get("labels") or {},
                annotations=item.get("annotations") or {},
                canary=canary,
            )
        )
    return entries


@dataclass
class Outcome:
    entry: Entry
    created: bool = False
    api_status: int | None = None
    observed: str = ""  # "Ready", a Ready=False reason, or "Failure: <reason>"
    message: str = ""
    refused: bool = False
    note: str = ""


def _setup(ctx: Context) -> list[CrRef]:
    """Bystander CRs and Secrets the corpus aims at."""
    core = ctx.stack.crs.core
    for namespace in (NAMESPACE, OTHER_NAMESPACE):
        ctx.stack.crs.ensure_namespace(namespace)
    state = ctx.stack.state
    planted = [
        # Admin credentials in the tenant's own namespace: no MySQLServer may read them.
        (NAMESPACE, "evil-server", {"username": state.mysql_admin_user, "password": "not-the-password"}),
        # Working admin credentials in the operator's namespace that no MySQLServer names: never used either.
        (OPERATOR_NAMESPACE, "rogue", {"username": state.mysql_admin_user, "password": state.mysql_admin_password}),
        (NAMESPACE, "foreign-secret", {"note": "belongs to nobody"}),
    ]
    for namespace, name, data in planted:
        body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data=data)
        try:
            core.create_namespaced_secret(namespace, body)
        except ApiException as err:
            if err.status != 409:
                raise
    _administrator(ctx, create=True)
    return ctx.create([CrRef(NAMESPACE, name) for name in BYSTANDERS])


def _administrator(ctx: Context, create: bool) -> None:
    """An administrative account besides the operator's (a DBA's), which no CR may take over."""
    if not create:
        sql_rows(ctx.stack, "DROP USER IF EXISTS %s@'%%'", (DBA,))
        return
    password = secrets.token_urlsafe(24)
    ctx.book.add(f"password of the administrative account {DBA}", password)
    sql_rows(ctx.stack, "CREATE USER %s@'%%' IDENTIFIED BY %s", (DBA, password))
    sql_rows(ctx.stack, "GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (DBA,))


def _observe(ctx: Context, ref: CrRef) -> tuple[str, str] | None:
    cr = ctx.stack.crs.get(ref)
    condition = ready_condition(cr)
    if condition and is_current(cr):
        observed = "Ready" if condition.get("status") == "True" else str(condition.get("reason", ""))
        return observed, str(condition.get("message", ""))
    for other in (cr.get("status") or {}).get("conditions") or []:
        if other.get("type") == "Failure" and other.get("status") == "True":
            return f"Failure: {other.get('reason', '')}", str(other.get("message", ""))
    return None


def _apply(ctx: Context, entry: Entry) -> Outcome:
    outcome = Outcome(entry)
    try:
        ctx.stack.crs.create(entry.manifest())
        outcome.created = True
    except ApiException as err:
        outcome.api_status = err.status
        outcome.observed = f"API {err.status}"
    return outcome


def _verbatim(ctx: Context, entry: Entry) -> str:
    """'' when the entry's free text arrived in its Secret exactly as written; else what differs."""
    secret = ctx.stack.crs.core.read_namespaced_secret(entry.spec.get("secretName") or entry.ref.name, NAMESPACE)
    values = {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.data or {}).items()}
    for key, text in (entry.spec.get("secretTemplate") or {}).items():
        if values.get(key) != PLACEHOLDER.sub(lambda m: values[m.group(1)], text):
            return f"secretTemplate key {key!r} was not written verbatim"
    rotation = entry.annotations.get(ROTATE_ANNOTATION)
    if rotation is not None and (secret.metadata.annotations or {}).get(ROTATED_ANNOTATION) != rotation:
        return "the rotation annotation was not recorded verbatim"
    return ""


def _judge(ctx: Context, outcome: Outcome) -> None:
    entry, expect = outcome.entry, outcome.entry.expect
    if expect == "rejected":
        outcome.refused = outcome.api_status in (400, 422)
    elif not outcome.created:
        outcome.note = f"the API refused it ({outcome.api_status}) but {expect} was expected"
    elif expect == "literal":
        health = ctx.health.wait_healthy([entry.ref], 120)[0]
        outcome.note = health.problem if not health.healthy else _verbatim(ctx, entry)
        outcome.refused = health.healthy and not outcome.note
    else:
        wanted = [expect] if isinstance(expect, str) else list(expect)
        outcome.refused = outcome.observed in wanted and bool(outcome.message.strip())
    if entry.canary.exists():
        outcome.refused = False
        outcome.note = "its canary file appeared: something executed the payload"
    if not outcome.refused and not outcome.note:
        outcome.note = f"expected {expect}, got {outcome.observed or 'nothing'}"


def _await(ctx: Context, outcomes: list[Outcome]) -> None:
    """Wait for each created entry's outcome. A refused one is deleted at once: ansible-operator would
    retry it with backoff for as long as it exists, and that load slows every other entry down."""
    pending = [o for o in outcomes if o.created]
    deadline = time.monotonic() + ctx.timeout(len(pending))
    while pending and time.monotonic() < deadline:
        for outcome in list(pending):
            seen = poll(lambda o=outcome: _observe(ctx, o.entry.ref), timeout=0)
            if seen:
                outcome.observed, outcome.message = seen
                pending.remove(outcome)
                if outcome.entry.expect != "literal":
                    poll(lambda o=outcome: ctx.stack.crs.delete(o.entry.ref) or True, timeout=30)
        time.sleep(2)


def _names(entry: Entry) -> set[str]:
    """The server names an entry may touch: its database, that database's grant pattern, its user."""
    pattern = entry.database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return {entry.database, pattern, entry.username} - {""}


def _attribute(outcomes: list[Outcome], changes: list[tuple[str, str, snapshot.Row]]) -> list[str]:
    """Check every server change against the entries: an accepted (literal) entry may change its own
    names; a change naming a refused entry fails that entry. Returns the changes no entry explains."""
    unexplained = []
    created = [o for o in outcomes if o.created]
    for change in changes:
        row = set(change[2])
        if any(o.entry.expect == "literal" and _names(o.entry) & row for o in created):
            continue
        culprits = [o for o in created if _names(o.entry) & row]
        for outcome in culprits:
            outcome.refused = False
            outcome.note = f"it changed the server: {snapshot.describe(change)}"
        if not culprits:
            unexplained.append(snapshot.describe(change))
    return unexplained


def run_hostile(ctx: Context) -> CaseResult:
    result = CaseResult("hostile")
    canaries = ctx.stack.paths.state / "canaries"
    canaries.mkdir(parents=True, exist_ok=True)
    entries = load_corpus(CORPUS, canaries)
    bystanders = _setup(ctx)
    before_health = {h.ref: h for h in ctx.wait_healthy(bystanders)}
    before = snapshot.take(ctx.stack)
    outcomes = [_apply(ctx, entry) for entry in entries]
    _await(ctx, outcomes)
    for outcome in outcomes:
        _judge(ctx, outcome)
    changes = _attribute(outcomes, snapshot.difference(before, snapshot.take(ctx.stack)))
    _delete_entries(ctx, result, outcomes)
    left_over = snapshot.difference(before, snapshot.take(ctx.stack))
    _administrator(ctx, create=False)
    _account(ctx, result, outcomes, changes, left_over, before_health)
    ctx.check_orphans(result)
    return result


def _delete_entries(ctx: Context, result: CaseResult, outcomes: list[Outcome]) -> None:
    """Delete every created entry and wait until each is gone. One refused with ServerNotFound holds
    nothing on any server, so its finalizer must let it go without that server; one that waits for it
    instead is a problem, and a MySQLServer of that name (for the real MariaDB) is added to let it go."""
    created = [o for o in outcomes if o.created]
    for outcome in created:
        ctx.stack.crs.delete(outcome.entry.ref)
    refs = [o.entry.ref for o in created]
    poll(lambda: not any(ctx.stack.crs.exists(ref) for ref in refs), ctx.timeout(len(refs)), 2)
    blocked = [o for o in created if o.observed == "ServerNotFound" and ctx.stack.crs.exists(o.entry.ref)]
    result.details["deletion_blocked_without_server"] = [o.entry.id for o in blocked]
    result.problems += [f"{o.entry.id}: its deletion waits for a MySQLServer that does not exist" for o in blocked]
    added = sorted({str(o.entry.spec["serverRef"]["name"]) for o in blocked})
    for server in added:
        servers.create(ctx.stack, server)
    ctx.poke([o.entry.ref for o in blocked], "server-added")  # their retries are minutes apart by now
    poll(lambda: not any(ctx.stack.crs.exists(ref) for ref in refs), ctx.timeout(len(blocked)), 2)
    result.problems += [f"{ref}: still there after deletion" for ref in refs if ctx.stack.crs.exists(ref)]
    for server in added:
        if not servers.delete(ctx.stack, server, ctx.timeout(0)):
            result.problems.append(f"MySQLServer {server} (added for the blocked entries): still there after deletion")


def _account(
    ctx: Context,
    result: CaseResult,
    outcomes: list[Outcome],
    changes: list[str],
    left_over: list[tuple[str, str, snapshot.Row]],
    before_health: dict[CrRef, Any],
) -> None:
    if changes:
        # A change no entry explains could come from any accepted entry: none of them counts as refused.
        for outcome in outcomes:
            outcome.refused = outcome.refused and not outcome.created
        result.problems += [f"the server changed outside every entry's names: {c}" for c in changes]
    result.problems += [f"after deleting the entries, {snapshot.describe(change)}" for change in left_over]
    after = ctx.wait_healthy(list(before_health))
    result.problems += ctx.health.record(after)
    result.problems += [
        f"{h.ref}: bystander's password changed" for h in after if h.password != before_health[h.ref].password
    ]
    result.problems += [f"{o.entry.id}: {o.note}" for o in outcomes if not o.refused]
    kinds: dict[str, int] = {}
    for outcome in outcomes:
        kind = "schema" if outcome.api_status else "literal" if outcome.entry.expect == "literal" else "condition"
        kinds[kind] = kinds.get(kind, 0) + outcome.refused
    result.hostile_tried = len(outcomes)
    result.hostile_refused = sum(o.refused for o in outcomes)
    result.crs = len(after) + sum(o.created for o in outcomes)
    result.healthy = sum(h.healthy for h in after) + sum(o.refused for o in outcomes if o.created)
    result.details.update(
        refused_by=kinds,
        canaries_found=sum(o.entry.canary.exists() for o in outcomes),
        outcomes={o.entry.id: o.observed for o in outcomes},
    )
