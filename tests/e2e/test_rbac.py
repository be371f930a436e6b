"""Least privilege: the real operator, authenticated with its ServiceAccount's token instead of the admin's,
reconciles with exactly the rules of config/rbac (and of the bundle's CSV), and says so when one is missing.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
import yaml
from e2e_support import (
    GROUP,
    PLURAL,
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
    wait_until,
)
from kubernetes import client

from external_mysql_operator.localenv import process
from external_mysql_operator.localenv.config import REPO_ROOT
from external_mysql_operator.localenv.operator import OperatorProcess as Operator

RBAC_KINDS = {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
RBAC_API = "rbac.authorization.k8s.io/v1"
BUNDLE_MANIFESTS = REPO_ROOT / "bundle" / "manifests"
SAMPLE = REPO_ROOT / "config" / "samples" / "piwik.pro_v1_mysqldatabase.yaml"
# As the manager Deployment runs it (config/manager/manager.yaml); a Pod knows its namespace, we pass it.
LEADER_ELECTION_ID = "external-mysql-operator"
RECONCILE_PERIOD = "5s"


@dataclass(frozen=True)
class Permissions:
    """The operator's ServiceAccount and the objects that grant its rights, as one installer creates them."""

    source: str
    service_account: str
    namespace: str
    objects: list[dict[str, Any]]

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def cluster_role(self, resource: str) -> str:
        """The ClusterRole whose rules name `resource` (a resource or a non-resource URL)."""
        for obj in self.objects:
            if obj["kind"] == "ClusterRole" and any(
                resource in rule.get("resources", []) + rule.get("nonResourceURLs", []) for rule in obj["rules"]
            ):
                return str(obj["metadata"]["name"])
        raise AssertionError(f"{self.source} has no ClusterRole with a rule on {resource}")


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


def service_account_kubeconfig(stack: Stack, permissions: Permissions, path: Path) -> Path:
    """A kubeconfig for the ServiceAccount: the admin kubeconfig's server and CA, a TokenRequest's token."""
    cluster = yaml.safe_load(stack.paths.kubeconfig.read_text())["clusters"][0]
    user = permissions.service_account
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": user, "user": {"token": token_for(stack, user, permissions.namespace)}}],
        "contexts": [{"name": "operator", "context": {"cluster": cluster["name"], "user": user}}],
        "current-context": "operator",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def allowed(stack: Stack, permissions: Permissions, verb: str, resource: str, group: str, namespace: str) -> bool:
    """Ask the API server's authorizer whether the ServiceAccount may do this (SubjectAccessReview)."""
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{permissions.namespace}", "system:authenticated"]
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=permissions.user,
            groups=groups,
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, group=group, namespace=namespace
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
        # The Namespace stays: it holds the local environment's server Secret.
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
    kubeconfig = service_account_kubeconfig(stack, permissions, stack.paths.state / "kubeconfig-operator-sa")
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


def test_service_account_has_no_rights_beyond_its_rules(stack: Stack, permissions: Permissions, namespace: str) -> None:
    for verb, resource, group in (
        ("delete", "secrets", ""),
        ("create", "pods", ""),
        ("create", "mysqldatabases", "piwik.pro"),
        ("delete", "mysqldatabases", "piwik.pro"),
        ("update", "customresourcedefinitions", "apiextensions.k8s.io"),
        ("create", "clusterrolebindings", "rbac.authorization.k8s.io"),
    ):
        assert not allowed(stack, permissions, verb, resource, group, namespace), f"may {verb} {resource}"


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
        wait_until(lambda: not allowed(stack, permissions, "create", "secrets", "", namespace), 30, "RBAC to refuse")
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
