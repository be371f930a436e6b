#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqldatabase_secret_info
short_description: Read the MySQLServer, its Secrets and the application Secret of a MySQLDatabase
description:
  - Reads the MySQLServer O(server_name), its credentials (and CA) Secret in O(server_namespace), the
    labels of O(namespace) when the server has a tenancy selector, and the Secret O(name) in O(namespace)
    when O(name) is given. One module run for all, so a reconcile starts one Python process for its
    reads instead of one per object.
  - Talks to the Kubernetes API with the Python standard library only. Behind ansible-operator's proxy
    the reads are served from the operator's cache.
  - Sends the user of O(kubeconfig) when it is the kubeconfig ansible-operator writes for a reconcile,
    as kubernetes.core does, so that the proxy keeps watching the Secrets the custom resource owns.
  - Decodes the server connection and summarises the application Secret, and fails with the reason the
    MySQLDatabase's C(Ready) condition shows when the server does not exist (C(ServerNotFound)), is not
    Ready (C(ServerNotReady)), does not serve O(namespace) (C(ServerNotAllowed)), when its Secrets are
    missing or incomplete (C(CredentialsNotFound)) or when the application Secret exists and is not owned
    by O(owner_uid) (C(SecretNotOwned)).
  - The result holds the server's password and the application Secret's data; use C(no_log) on the task.
author:
  - external-mysql-operator contributors
extends_documentation_fragment:
  - mysqldatabase_k8s
  - mysqldatabase_k8s.kubeconfig
options:
  server_namespace:
    description: The operator's namespace, the only one where a MySQLServer's Secrets are read.
    type: str
    required: true
  server_name:
    description: Name of the MySQLServer, the MySQLDatabase's C(spec.serverRef.name).
    type: str
    required: true
  require_ready:
    description:
      - Refuse a server that is not Ready or does not serve O(namespace). The finalizer sets V(false);
        cleanup is attempted whatever the server's last check said.
    type: bool
    default: true
  allow_missing_server:
    description:
      - Return RV(server_found=false) instead of failing when the MySQLServer does not exist. The finalizer
        sets it, because a server that never existed (or was removed by force past its own finalizer) holds
        nothing of this MySQLDatabase that could be cleaned up, and the deletion must not hang forever.
    type: bool
    default: false
  watch_server_secrets:
    description:
      - Annotate the server's credentials and CA Secrets (C(operator-sdk/primary-resource)) so that
        ansible-operator reconciles the MySQLServer as soon as one of them changes. Set by the
        mysqlserver role, whose watch has C(watchDependentResources).
    type: bool
    default: false
  namespace:
    description: Namespace of the application Secret. Required with O(name).
    type: str
  name:
    description: Name of the application Secret. When omitted, only the server Secrets are read.
    type: str
  owner_uid:
    description:
      - UID of the MySQLDatabase that must own the application Secret (an C(ownerReference) of kind
        C(MySQLDatabase) with this UID). When given, an existing Secret owned by anything else fails the
        module with C(SecretNotOwned); when omitted, RV(app_secret.owned) is always false.
    type: str
  rotation_annotation:
    description: Annotation of the application Secret recording the password rotation last applied.
    type: str
    default: piwik.pro/password-rotation
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read the server connection Secrets and the application Secret
  mysqldatabase_secret_info:
    server_namespace: external-mysql-operator-system
    server_name: default
    namespace: team-a
    name: shop
    owner_uid: 3f1c2b9e-6d55-4a4e-9d1e-2f7b8c0a1d42
  register: secrets
  no_log: true
"""

RETURN = r"""
server:
  description: The decoded server connection; C(port) and C(publish_port) are integers.
  returned: success
  type: dict
  sample:
    name: default
    host: mysql.internal
    port: 3306
    username: admin
    password: (the admin password)
    publish_host: mysql.db.svc
    publish_port: 3306
    tls_mode: VerifyIdentity
    ca_cert: (PEM)
    max_databases_per_namespace: 0
    revision: 3f1c2b9e6d554a4e
