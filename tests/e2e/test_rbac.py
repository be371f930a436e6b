"""Least privilege: the real operator, authenticated with its ServiceAccount's token instead of the admin's,
reconciles both kinds with exactly the rules of config/rbac (and of the bundle's CSV), and says so when one is
missing; the helper ClusterRoles give people their kind and never a Secret.

The rules are applied the way their installers apply them: config/rbac as `kustomize build config/default`
builds it (namePrefix and namespace included), the CSV's `clusterPermissions` and `permissions` as OLM turns
them into ClusterRoles and Roles bound to the CSV's ServiceAccount, next to the bundle's own RBAC manifests.
"""

from __future__ import annotations

import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
import yaml
from e2e_support import (
    GROUP,
    PLURAL,
    SERVER_PLURAL,
    VERSION,
    Stack,
    app_login,
    create_cr,
    database_exists,
    events_for,
    get_cr,
    patch_cr,
    ready_condition,
    secret_values,
    sql_rows,
    user_exists,
    wait_gone,
    wait_ready,
    wait_server,
    wait_until,
)
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from testbed.localenv import process
from testbed.localenv.config import DEFAULT_SERVER, OPERATOR_NAMESPACE, REPO_ROOT, SERVER_SECRET_NAME
from testbed.localenv.operator import OperatorProcess as Operator

RBAC_KINDS = {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
RBAC_API = "rbac.authorization.k8s.io/v1"
BUNDLE_MANIFESTS = REPO_ROOT / "bundle" / "manifests"
SAMPLE = REPO_ROOT / "config" / "samples" / "piwik.pro_v1_mysqldatabase.yaml"
# As the manager Deployment runs it (config/manager/manager.yaml); a Pod knows its namespace, we pass it.
LEADER_ELECTION_ID = "external-mysql-operator"
RECONCILE_PERIOD = "5s"
# Where core/v1 Events of cluster-scoped objects (MySQLServers) go, as client-go's recorder puts them.
CLUSTER_EVENTS_NAMESPACE = "default"


def service_account_user(account: str, namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{account}"


@dataclass(frozen=True)
class Permissions:
    """The operator's ServiceAccount and the objects that grant its rights, as one installer creates them."""

    source: str
    service_account: str
    namespace: str
    objects: list[dict[str, Any]]

    @property
    def user(self) -> str:
        return service_account_user(self.service_account, self.namespace)

    def cluster_role(self, resource: str) -> str:
        """The ClusterRole whose rules name `resource` (a resource or a non-resource URL)."""
        for obj in self.objects:
            if obj["kind"] == "ClusterRole" and any(
                resource in rule.get("resources", []) + rule.get("nonResourceURLs", []) for rule in obj["rules"]
            ):
                return str(obj["metadata"]["name"])
        raise AssertionError(f"{self.source} has no ClusterRole with a rule on {resource}")

    def helper_role(self, name: str) -> str:
        """The name of the helper ClusterRole `name` of config/rbac, as this installer prefixes it."""
        for obj in self.objects:
            if obj["kind"] == "ClusterRole" and obj["metadata"]["name"].endswith(f"-{name}"):
                return str(obj["metadata"]["name"])
        raise AssertionError(f"{self.source} has no ClusterRole {name}")


def _kustomize(stack: Stack, folder: str) -> list[dict[str, Any]]:
    built = subprocess.run(
        [str(stack.paths.bin / "kustomize"), "build", str(REPO_ROOT / folder)],
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(built) if doc]


def config_rbac_permissions(stack: Stack) -> Permissions:
    """config/rbac as `make deploy` installs it: the namespace, ServiceAccount and RBAC of config/default."""
    built = _kustomize(stack, "config/default")
    objects = [doc for doc in built if doc["kind"] in RBAC_KINDS | {"Namespace"}]
    account = next(doc for doc in built if doc["kind"] == "ServiceAccount")["metadata"]
    return Permissions("config/rbac", account["name"], account["namespace"], objects)


def _olm_role_and_binding(role_kind: str, name: str, rules: list[Any], account: str, namespace: str) -> list[Any]:
    namespaced = {"namespace": namespace} if role_kind == "Role" else {}
    subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    return [
        {"apiVersion": RBAC_API, "kind": role_kind, "metadata": {"name": name, **namespaced}, "rules": rules},
        {
            "apiVersion": RBAC_API,
            "kind": f"{role_kind}Binding",
            "metadata": {"name": name, **namespaced},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
            "subjects": [subject],
        },
    ]


def csv_permissions(namespace: str) -> Permissions:
    """The bundle as OLM installs it into `namespace`: a (Cluster)Role and binding per CSV permissions entry,
    a ServiceAccount for the name they share, and the RBAC manifests the bundle ships beside the CSV."""
    csv_files = sorted(BUNDLE_MANIFESTS.glob("*.clusterserviceversion.yaml"))
    if not csv_files:
        pytest.skip(f"no bundle to test: {BUNDLE_MANIFESTS}/*.clusterserviceversion.yaml is absent (run `make bundle`)")
    csv = yaml.safe_load(csv_files[0].read_text())
    install = csv["spec"]["install"]["spec"]
    objects: list[dict[str, Any]] = []
    accounts = set()
    for scope, role_kind in (("clusterPermissions", "ClusterRole"), ("permissions", "Role")):
        for index, entry in enumerate(install.get(scope) or []):
            accounts.add(entry["serviceAccountName"])
            name = f"{csv['metadata']['name']}-{role_kind.lower()}-{index}"
            objects += _olm_role_and_binding(role_kind, name, entry["rules"], entry["serviceAccountName"], namespace)
    assert len(accounts) == 1, f"{csv_files[0].name} names {len(accounts)} ServiceAccounts: {sorted(accounts)}"
    account = accounts.pop()
    for manifest in sorted(BUNDLE_MANIFESTS.glob("*.yaml")):
        objects += [doc for doc in yaml.safe_load_all(manifest.read_text()) if doc and doc["kind"] in RBAC_KINDS]
    head = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, "namespace": namespace}},
    ]
    return Permissions(f"bundle CSV {csv_files[0].name}", account, namespace, head + objects)


