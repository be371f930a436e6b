#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqldatabase_secret
short_description: Create or replace the application Secret of a MySQLDatabase
description:
  - Writes the core/v1 Secret O(definition) with O(data), as kubernetes.core.k8s does with
    C(state=present) and C(force=true) - created when it does not exist, else replaced whole (labels,
    annotations, owner references and keys not given here are removed).
  - Talks to the Kubernetes API with the Python standard library only, so it is cheap to start inside
    ansible-operator, where importing the kubernetes client would be paid on every reconcile.
  - Sends the user of O(kubeconfig) when it is the kubeconfig ansible-operator writes for a reconcile,
    as kubernetes.core does, so that the proxy watches the Secret for the custom resource that owns it.
  - Writes only when the Secret differs from what is asked - a different C(type) or C(data), or a label,
    annotation or owner reference of O(definition) missing or different - and reports C(changed=false)
    otherwise, so the reconcile of an unchanged MySQLDatabase writes nothing.
author:
  - external-mysql-operator contributors
extends_documentation_fragment:
  - mysqldatabase_k8s
  - mysqldatabase_k8s.kubeconfig
options:
  definition:
    description:
      - The Secret to write without its data, with C(apiVersion=v1), C(kind=Secret), C(metadata.name)
        and C(metadata.namespace).
    type: dict
    required: true
  data:
    description:
      - The Secret's C(data), values base64 encoded. Never logged.
    type: dict
    default: {}
notes:
  - Supports check mode (reads, never writes).
"""

EXAMPLES = r"""
- name: Ensure the application Secret holds the connection details
  mysqldatabase_secret:
    definition:
      apiVersion: v1
      kind: Secret
      type: Opaque
      metadata:
        name: shop
        namespace: team-a
    data:
      password: "{{ 'secret' | b64encode }}"
  no_log: true
"""

RETURN = r"""
method:
  description:
    - V(create), V(replace), or V(none) when the Secret was already as asked; what was done (in check
      mode, what would be done).
  returned: always
  type: str
  sample: create
metadata:
  description:
    - Name, namespace, uid and resourceVersion of the Secret written or found up to date (empty in check
      mode when a write would be needed).
  returned: always
  type: dict
reason:
  description: V(SecretWriteFailed) when the module failed.
  returned: failed
  type: str
  sample: SecretWriteFailed
status_code:
  description: HTTP status of the failed request, 0 when the API could not be reached.
  returned: failed
  type: int
  sample: 422
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
from ansible.module_utils.mysqldatabase_secrets import up_to_date

FAILED_REASON = "SecretWriteFailed"
KEPT_METADATA = ("name", "namespace", "uid", "resourceVersion")

ARGUMENT_SPEC = {
    **connection_argument_spec(env_fallback),
    "definition": {"type": "dict", "required": True},
    "data": {"type": "dict", "default": {}, "no_log": True},
}


def check_definition(definition: dict[str, Any]) -> str:
    """A message naming what is wrong with the definition, or an empty string."""
    metadata = definition.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if definition.get("apiVersion") != "v1" or definition.get("kind") != "Secret":
        return "definition must be a core/v1 Secret (apiVersion v1, kind Secret)"
    if not metadata.get("name") or not metadata.get("namespace"):
        return "definition must set metadata.name and metadata.namespace"
    if "data" in definition or "stringData" in definition:
        return "the Secret's data goes in the data option, which is never logged, not in definition"
    return ""


def write(client: K8sClient, definition: dict[str, Any], data: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    metadata = definition["metadata"]
    body = {**definition, "data": data}
    collection = resource_path("v1", "secrets", metadata["namespace"])
    path = resource_path("v1", "secrets", metadata["namespace"], metadata["name"])
    try:
        existing = client.get(path)
        method = "replace"
    except K8sApiError as error:
        if error.status != 404:
            raise
        existing, method = {}, "create"
    if existing and up_to_date(existing, body):
        kept = {key: value for key, value in (existing.get("metadata") or {}).items() if key in KEPT_METADATA}
        return {"changed": False, "method": "none", "metadata": kept}
    written: dict[str, Any] = {}
    if not check_mode:
        written = client.create(collection, body) if method == "create" else client.replace(path, body)
    kept = {key: value for key, value in (written.get("metadata") or {}).items() if key in KEPT_METADATA}
    return {"changed": True, "method": method, "metadata": kept}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    problem = check_definition(module.params["definition"])
    if problem:
        module.fail_json(msg=problem, reason=FAILED_REASON, status_code=0)
    params = module.params
    with module_client(module, FAILED_REASON, "write the Secret") as client:
        result = write(client, params["definition"], params["data"], module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