server_found:
  description: Whether the MySQLServer exists; false only with O(allow_missing_server), RV(server) is then empty.
  returned: success
  type: bool
app_secret:
  description:
    - The application Secret summarised. C(password) is its decoded password, only when it is owned by
      O(owner_uid); C(rotation) the value of O(rotation_annotation); C(data) its data as stored (base64);
      C(type) and C(metadata) (its C(labels), C(annotations) and C(ownerReferences)), which with C(data)
      tell whether the Secret already is what the role would write.
  returned: success
  type: dict
  sample: {"exists": true, "owned": true, "password": "(the password)", "rotation": "", "data": {},
           "type": "Opaque", "metadata": {"labels": {}, "annotations": {}, "ownerReferences": []}}
reason:
  description:
    - Why the module failed, V(ServerNotFound), V(ServerNotReady), V(ServerNotAllowed),
      V(CredentialsNotFound), V(SecretNotOwned), or V(SecretReadFailed) when the API refused or could
      not be reached.
  returned: failed
  type: str
  sample: SecretReadFailed
status_code:
  description: HTTP status of the failed request, 0 when the API could not be reached.
  returned: failed
  type: int
  sample: 403
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.mysqldatabase_k8s import (
    K8sApiError,
    K8sClient,
    connection_argument_spec,
    module_client,
    resource_path,
)
from ansible.module_utils.mysqldatabase_secrets import app_secret as summarise_app_secret
from ansible.module_utils.mysqlserver import Refusal, connection, read_server, require_allowed, require_ready

FAILED_REASON = "SecretReadFailed"

ARGUMENT_SPEC = {
    **connection_argument_spec(env_fallback),
    "server_namespace": {"type": "str", "required": True},
    "server_name": {"type": "str", "required": True},
    "require_ready": {"type": "bool", "default": True},
    "watch_server_secrets": {"type": "bool", "default": False},
    "allow_missing_server": {"type": "bool", "default": False},
    "namespace": {"type": "str"},
    "name": {"type": "str"},
    "owner_uid": {"type": "str"},
    "rotation_annotation": {"type": "str", "default": "piwik.pro/password-rotation"},
}


def app_secret(client: K8sClient, params: dict[str, Any]) -> dict[str, Any]:
    if not params["name"]:
        return {}
    try:
        return client.get(resource_path("v1", "secrets", params["namespace"], params["name"]))
    except K8sApiError as error:
        if error.status == 404:
            return {}
        raise


def the_server(client: K8sClient, params: dict[str, Any]) -> dict[str, Any]:
    """The server's connection, once it is known to be usable by this namespace; Refusal otherwise."""
    try:
        obj = read_server(client, params["server_name"])
    except Refusal as refusal:
        if refusal.reason == "ServerNotFound" and params["allow_missing_server"]:
            return {}
        raise
    if params["require_ready"]:
        require_ready(obj)
        if params["namespace"]:
            require_allowed(client, obj, params["namespace"])
    return connection(client, obj, params["server_namespace"], watch=params["watch_server_secrets"])


def the_app_secret(secret: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The application Secret summarised; Refusal when it exists and someone else owns it."""
    summary = summarise_app_secret(secret, params["owner_uid"] or "", params["rotation_annotation"])
    if params["owner_uid"] and summary["exists"] and not summary["owned"]:
        raise Refusal(
            "SecretNotOwned",
            f"Secret {params['namespace']}/{params['name']} exists and is not owned by this MySQLDatabase; "
            "set spec.secretName to another name or delete that Secret.",
        )
    return summary


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_by={"name": ("namespace",)})
    params = module.params
    try:
        with module_client(module, FAILED_REASON, "read the server and Secrets") as client:
            server = the_server(client, params)
            result = {
                "changed": False,
                "server": server,
                "server_found": bool(server),
                "app_secret": the_app_secret(app_secret(client, params), params),
            }
    except Refusal as refusal:
        module.fail_json(msg=refusal.message, reason=refusal.reason)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