def token_for(stack: Stack, account: str, namespace: str) -> str:
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=7200))
    return str(stack.core.create_namespaced_service_account_token(account, namespace, request).status.token)


def service_account_kubeconfig(stack: Stack, account: str, namespace: str, path: Path) -> Path:
    """A kubeconfig for the ServiceAccount: the admin kubeconfig's server and CA, a TokenRequest's token."""
    cluster = yaml.safe_load(stack.paths.kubeconfig.read_text())["clusters"][0]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": account, "user": {"token": token_for(stack, account, namespace)}}],
        "contexts": [{"name": account, "context": {"cluster": cluster["name"], "user": account}}],
        "current-context": account,
    }
    path.write_text(yaml.safe_dump(kubeconfig, sort_keys=False))
    path.chmod(0o600)
    return path


def allowed(stack: Stack, user: str, verb: str, resource: str, group: str, namespace: str) -> bool:
    """Ask the API server's authorizer whether the ServiceAccount `user` may do this (SubjectAccessReview).

    `resource` may name a subresource (`mysqlservers/status`); `namespace` is "" for a cluster-scoped
    resource, and for a namespaced one means every namespace.
    """
    account_namespace = user.split(":")[2]
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{account_namespace}", "system:authenticated"]
    resource, _, subresource = resource.partition("/")
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user,
            groups=groups,
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, subresource=subresource, group=group, namespace=namespace
            ),
        )
    )
    return bool(client.AuthorizationV1Api(stack.api).create_subject_access_review(review).status.allowed)


def forget_on_server(stack: Stack, name: str) -> None:
    """Drop what an earlier test left behind under `name` (the Retain policy keeps databases and users)."""
    sql_rows(stack, f"DROP DATABASE IF EXISTS `{name}`")
    sql_rows(stack, "DROP USER IF EXISTS %s@'%%'", (name,))


def _kubectl(stack: Stack, *args: str, stdin: str) -> None:
    result = stack.kubectl(*args, stdin=stdin, check=False)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"


@pytest.fixture(scope="module", params=["config/rbac", "bundle"])
def permissions(request: pytest.FixtureRequest, stack: Stack) -> Iterator[Permissions]:
    """The ServiceAccount and its rules from one source, applied for the module's tests and removed after."""
    operator_namespace = config_rbac_permissions(stack).namespace
    granted = config_rbac_permissions(stack) if request.param == "config/rbac" else csv_permissions(operator_namespace)
    _kubectl(stack, "apply", "-f", "-", stdin=yaml.safe_dump_all(granted.objects))
    try:
        yield granted
    finally:
        # The Namespace stays: it holds the credentials and CA Secrets of the local environment's MySQLServer.
        removable = [obj for obj in granted.objects if obj["kind"] != "Namespace"]
        _kubectl(stack, "delete", "--ignore-not-found", "-f", "-", stdin=yaml.safe_dump_all(removable))


