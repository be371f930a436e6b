"""The hostile corpus: every entry of hostile_corpus.yaml is applied as a MySQLDatabase (or, with
`kind: MySQLServer`, as a MySQLServer) and must be refused.

Refused means: the API rejects it (4xx: Kubernetes' own validation of names, labels and annotations, or
our CRD's schema and CEL rules, which count as the operator's), or the operator reports Ready=False with
the expected reason, or, for free text the operator only passes on (annotations, secretTemplate values,
pruned unknown fields), the CR works and the text arrives verbatim, never evaluated. In every case no
canary file appears (each entry's `lookup('pipe', 'touch ...')` names its own; canaries.py looks after
every phase, deletion included), and nothing of another CR or of the server's system schemas changes
(snapshots before, after and after deletion). Entries that name no server use the server under test.
"""

from __future__ import annotations

import base64
import functools
import json
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

from ..kube_api import KIND, SERVER_KIND, is_current, ready_condition
from ..localenv.config import OPERATOR_NAMESPACE, SERVER_SECRET_NAME, State
from . import canaries, crs, servers, snapshot
from .context import Context
from .crs import CrRef, poll
from .health import sql_rows
from .report import CaseResult

log = logging.getLogger(__name__)
CORPUS = Path(__file__).with_name("hostile_corpus.yaml")
NAMESPACE, OTHER_NAMESPACE = "faults-hostile", "faults-hostile-other"
BYSTANDERS = ("bystander", "hxwild")  # hxwild: what a `_` wildcard in h_wild would also match
DBA = "faults_dba"
CANARY = "@CANARY@"
# Placeholders for what differs between the server profiles, and their values for `default`.
ADMIN_USER, SERVER_SECRET = "@ADMIN_USER@", "@SERVER_SECRET@"
DEFAULT_VALUES = {ADMIN_USER: State().mysql_admin_user, SERVER_SECRET: SERVER_SECRET_NAME}
ROTATED_ANNOTATION = "piwik.pro/password-rotation"
ROTATE_ANNOTATION = "piwik.pro/rotate-password"
PLACEHOLDER = re.compile(r"\{(host|port|database|username|password)\}")


class _CorpusLoader(yaml.SafeLoader):
    """YAML with `!repeat [text, count]` (long strings) and `!keys [prefix, count, value]` (big maps)."""


def _delete(ctx: Context, ref: CrRef) -> bool:
    """Delete one CR (for poll, which retries on an API error)."""
    ctx.stack.crs.delete(ref)
    return True


