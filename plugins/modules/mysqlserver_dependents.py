#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqlserver_dependents
short_description: List the MySQLDatabases on a MySQLServer and make them reconcile when the server changed
description:
  - Lists the MySQLDatabases of every namespace whose C(spec.serverRef.name) names O(server_name)
    (V(default) when unset). Without O(revision) (the server's finalizer) those being deleted count too,
    since their cleanup needs the server; with it they are left out (nothing to push to them).
  - With O(revision), annotates C(piwik.pro/server-revision) on each Ready dependent whose
    C(status.serverRevision) (the server revision it was last reconciled with) differs, and on each
    dependent that is not Ready for a reason a server-side change can heal
    (C(ServerNotReady), C(ServerNotAllowed), C(QuotaExceeded), ...), so that it reconciles at once
    (ansible-operator watches annotation changes) instead of waiting for its reconcile period. A
    server change (spec, credentials, CA) thus reaches every database, and a database refused while its
    server was unusable or closed to its namespace is tried again.
  - Only metadata.annotations is patched; the spec of a MySQLDatabase is never touched.
author:
  - external-mysql-operator contributors
extends_documentation_fragment:
  - mysqldatabase_k8s
  - mysqldatabase_k8s.kubeconfig
options:
  server_name:
    description: Name of the MySQLServer.
    type: str
    required: true
  revision:
    description: The server's current revision; unset, the module only lists.
    type: str
  retry_not_ready:
    description:
      - Also annotate dependents that are not Ready for a server-side reason (with a fresh value), so that
        they try again. Those refused for their own spec (V(InvalidSpec), V(Conflict), ...) are left alone.
    type: bool
    default: true
notes:
  - Supports check mode.
"""

EXAMPLES = r"""
- name: Push the server's revision to its MySQLDatabases
  mysqlserver_dependents:
    server_name: default
    revision: 3f1c2b9e6d554a4e
"""

RETURN = r"""
dependents:
  description: C(namespace/name) of every MySQLDatabase on the server (being deleted too, without O(revision)).
  returned: success
  type: list
  elements: str
  sample: [team-a/shop]
count:
  description: How many RV(dependents) there are.
  returned: success
  type: int
touched:
  description: The dependents annotated by this run.
  returned: success
  type: list
  elements: str
failed_patches:
  description:
    - Dependents the API refused to annotate, with the error; each is also a warning. The module fails
      only when every annotation it tried was refused.
  returned: success
  type: list
  elements: str
reason:
  description: V(DependentsFailed) when the API refused a list or a patch.
  returned: failed
  type: str
msg:
  description: What went wrong.
  returned: failed
  type: str
"""

import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.mysqldatabase_k8s import (
    K8sApiError,
    K8sClient,
    client_from_params,
    connection_argument_spec,
    resource_path,
)
from ansible.module_utils.mysqlserver import (
    API_VERSION,
    DEFAULT_SERVER,
    REVISION_ANNOTATION,
    SERVER_SIDE_REASONS,
    ready_condition,
)

ARGUMENT_SPEC = {
    **connection_argument_spec(env_fallback),
    "server_name": {"type": "str", "required": True},
    "revision": {"type": "str"},
    "retry_not_ready": {"type": "bool", "default": True},
}


def server_of(database: dict[str, Any]) -> str:
    ref = (database.get("spec") or {}).get("serverRef")
    name = ref.get("name") if isinstance(ref, dict) else None
    return name if isinstance(name, str) and name else DEFAULT_SERVER


def dependents(client: K8sClient, server: str, include_deleting: bool) -> list[dict[str, Any]]:
    items = client.get(resource_path(API_VERSION, "mysqldatabases")).get("items") or []
    return [
        item
        for item in items
        if server_of(item) == server and (include_deleting or not (item.get("metadata") or {}).get("deletionTimestamp"))
    ]


def wanted_annotation(database: dict[str, Any], revision: str, retry_not_ready: bool, stamp: str) -> str | None:
    """The annotation value to write, or None when the dependent needs no reconcile.

    A Ready database records the server revision it was reconciled with (status.serverRevision): only a
    different one needs a reconcile, so a database created since the last check costs nothing more. A
    database refused for a server-side reason is retried. The value written always differs from the
    current one, or the patch would not trigger a reconcile.
    """
    condition = ready_condition(database)
    if condition.get("status") == "True":
        if (database.get("status") or {}).get("serverRevision") == revision:
            return None
    elif not (retry_not_ready and condition.get("reason") in SERVER_SIDE_REASONS):
        return None
    current = str(((database.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, ""))
    return revision if current != revision else f"{revision}/{stamp}"


def run(module: AnsibleModule, client: K8sClient) -> dict[str, Any]:
    params = module.params
    # A database being deleted needs the server for its cleanup: when only listing (the server's
    # finalizer), it counts; it is never annotated.
    found = dependents(client, params["server_name"], include_deleting=not params["revision"])
    names = [f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in found]
    touched: list[str] = []
    failures: list[str] = []
    if params["revision"]:
        stamp = str(int(time.time()))
        for database, name in zip(found, names, strict=True):
            value = wanted_annotation(database, params["revision"], params["retry_not_ready"], stamp)
            if value is None:
                continue
            if module.check_mode:
                touched.append(name)
                continue
            metadata = database["metadata"]
            path = resource_path(API_VERSION, "mysqldatabases", metadata["namespace"], metadata["name"])
            try:
                client.merge_patch(path, {"metadata": {"annotations": {REVISION_ANNOTATION: value}}})
            except K8sApiError as error:
                if error.status != 404:  # deleted meanwhile: nothing to push
                    failures.append(f"{name}: {error}")
                continue
            touched.append(name)
    # One database that cannot be annotated must not make the server unusable for every tenant: it is
    # reported and retried at the next check. Only when every patch failed is the step itself broken.
    if failures and not touched:
        raise K8sApiError(0, "; ".join(failures[:5]))
    for failure in failures:
        module.warn(f"could not annotate MySQLDatabase {failure}")
    return {
        "changed": bool(touched),
        "dependents": names,
        "count": len(names),
        "touched": touched,
        "failed_patches": failures,
    }


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module, client_from_params(module.params))
    except (ValueError, OSError) as error:
        module.fail_json(msg=f"cannot set up the Kubernetes client: {error}", reason="DependentsFailed")
    except K8sApiError as error:
        module.fail_json(msg=f"list or annotate the MySQLDatabases: {error}", reason="DependentsFailed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