def _short_period_watches(stack: Stack) -> Path:
    """watches.yaml with the short reconcile period the session operator has too (conftest.py)."""
    watches = yaml.safe_load((REPO_ROOT / "watches.yaml").read_text())
    for watch in watches:
        watch["reconcilePeriod"] = RECONCILE_PERIOD
    path = stack.paths.state / "watches-rbac.yaml"
    path.write_text(yaml.safe_dump(watches))
    return path


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return process.free_port()


@pytest.fixture(scope="module")
def operator_as_service_account(
    stack: Stack, permissions: Permissions, metrics_port: int, request: pytest.FixtureRequest
) -> Iterator[Operator]:
    """The real operator with only the ServiceAccount's token, in place of the session's admin operator.

    ansible-operator binds fixed ports, so the session's operator (when it runs) is stopped while this one
    runs and started again afterwards, also after a failure.
    """
    kubeconfig = service_account_kubeconfig(
        stack, permissions.service_account, permissions.namespace, stack.paths.state / "kubeconfig-operator-sa"
    )
    whoami = stack.kubectl("--kubeconfig", str(kubeconfig), "auth", "whoami", "-o=jsonpath={.status.userInfo.username}")
    assert whoami.stdout == permissions.user, f"the operator's kubeconfig authenticates as {whoami.stdout!r}"
    paused: Operator | None = None
    if process.pid_of(stack.paths, "ansible-operator") is not None:
        paused = request.getfixturevalue("running_operator")
        paused.stop()
    op = Operator(stack.paths, watches=_short_period_watches(stack), name="ansible-operator-sa")
    try:
        op.start(
            extra_env={"KUBECONFIG": str(kubeconfig), "OPERATOR_NAMESPACE": permissions.namespace},
            args=[
                "--leader-elect",
                f"--leader-election-id={LEADER_ELECTION_ID}",
                f"--leader-election-namespace={permissions.namespace}",
                # As config/default serves them: HTTPS, and only to callers RBAC allows to get /metrics.
                f"--metrics-bind-address=127.0.0.1:{metrics_port}",
                "--metrics-secure",
                "--metrics-require-rbac",
            ],
        )
        yield op
    finally:
        op.stop()
        if paused is not None:
            paused.start()


pytestmark = pytest.mark.usefixtures("operator_as_service_account")


def server_events(stack: Stack, name: str) -> list[client.CoreV1Event]:
    events = stack.core.list_namespaced_event(CLUSTER_EVENTS_NAMESPACE, field_selector=f"involvedObject.name={name}")
    return [e for e in events.items if e.involved_object.kind == "MySQLServer"]


def test_default_server_becomes_connected_and_records_its_event(stack: Stack) -> None:
    """The mysqlserver role with the ServiceAccount's rights reads the credentials Secret in the operator's
    namespace, connects and writes status; its Event shows the events rule works (events are best effort)."""
    known = {e.metadata.name for e in server_events(stack, DEFAULT_SERVER)}
    # Whatever an earlier operator reported goes, so that only this one can report Connected again.
    wiped = stack.custom.patch_cluster_custom_object_status(
        GROUP, VERSION, SERVER_PLURAL, DEFAULT_SERVER, {"status": None}
    )
    assert not wiped.get("status"), wiped
    status = wait_server(stack, DEFAULT_SERVER, "Connected")["status"]
    assert status["flavor"] == "mariadb" and status["missingPrivileges"] == [], status
    wait_until(
        lambda: [
            e for e in server_events(stack, DEFAULT_SERVER) if e.metadata.name not in known and e.reason == "Connected"
        ],
        30,
        f"a Connected Event of MySQLServer {DEFAULT_SERVER} in namespace {CLUSTER_EVENTS_NAMESPACE}",
    )


