#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqldatabase_secret_info
short_description: Read the server connection Secrets and the application Secret of a MySQLDatabase
description:
  - Lists the Secrets labelled O(server_label)=O(server_name) in O(server_namespace), and reads the
    Secret O(name) in O(namespace) when O(name) is given. One module run for both, so a reconcile
    starts one Python process for its reads instead of one per Secret.
  - Talks to the Kubernetes API with the Python standard library only. Behind ansible-operator's proxy
    the reads are served from the operator's cache.
  - Sends the user of O(kubeconfig) when it is the kubeconfig ansible-operator writes for a reconcile,
    as kubernetes.core does, so that the proxy keeps watching the Secrets the custom resource owns.
  - The result holds Secret data (base64); use C(no_log) on the task.
author:
  - external-mysql-operator contributors
options:
  api_url:
    description:
      - URL of the Kubernetes API.
      - Defaults to the environment variable E(K8S_AUTH_HOST) when it is set, else to
        ansible-operator's proxy C(http://localhost:8888).
    type: str
    default: http://localhost:8888
  api_key:
    description:
      - Bearer token for O(api_url). Not needed behind ansible-operator's proxy.
      - Defaults to the environment variable E(K8S_AUTH_API_KEY).
    type: str
  ca_cert:
    description:
      - CA bundle that signed the API server's certificate, for an C(https) O(api_url).
      - Defaults to the environment variable E(K8S_AUTH_SSL_CA_CERT).
    type: path
  validate_certs:
    description:
      - Whether to verify the API server's certificate for an C(https) O(api_url).
      - Defaults to the environment variable E(K8S_AUTH_VERIFY_SSL).
    type: bool
    default: true
  kubeconfig:
    description:
      - The kubeconfig ansible-operator writes for each reconcile; only its basic-auth user is used
        (it names the custom resource being reconciled). Ignored when O(api_key) is set.
      - Defaults to the environment variable E(K8S_AUTH_KUBECONFIG).
    type: path
  server_namespace:
    description: Namespace of the server connection Secrets.
    type: str
    required: true
  server_label:
    description: Label whose value selects the server connection Secrets.
    type: str
    default: piwik.pro/mysql-server
  server_name:
    description: Value of O(server_label) to select, the MySQLDatabase's C(spec.serverRef.name).
    type: str
    required: true
  namespace:
    description: Namespace of the application Secret. Required with O(name).
    type: str
  name:
    description: Name of the application Secret. When omitted, only the server Secrets are read.
    type: str
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
  register: secrets
  no_log: true
"""

RETURN = r"""
server_secrets:
  description: The Secrets carrying the label, as the API returns them (zero, one or more).
  returned: always
  type: list
  elements: dict
app_secret:
  description: The application Secret as the API returns it; empty when it does not exist or O(name) is omitted.
  returned: always
  type: dict
reason:
  description: V(SecretReadFailed) when the module failed.
  returned: failed
  type: str
  sample: SecretReadFailed
status_code:
  description: HTTP status of the failed request, 0 when the API could not be reached.
  returned: failed
  type: int
  sample: 403
"""

import urllib.parse

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.mysqldatabase_k8s import (
    K8sApiError,
    K8sClient,
    client_from_params,
    connection_argument_spec,
    resource_path,
)

FAILED_REASON = "SecretReadFailed"

ARGUMENT_SPEC = {
    **connection_argument_spec(env_fallback),
    "server_namespace": {"type": "str", "required": True},
    "server_label": {"type": "str", "default": "piwik.pro/mysql-server"},
    "server_name": {"type": "str", "required": True},
    "namespace": {"type": "str"},
    "name": {"type": "str"},
}


def server_secrets(client: K8sClient, params: dict) -> list:
    selector = urllib.parse.urlencode({"labelSelector": f"{params['server_label']}={params['server_name']}"})
    answer = client.get(resource_path("v1", "secrets", params["server_namespace"]) + "?" + selector)
    return list(answer.get("items") or [])


def app_secret(client: K8sClient, params: dict) -> dict:
    if not params["name"]:
        return {}
    try:
        return client.get(resource_path("v1", "secrets", params["namespace"], params["name"]))
    except K8sApiError as error:
        if error.status == 404:
            return {}
        raise


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_by={"name": ("namespace",)})
    params = module.params
    try:
        client = client_from_params(params)
        result = {
            "changed": False,
            "server_secrets": server_secrets(client, params),
            "app_secret": app_secret(client, params),
        }
    except (ValueError, OSError) as error:
        module.fail_json(msg=f"cannot set up the Kubernetes client: {error}", reason=FAILED_REASON, status_code=0)
    except K8sApiError as error:
        module.fail_json(msg=f"read Secrets: {error}", reason=FAILED_REASON, status_code=error.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