def _repeat(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> str:
    text, count = loader.construct_sequence(node)
    return str(text) * int(count)


def _keys(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> dict[str, Any]:
    prefix, count, value = loader.construct_sequence(node, deep=True)
    return {f"{prefix}{index}": value for index in range(int(count))}


_CorpusLoader.add_constructor("!repeat", _repeat)
_CorpusLoader.add_constructor("!keys", _keys)


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, text in values.items():
            value = value.replace(placeholder, text)
        return value
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {_fill(key, values): _fill(item, values) for key, item in value.items()}
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

    def manifest(self, server_ref: dict[str, Any] | None = None) -> dict[str, Any]:
        """As applied: a MySQLDatabase entry's mapping spec gets deletionPolicy Delete and `server_ref` (the
        server under test) unless it sets its own."""
        spec = self.spec
        if not self.ref.is_server and isinstance(spec, dict):
            spec = {"deletionPolicy": "Delete", **({} if "serverRef" in spec else server_ref or {}), **spec}
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


def load_corpus(path: Path, canary_folder: Path, values: dict[str, str] | None = None) -> list[Entry]:
    """The entries, with @CANARY@ as each one's canary file and the server profile's `values` (default:
    DEFAULT_VALUES) for the other placeholders."""
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_CorpusLoader)  # noqa: S506 - SafeLoader subclass
    entries = []
    for index, item in enumerate(raw["entries"]):
        canary = canary_folder / item["id"]
        item = _fill(item, {**(values or DEFAULT_VALUES), CANARY: str(canary)})
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
    refuser: str = ""  # who refused it at the API: "kubernetes" or "operator" (our CRD)


def api_refuser(body: str | None) -> str:
    """Who refused a create, from the API's Status body: "kubernetes" when every cause names metadata
    (Kubernetes' own validation of names, labels and annotations: our CRD validates no metadata), else
    "operator" (our CRD's schema and CEL rules, which count as the operator's refusals)."""
    try:
        status = json.loads(body or "")
    except ValueError:
        return "operator"
    causes = (status.get("details") or {}).get("causes") or [] if isinstance(status, dict) else []
    fields = [str(cause.get("field", "")) for cause in causes if isinstance(cause, dict)]
    return "kubernetes" if fields and all(field.startswith("metadata.") for field in fields) else "operator"


def target_values(ctx: Context) -> dict[str, str]:
    target = ctx.stack.target
    return {ADMIN_USER: target.admin_user, SERVER_SECRET: target.credentials}


def _setup(ctx: Context) -> list[CrRef]:
    """Bystander CRs and Secrets the corpus aims at."""
    core = ctx.stack.crs.core
    for namespace in (NAMESPACE, OTHER_NAMESPACE):
        ctx.stack.crs.ensure_namespace(namespace)
    target = ctx.stack.target
    planted = [
        # Admin credentials in the tenant's own namespace: no MySQLServer may read them.
        (NAMESPACE, "evil-server", {"username": target.admin_user, "password": "not-the-password"}),
        # Working admin credentials in the operator's namespace that no MySQLServer names: never used either.
        (OPERATOR_NAMESPACE, "rogue", {"username": target.admin_user, "password": target.admin_password}),
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
    # What simple_password_check on the hardened server demands: a digit, both cases, another character.
    password = "Dba-7" + secrets.token_urlsafe(24)
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
        ctx.stack.crs.create(entry.manifest(ctx.stack.target.server_ref()))
        outcome.created = True
    except ApiException as err:
        outcome.api_status = err.status
        outcome.observed = f"API {err.status}"
        outcome.refuser = api_refuser(err.body)
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


def _literal_problem(ctx: Context, entry: Entry) -> str:
    """'' when a literal entry's CR is healthy and its text arrived verbatim; else what is wrong."""
    health = ctx.health.wait_healthy([entry.ref], 120)[0]
    return health.problem if not health.healthy else _verbatim(ctx, entry)


def judge(outcome: Outcome, literal_problem: str = "") -> None:
    """Whether the entry was refused, from what was observed (`literal_problem`: what the check of a
    literal entry's CR found wrong). Canaries and server changes can still overturn it."""
    expect = outcome.entry.expect
    if expect == "rejected":
        outcome.refused = outcome.api_status in (400, 422)
    elif not outcome.created:
        outcome.note = f"the API refused it ({outcome.api_status}) but {expect} was expected"
    elif expect == "literal":
        outcome.note = literal_problem
        outcome.refused = not literal_problem
    else:
        wanted = [expect] if isinstance(expect, str) else list(expect)
        outcome.refused = outcome.observed in wanted and bool(outcome.message.strip())
    if not outcome.refused and not outcome.note:
        outcome.note = f"expected {expect}, got {outcome.observed or 'nothing'}"


def overturn_by_canaries(outcomes: list[Outcome], found: dict[str, str]) -> None:
    """An entry whose canary appeared (entry id -> the phase after which it was found) was not refused:
    something executed its payload, whatever else was observed."""
    for outcome in outcomes:
        phase = found.get(outcome.entry.id)
        if phase:
            outcome.refused = False
            outcome.note = f"its canary file appeared after {phase}: something executed the payload"


def tally(outcomes: list[Outcome]) -> dict[str, int]:
    """Refused entries by who refused them: Kubernetes' metadata validation, our CRD's schema and CEL
    rules ("schema", the operator's), the operator's reconcile ("condition"), or accepted and passed on
    verbatim ("literal")."""
    kinds = dict.fromkeys(("kubernetes", "schema", "condition", "literal"), 0)
    for outcome in outcomes:
        if outcome.api_status:
            kind = "kubernetes" if outcome.refuser == "kubernetes" else "schema"
        else:
            kind = "literal" if outcome.entry.expect == "literal" else "condition"
        kinds[kind] += outcome.refused
    return kinds


def _await(ctx: Context, outcomes: list[Outcome]) -> None:
    """Wait for each created entry's outcome. A refused one is deleted at once: ansible-operator would
    retry it with backoff for as long as it exists, and that load slows every other entry down."""
    pending = [o for o in outcomes if o.created]
    deadline = time.monotonic() + ctx.timeout(len(pending))
    while pending and time.monotonic() < deadline:
        for outcome in list(pending):
            seen = poll(functools.partial(_observe, ctx, outcome.entry.ref), timeout=0)
            if seen:
                outcome.observed, outcome.message = seen
                pending.remove(outcome)
                if outcome.entry.expect != "literal":
                    poll(functools.partial(_delete, ctx, outcome.entry.ref), timeout=30)
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
    folder = canaries.folder(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    entries = load_corpus(CORPUS, folder, target_values(ctx))
    bystanders = _setup(ctx)
    before_health = {h.ref: h for h in ctx.wait_healthy(bystanders)}
    before = snapshot.take(ctx.stack)
    outcomes = [_apply(ctx, entry) for entry in entries]
    canaries.check(ctx, "creating the hostile entries")
    _await(ctx, outcomes)
    canaries.check(ctx, "reconciling the hostile entries")
    for outcome in outcomes:
        literal = outcome.created and outcome.entry.expect == "literal"
        judge(outcome, _literal_problem(ctx, outcome.entry) if literal else "")
    canaries.check(ctx, "checking the accepted hostile entries")
    changes = _attribute(outcomes, snapshot.difference(before, snapshot.take(ctx.stack)))
    _delete_entries(ctx, result, outcomes)
    canaries.check(ctx, "deleting the hostile entries (their finalizer runs)")
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
    overturn_by_canaries(outcomes, ctx.findings.canaries)
    result.problems += [f"{o.entry.id}: {o.note}" for o in outcomes if not o.refused]
    kinds = tally(outcomes)
    result.hostile_tried = len(outcomes)
    result.hostile_refused = sum(o.refused for o in outcomes)
    result.refused_by_kubernetes = kinds["kubernetes"]
    result.crs = len(after) + sum(o.created for o in outcomes)
    result.healthy = sum(h.healthy for h in after) + sum(o.refused for o in outcomes if o.created)
    result.details.update(
        refused_by=kinds,
        canaries_found=dict(ctx.findings.canaries),
        outcomes={o.entry.id: o.observed for o in outcomes},
    )