def test_sample_becomes_ready_and_its_secret_logs_in(stack: Stack, namespace: str) -> None:
    sample = yaml.safe_load(SAMPLE.read_text())
    name = sample["metadata"]["name"]
    forget_on_server(stack, name)
    stack.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, sample)
    cr = wait_ready(stack, namespace, name)
    assert cr["status"]["secretName"] == name
    conn = app_login(stack, secret_values(stack, namespace, name))
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE(), CURRENT_USER()")
        assert cur.fetchone() == (name, f"{name}@%")
    conn.close()
    # Events are written with the operator's own rights too.
    assert "Created" in [e.reason for e in events_for(stack, namespace, name)]


def test_rotation_sets_new_password(stack: Stack, namespace: str) -> None:
    forget_on_server(stack, "sa-rotated")
    create_cr(stack, namespace, "sa-rotated", {"deletionPolicy": "Delete"})
    wait_ready(stack, namespace, "sa-rotated")
    old = secret_values(stack, namespace, "sa-rotated")
    patch_cr(stack, namespace, "sa-rotated", {"metadata": {"annotations": {"piwik.pro/rotate-password": "1"}}})
    new = wait_until(
        lambda: (v := secret_values(stack, namespace, "sa-rotated"))["password"] != old["password"] and v,
        60,
        "the Secret to carry a rotated password",
    )
    app_login(stack, new).close()
    with pytest.raises(pymysql.err.OperationalError):
        app_login(stack, old)


def test_deleted_secret_is_written_again(stack: Stack, namespace: str) -> None:
    forget_on_server(stack, "sa-lost-secret")
    create_cr(stack, namespace, "sa-lost-secret", {"deletionPolicy": "Delete"})
    wait_ready(stack, namespace, "sa-lost-secret")
    stack.core.delete_namespaced_secret("sa-lost-secret", namespace)
    values = wait_until(
        lambda: secret_values(stack, namespace, "sa-lost-secret"), 120, "the deleted Secret to be written again"
    )
    app_login(stack, values).close()


def test_delete_policy_drops_database_and_user_through_the_finalizer(stack: Stack, namespace: str) -> None:
    forget_on_server(stack, "sa-dropped")
    create_cr(stack, namespace, "sa-dropped", {"deletionPolicy": "Delete"})
    cr = wait_ready(stack, namespace, "sa-dropped")
    assert "piwik.pro/finalizer" in cr["metadata"]["finalizers"]
    stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "sa-dropped")
    wait_gone(stack, namespace, "sa-dropped")
    assert not database_exists(stack, "sa-dropped") and not user_exists(stack, "sa-dropped")


def test_leader_election_lease_is_held(stack: Stack, permissions: Permissions) -> None:
    lease = client.CoordinationV1Api(stack.api).read_namespaced_lease(LEADER_ELECTION_ID, permissions.namespace)
    assert lease.spec.holder_identity


def _get_metrics(port: int, token: str) -> int:
    context = ssl.create_default_context()
    # ansible-operator serves /metrics with a self-signed certificate unless one is mounted.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(f"https://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_metrics_are_served_only_to_a_metrics_reader(
    stack: Stack, permissions: Permissions, namespace: str, metrics_port: int
) -> None:
    """The operator checks scrapers' tokens and RBAC itself, with its tokenreviews/subjectaccessreviews rules."""
    reader_role = permissions.cluster_role("/metrics")
    for name in ("scraper", "stranger"):
        stack.core.create_namespaced_service_account(namespace, client.V1ServiceAccount(metadata={"name": name}))
    binding = {
        "apiVersion": RBAC_API,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{namespace}-scraper"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": reader_role},
        "subjects": [{"kind": "ServiceAccount", "name": "scraper", "namespace": namespace}],
    }
    rbac = client.RbacAuthorizationV1Api(stack.api)
    rbac.create_cluster_role_binding(binding)
    try:
        scraper, stranger = token_for(stack, "scraper", namespace), token_for(stack, "stranger", namespace)
        wait_until(lambda: _get_metrics(metrics_port, scraper) == 200, 30, "/metrics to answer the scraper with 200")
        assert _get_metrics(metrics_port, stranger) == 403
    finally:
        rbac.delete_cluster_role_binding(binding["metadata"]["name"])


