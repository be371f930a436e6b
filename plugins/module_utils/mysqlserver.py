# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MySQLServer objects as the modules read them: the connection, tenancy and readiness.

A MySQLServer names its Secrets; they are read only in the operator's own namespace, whatever the
object says, so a MySQLServer can never make the operator read another namespace's Secret.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ansible.module_utils.mysqldatabase_k8s import K8sApiError, K8sClient, resource_path
from ansible.module_utils.mysqldatabase_secrets import decode_key

API_VERSION = "piwik.pro/v1"
PLURAL = "mysqlservers"
DEFAULT_SERVER = "default"
# The annotation through which a MySQLServer makes its MySQLDatabases reconcile (watchAnnotationsChanges).
REVISION_ANNOTATION = "piwik.pro/server-revision"
DEFAULT_PORT = 3306
# Ready=False reasons of a MySQLDatabase that a change on the server side can heal, so it is tried again
# at each server check. Others (InvalidSpec, Conflict, ...) heal only by editing the CR, which
# reconciles it anyway; retrying them every check would cost a reconcile each for nothing.
SERVER_SIDE_REASONS = frozenset(
    {
        "ServerNotFound",
        "ServerNotReady",
        "ServerNotAllowed",
        "QuotaExceeded",
        "CredentialsNotFound",
        "ServerUnreachable",
        "AdminAuthFailed",
        "AdminPrivilegesMissing",
        "TLSRequired",
        "TLSFailed",
        "ServerError",
        "ReconcileFailed",
    }
)


