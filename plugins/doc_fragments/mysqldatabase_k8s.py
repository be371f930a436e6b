# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of the role's Kubernetes modules (module_utils/mysqldatabase_k8s.py's
connection_argument_spec), documented once."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - URL of the Kubernetes API.
      - Defaults to the environment variable E(K8S_AUTH_HOST) when it is set, else to
        ansible-operator's proxy C(http://localhost:8888), which needs no credentials.
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
"""

    # The modules that write objects the custom resource owns also send the reconcile's proxy user.
    KUBECONFIG = r"""
options:
  kubeconfig:
    description:
      - The kubeconfig ansible-operator writes for each reconcile; only its basic-auth user is used
        (it names the custom resource being reconciled). Ignored when O(api_key) is set.
      - Defaults to the environment variable E(K8S_AUTH_KUBECONFIG).
    type: path
"""