# (verb, resource, API group, namespace) for SubjectAccessReviews: TENANT stands for the test's namespace,
# "" is cluster scope (cluster-scoped resources, or a namespaced resource in every namespace).
TENANT = "<the test's namespace>"
OPERATOR_MAY = (
    # Tenancy: a MySQLServer's namespaceSelector is matched against every namespace's labels.
    ("list", "namespaces", "", ""),
    ("watch", "namespaces", "", ""),
    ("patch", "mysqlservers/status", "piwik.pro", ""),
    # The server's revision annotation on its MySQLDatabases.
    ("patch", "mysqldatabases", "piwik.pro", TENANT),
    ("create", "events", "", CLUSTER_EVENTS_NAMESPACE),
)
OPERATOR_MAY_NOT = (
    ("delete", "secrets", "", TENANT),
    ("create", "pods", "", TENANT),
    ("create", "mysqldatabases", "piwik.pro", TENANT),
    ("delete", "mysqldatabases", "piwik.pro", TENANT),
    # Platform teams own MySQLServers; the operator only reads them and writes their status and finalizer.
    ("create", "mysqlservers", "piwik.pro", ""),
    ("delete", "mysqlservers", "piwik.pro", ""),
    *((verb, "namespaces", "", "") for verb in ("create", "update", "patch", "delete")),
    ("update", "customresourcedefinitions", "apiextensions.k8s.io", ""),
    ("create", "clusterrolebindings", "rbac.authorization.k8s.io", ""),
)


def _review(stack: Stack, user: str, checks: tuple[tuple[str, str, str, str], ...], namespace: str) -> dict[str, bool]:
    """Each check as `verb resource in namespace` with the authorizer's answer for `user`."""
    answers = {}
    for verb, resource, group, where in checks:
        where = namespace if where == TENANT else where
        answers[f"{verb} {resource} in {where or 'the cluster'}"] = allowed(stack, user, verb, resource, group, where)
    return answers


def test_service_account_has_the_rights_its_roles_use(stack: Stack, permissions: Permissions, namespace: str) -> None:
    refused = [what for what, ok in _review(stack, permissions.user, OPERATOR_MAY, namespace).items() if not ok]
    assert not refused, f"{permissions.source}: the operator may not {refused}"


def test_service_account_has_no_rights_beyond_its_rules(stack: Stack, permissions: Permissions, namespace: str) -> None:
    granted = [what for what, ok in _review(stack, permissions.user, OPERATOR_MAY_NOT, namespace).items() if ok]
    assert not granted, f"{permissions.source}: the operator may {granted}"


SERVER_WRITES = tuple((verb, "mysqlservers", "piwik.pro", "") for verb in ("create", "update", "patch", "delete"))
# None of the helper ClusterRoles reads Secrets, least of all the servers' credentials in the operator's namespace.
NO_SECRETS = (
    *((verb, "secrets", "", OPERATOR_NAMESPACE) for verb in ("get", "list", "watch")),
    ("list", "secrets", "", ""),
)
# The helper ClusterRoles of config/rbac, for people and never for the operator: what each must allow (so a
# binding that grants nothing cannot pass) and what it must not.
HELPER_ROLES = {
    "mysqldatabase-editor-role": (
        (("create", "mysqldatabases", "piwik.pro", TENANT), ("delete", "mysqldatabases", "piwik.pro", TENANT)),
        (*NO_SECRETS, *SERVER_WRITES, ("patch", "mysqldatabases/status", "piwik.pro", TENANT)),
    ),
    "mysqldatabase-viewer-role": (
        (("list", "mysqldatabases", "piwik.pro", TENANT), ("watch", "mysqldatabases", "piwik.pro", TENANT)),
        (
            *NO_SECRETS,
            *SERVER_WRITES,
            *((v, "mysqldatabases", "piwik.pro", TENANT) for v in ("create", "patch", "delete")),
        ),
    ),
    "mysqlserver-editor-role": (
        (("create", "mysqlservers", "piwik.pro", ""), ("delete", "mysqlservers", "piwik.pro", "")),
        # Status is what the operator observed.
        (*NO_SECRETS, ("patch", "mysqlservers/status", "piwik.pro", "")),
    ),
    "mysqlserver-viewer-role": (
        (("list", "mysqlservers", "piwik.pro", ""), ("watch", "mysqlservers", "piwik.pro", "")),
        (*NO_SECRETS, *SERVER_WRITES, ("patch", "mysqlservers/status", "piwik.pro", "")),
    ),
}