class Refusal(Exception):
    """What the Ready condition says when a server cannot be used; never carries a value of a Secret."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def read_server(client: K8sClient, name: str) -> dict[str, Any]:
    try:
        return client.get(resource_path(API_VERSION, PLURAL, None, name))
    except K8sApiError as error:
        if error.status == 404:
            raise Refusal(
                "ServerNotFound",
                f"No MySQLServer {name!r}; the platform team creates it (kubectl get mysqlservers lists them), "
                "or set spec.serverRef.name to one that exists.",
            ) from None
        raise


def ready_condition(obj: Mapping[str, Any]) -> dict[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition
    return {}


def require_ready(obj: Mapping[str, Any]) -> None:
    """Refuse a server whose last check failed or has not seen its current spec yet."""
    name = (obj.get("metadata") or {}).get("name", "")
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        raise Refusal(
            "ServerNotReady",
            f"MySQLServer {name} is being deleted; it takes no new databases. Nothing was changed on the server.",
        )
    condition = ready_condition(obj)
    checked = (obj.get("status") or {}).get("observedGeneration") == (obj.get("metadata") or {}).get("generation")
    if condition.get("status") == "True" and checked:
        return
    if not condition or not checked:
        detail = "has not been checked yet since its last change"
    else:
        detail = f"is not Ready: {condition.get('reason', 'Unknown')}: {str(condition.get('message', '')).rstrip('.')}"
    raise Refusal("ServerNotReady", f"MySQLServer {name} {detail}. Nothing was changed on the server.")


def _secret(client: K8sClient, namespace: str, name: str, what: str, server: str) -> dict[str, Any]:
    try:
        return client.get(resource_path("v1", "secrets", namespace, name))
    except K8sApiError as error:
        if error.status == 404:
            raise Refusal(
                "CredentialsNotFound",
                f"MySQLServer {server}: the {what} Secret {namespace}/{name} does not exist; the platform team "
                "creates it in the operator's namespace.",
            ) from None
        raise


# ansible-operator's proxy watches a Secret carrying these annotations for the object they name and
# reconciles that object when the Secret changes; unlike an ownerReference they never let the garbage
# collector delete the Secret with its server.
PRIMARY_RESOURCE = "operator-sdk/primary-resource"
PRIMARY_RESOURCE_TYPE = "operator-sdk/primary-resource-type"
SERVER_TYPE = "MySQLServer.piwik.pro"


def watch_for(client: K8sClient, secret: Mapping[str, Any], server: str) -> bool:
    """Mark a Secret so that a change to it reconciles `server` at once; True when it had to be marked.

    A Secret already marked for another server keeps that mark: a shared Secret reaches the other
    servers at their next check.
    """
    metadata = secret.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    if annotations.get(PRIMARY_RESOURCE_TYPE) == SERVER_TYPE and annotations.get(PRIMARY_RESOURCE):
        return False
    patch = {"metadata": {"annotations": {PRIMARY_RESOURCE: f"/{server}", PRIMARY_RESOURCE_TYPE: SERVER_TYPE}}}
    client.merge_patch(resource_path("v1", "secrets", metadata.get("namespace"), metadata.get("name")), patch)
    return True


def connection(
    client: K8sClient, obj: Mapping[str, Any], operator_namespace: str, watch: bool = False
) -> dict[str, Any]:
    """The decoded connection of a MySQLServer: its spec, the admin credentials and the CA.

    `revision` digests the spec and the Secrets' resourceVersions: it changes whenever anything a
    MySQLDatabase uses from its server changes. With `watch`, the Secrets are marked (`watch_for`) so
    that a change to them reconciles the server at once.
    """
    name = str((obj.get("metadata") or {}).get("name", ""))
    spec = obj.get("spec") or {}
    credentials_name = str((spec.get("credentialsSecretRef") or {}).get("name", ""))
    credentials = _secret(client, operator_namespace, credentials_name, "credentials", name)
    secrets = [credentials]
    data = credentials.get("data") or {}
    username, password = decode_key(data, "username"), decode_key(data, "password")
    if not username or not password:
        missing = [key for key, value in (("username", username), ("password", password)) if not value]
        raise Refusal(
            "CredentialsNotFound",
            f"MySQLServer {name}: Secret {operator_namespace}/{credentials_name} lacks "
            f"{' and '.join(missing)} (or it is not UTF-8 text).",
        )
    tls = spec.get("tls") or {}
    ca_ref = tls.get("caSecretRef") or {}
    versions = [(credentials.get("metadata") or {}).get("resourceVersion", "")]
    ca_cert = ""
    if ca_ref.get("name"):
        ca_secret = _secret(client, operator_namespace, str(ca_ref["name"]), "CA", name)
        secrets.append(ca_secret)
        key = str(ca_ref.get("key") or "ca.crt")
        ca_cert = decode_key(ca_secret.get("data") or {}, key) or ""
        if not ca_cert:
            raise Refusal(
                "CredentialsNotFound", f"MySQLServer {name}: Secret {operator_namespace}/{ca_ref['name']} lacks {key}."
            )
        versions.append((ca_secret.get("metadata") or {}).get("resourceVersion", ""))
    if watch:
        for secret in secrets:
            watch_for(client, secret, name)
    port = int(spec.get("port") or DEFAULT_PORT)
    tenancy = spec.get("tenancy") or {}
    return {
        "name": name,
        "host": str(spec.get("host", "")),
        "port": port,
        "username": username,
        "password": password,
        "publish_host": str(spec.get("publishHost") or spec.get("host", "")),
        "publish_port": int(spec.get("publishPort") or port),
        "tls_mode": str(tls.get("mode") or "Disabled"),
        "ca_cert": ca_cert,
        "max_databases_per_namespace": int(tenancy.get("maxDatabasesPerNamespace") or 0),
        "revision": revision(spec, versions),
    }


def revision(spec: Mapping[str, Any], secret_versions: list[str]) -> str:
    text = json.dumps({"spec": spec, "secrets": secret_versions}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- tenancy -----------------------------------------------------------------------------------


def _requirement_matches(requirement: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key: object = requirement.get("key")
    operator: object = requirement.get("operator")
    values = requirement.get("values") or []
    if not isinstance(key, str) or not key:
        raise ValueError("a matchExpressions entry has no key")
    if operator in ("In", "NotIn"):
        if not values:
            raise ValueError(f"matchExpressions on {key!r}: {operator} needs at least one value")
        found = key in labels and labels[key] in values
        return found if operator == "In" else not found
    if operator in ("Exists", "DoesNotExist"):
        if values:
            raise ValueError(f"matchExpressions on {key!r}: {operator} takes no values")
        return (key in labels) == (operator == "Exists")
    raise ValueError(f"matchExpressions on {key!r}: unknown operator {operator!r}")


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics: every matchLabels pair and every requirement must hold; an
    empty or absent selector matches everything. A malformed selector raises ValueError: it never
    matches more than it says."""
    if not selector:
        return True
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise ValueError("matchLabels is not a mapping")
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list) or not all(isinstance(item, Mapping) for item in expressions):
        raise ValueError("matchExpressions is not a list of requirements")
    results = [_requirement_matches(requirement, labels) for requirement in expressions]
    return all(results)


def require_allowed(client: K8sClient, obj: Mapping[str, Any], namespace: str) -> None:
    """Refuse a namespace that the server's tenancy.namespaceSelector does not select."""
    name = (obj.get("metadata") or {}).get("name", "")
    selector = ((obj.get("spec") or {}).get("tenancy") or {}).get("namespaceSelector")
    if not selector:
        return
    labels = (client.get(resource_path("v1", "namespaces", None, namespace)).get("metadata") or {}).get("labels") or {}
    try:
        allowed = selector_matches(selector, labels)
    except ValueError as error:
        raise Refusal("ServerNotAllowed", f"MySQLServer {name} has a malformed namespaceSelector ({error}).") from None
    if not allowed:
        raise Refusal(
            "ServerNotAllowed",
            f"MySQLServer {name} does not serve namespace {namespace}: its labels do not match the server's "
            "spec.tenancy.namespaceSelector. Nothing was created; ask the platform team.",
        )