@contextmanager
def _bound_to(stack: Stack, role: str, account: str, namespace: str, cluster_wide: bool) -> Iterator[str]:
    """`role` bound to a new ServiceAccount, everywhere or only in `namespace`; yields its user name."""
    stack.core.create_namespaced_service_account(namespace, client.V1ServiceAccount(metadata={"name": account}))
    binding = {
        "apiVersion": RBAC_API,
        "kind": "ClusterRoleBinding" if cluster_wide else "RoleBinding",
        "metadata": {"name": f"{namespace}-{account}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }
    rbac = client.RbacAuthorizationV1Api(stack.api)
    if cluster_wide:
        rbac.create_cluster_role_binding(binding)
    else:
        rbac.create_namespaced_role_binding(namespace, binding)  # goes with the namespace
    try:
        yield service_account_user(account, namespace)
    finally:
        if cluster_wide:
            rbac.delete_cluster_role_binding(binding["metadata"]["name"])


@pytest.mark.parametrize("role", sorted(HELPER_ROLES))
def test_helper_role_grants_its_kind_and_no_secrets(
    stack: Stack, permissions: Permissions, namespace: str, role: str
) -> None:
    may, may_not = HELPER_ROLES[role]
    # Cluster-wide, the strongest binding an admin may give it.
    with _bound_to(stack, permissions.helper_role(role), "helper", namespace, cluster_wide=True) as user:
        wait_until(lambda: all(_review(stack, user, may, namespace).values()), 30, f"{role} to grant {may}")
        granted = [what for what, ok in _review(stack, user, may_not, namespace).items() if ok]
    assert not granted, f"{permissions.source}: {role} may {granted}"


def test_tenant_with_mysqldatabase_editor_cannot_read_the_server_credentials(
    stack: Stack, permissions: Permissions, namespace: str
) -> None:
    """As an application team gets it: mysqldatabase-editor in its own namespace, used with its own token."""
    role = permissions.helper_role("mysqldatabase-editor-role")
    with _bound_to(stack, role, "tenant", namespace, cluster_wide=False):
        kubeconfig = service_account_kubeconfig(stack, "tenant", namespace, stack.paths.state / "kubeconfig-tenant")
        tenant = config.new_client_from_config(str(kubeconfig))
        try:
            wait_until(
                lambda: client.CustomObjectsApi(tenant).list_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL
                ),
                30,
                "the tenant to list its MySQLDatabases",
            )
            with pytest.raises(ApiException) as refused:
                client.CoreV1Api(tenant).read_namespaced_secret(SERVER_SECRET_NAME, permissions.namespace)
        finally:
            tenant.close()
    assert refused.value.status == 403, refused.value


def _without_verb(rules: list[dict[str, Any]], resource: str, verb: str) -> list[dict[str, Any]]:
    return [
        {**rule, "verbs": [v for v in rule["verbs"] if v != verb]} if resource in rule.get("resources", []) else rule
        for rule in rules
    ]


def test_missing_secret_create_rule_is_reported_on_the_cr(
    stack: Stack, permissions: Permissions, namespace: str
) -> None:
    """Without `create` on secrets the reconcile stops at the Secret step, and the CR says what was refused."""
    rbac = client.RbacAuthorizationV1Api(stack.api)
    role = permissions.cluster_role("secrets")
    rules = stack.api.sanitize_for_serialization(rbac.read_cluster_role(role).rules)
    forget_on_server(stack, "sa-forbidden")
    rbac.patch_cluster_role(role, {"rules": _without_verb(rules, "secrets", "create")})
    try:
        wait_until(
            lambda: not allowed(stack, permissions.user, "create", "secrets", "", namespace), 30, "RBAC to refuse"
        )
        create_cr(stack, namespace, "sa-forbidden", {"deletionPolicy": "Delete"})
        condition = wait_until(
            lambda: (c := ready_condition(get_cr(stack, namespace, "sa-forbidden"))).get("status") == "False" and c,
            90,
            "Ready=False on the MySQLDatabase without the secrets/create rule",
        )
    finally:
        rbac.patch_cluster_role(role, {"rules": rules})
    # The API's own words, quoted in the message (compared without the quoting's backslashes and quotes).
    plain = condition["message"].replace("\\", "").replace('"', "")
    assert f"secrets is forbidden: User {permissions.user} cannot create resource secrets" in plain, condition
    # With the rule back, a retry (ansible-operator's backoff) completes the reconcile.
    wait_ready(stack, namespace, "sa-forbidden", timeout=180)
