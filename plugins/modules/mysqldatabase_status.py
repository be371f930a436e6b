#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqldatabase_status
short_description: Set the Ready condition of a MySQLDatabase and record Kubernetes events
description:
  - Reads the custom resource, sets its C(Ready) condition and the given status fields, and writes
    them with one JSON merge patch to the C(status) subresource.
  - Every other condition in C(status.conditions) is kept. C(lastTransitionTime) of the C(Ready)
    condition changes only when its C(status) changes.
  - Nothing is written when the status would not change, so a reconcile that changes nothing costs
    one GET.
  - Creates one core/v1 Event per entry of O(events). Events are best effort, as in client-go's
    event recorder, so a failure to create one (for example in a namespace being deleted) is a
    warning, never a failure.
  - Status and events are readable by everyone who may read the resource. Callers never pass a
    secret in O(message), O(fields) or O(events).
  - Talks to the Kubernetes API with the Python standard library only, so it is cheap to start
    inside ansible-operator.
author:
  - external-mysql-operator contributors
extends_documentation_fragment:
  - mysqldatabase_k8s
options:
  api_version:
    description: C(apiVersion) of the resource.
    type: str
    default: piwik.pro/v1
  kind:
    description: C(kind) of the resource, used in the events' C(involvedObject).
    type: str
    default: MySQLDatabase
  plural:
    description: Plural resource name, used in the REST path.
    type: str
    default: mysqldatabases
  namespace:
    description:
      - Namespace of the resource; empty for a cluster-scoped one (a MySQLServer), whose events go to
        the namespace C(default) as kubectl's do.
    type: str
    default: ''
  name:
    description: Name of the resource.
    type: str
    required: true
  uid:
    description:
      - UID of the resource for the events' C(involvedObject).
      - Defaults to the UID of the object read from the API.
    type: str
  ready:
    description: Whether the C(Ready) condition is C(True) or C(False).
    type: bool
    required: true
  reason:
    description: CamelCase reason of the C(Ready) condition, for example C(Reconciled) or C(InvalidSpec).
    type: str
    required: true
  message:
    description:
      - Human readable message of the C(Ready) condition. Cut to 32768 characters.
      - Never a secret.
    type: str
    default: ''
  observed_generation:
    description:
      - C(metadata.generation) that this reconcile acted on, written to the condition's
        C(observedGeneration).
      - Defaults to the generation of the object read from the API.
    type: int
  fields:
    description:
      - Other status fields, merged into C(status) (JSON merge patch semantics, so V(null) removes a
        field), for example C(database), C(username), C(secretName) and C(server).
      - Must not contain C(conditions). Never a secret.
      - A field that the CRD's status schema does not declare is pruned by the API server, so it is
        written again on every call.
    type: dict
    default: {}
  events:
    description: Events to create for the resource.
    type: list
    elements: dict
    default: []
    # events_on_change takes the same EVENT_OPTIONS: the anchor documents them once.
    suboptions: &event_options
      type:
        description: Event type.
        type: str
        choices: [Normal, Warning]
        default: Normal
      reason:
        description: CamelCase reason, for example C(Created) or C(GrantsRepaired).
        type: str
        required: true
      message:
        description: Human readable message, cut to 1024 characters. Never a secret.
        type: str
        required: true
  events_on_change:
    description:
      - Events to create only when this call changes the status, for example a failure reported on
        every retry that should produce one event, not one per retry.
    type: list
    elements: dict
    default: []
    suboptions: *event_options
notes:
  - Supports check mode (reads, never writes) and diff mode (the status before and after).
  - A resource deleted meanwhile (HTTP 404) is not a failure; the module returns RV(found=false).
  - Any other HTTP error fails the task with RV(reason=StatusUpdateFailed) and RV(status_code).
"""

EXAMPLES = r"""
- name: Report that the database, the user and the Secret are in place
  mysqldatabase_status:
    namespace: "{{ ansible_operator_meta.namespace }}"
    name: "{{ ansible_operator_meta.name }}"
    ready: true
    reason: Reconciled
    message: Database, user and Secret are in place
    observed_generation: "{{ mysqldatabase_spec.generation }}"
    fields:
      database: "{{ mysqldatabase_spec.database }}"
      username: "{{ mysqldatabase_spec.username }}"
      secretName: "{{ mysqldatabase_spec.secret_name }}"
      server: "{{ mysqldatabase_spec.server }}"

- name: Report an invalid spec and say so in an event
  mysqldatabase_status:
    namespace: "{{ ansible_operator_meta.namespace }}"
    name: "{{ ansible_operator_meta.name }}"
    ready: false
    reason: "{{ mysqldatabase_spec.reason }}"
    message: "{{ mysqldatabase_spec.message }}"
    events:
      - type: Warning
        reason: "{{ mysqldatabase_spec.reason }}"
        message: "{{ mysqldatabase_spec.message }}"
"""

RETURN = r"""
found:
  description: Whether the resource still existed. V(false) when it was deleted meanwhile.
  returned: always
  type: bool
  sample: true
status:
  description: The resource's status after this call (in check mode, what it would be).
  returned: always
  type: dict
  sample:
    conditions:
      - type: Ready
        status: "True"
        reason: Reconciled
        message: Database, user and Secret are in place
        lastTransitionTime: "2025-01-01T00:00:00Z"
        observedGeneration: 3
    database: app
patch:
  description: The merge patch sent to the status subresource (in check mode, the one that would be), or V(null).
  returned: always
  type: dict
  sample: {"status": {"conditions": [], "database": "app"}}
events:
  description: Names of the events created (empty in check mode).
  returned: always
  type: list
  elements: str
  sample: ["app.17f3c2a9b6e4d001"]
reason:
  description: V(StatusUpdateFailed) when the module failed.
  returned: failed
  type: str
  sample: StatusUpdateFailed
status_code:
  description: HTTP status of the failed request, 0 when the API could not be reached.
  returned: failed
  type: int
  sample: 403
"""

import re
import socket
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.mysqldatabase_conditions import status_change
from ansible.module_utils.mysqldatabase_k8s import (
    K8sApiError,
    K8sClient,
    connection_argument_spec,
    resource_path,
)

COMPONENT = "external-mysql-operator"
FAILED_REASON = "StatusUpdateFailed"
# The events.k8s.io limit; a longer message makes the API server refuse the event.
EVENT_MESSAGE_LIMIT = 1024
REASON_RE = re.compile(r"[A-Z][A-Za-z0-9]{0,127}")

EVENT_OPTIONS = {
    "type": {"type": "str", "choices": ["Normal", "Warning"], "default": "Normal"},
    "reason": {"type": "str", "required": True},
    "message": {"type": "str", "required": True},
}

ARGUMENT_SPEC = {
    # The shared connection options but the proxy user: the status and events concern the resource itself.
    **{name: spec for name, spec in connection_argument_spec(env_fallback).items() if name != "kubeconfig"},
    "api_version": {"type": "str", "default": "piwik.pro/v1"},
    "kind": {"type": "str", "default": "MySQLDatabase"},
    "plural": {"type": "str", "default": "mysqldatabases"},
    "namespace": {"type": "str", "default": ""},
    "name": {"type": "str", "required": True},
    "uid": {"type": "str"},
    "ready": {"type": "bool", "required": True},
    "reason": {"type": "str", "required": True},
    "message": {"type": "str", "default": ""},
    "observed_generation": {"type": "int"},
    "fields": {"type": "dict", "default": {}},
    "events": {"type": "list", "elements": "dict", "default": [], "options": EVENT_OPTIONS},
    "events_on_change": {"type": "list", "elements": "dict", "default": [], "options": EVENT_OPTIONS},
}


# Events of cluster-scoped objects live here, as kubectl and client-go's recorder put them.
CLUSTER_EVENTS_NAMESPACE = "default"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def object_name(params: dict[str, Any]) -> str:
    return f"{params['namespace']}/{params['name']}" if params["namespace"] else params["name"]


def events_namespace(params: dict[str, Any]) -> str:
    return params["namespace"] or CLUSTER_EVENTS_NAMESPACE


def event_body(params: dict[str, Any], uid: str, event: dict[str, Any], timestamp: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{params['name']}.", "namespace": events_namespace(params)},
        "involvedObject": {
            "apiVersion": params["api_version"],
            "kind": params["kind"],
            "name": params["name"],
            **({"namespace": params["namespace"]} if params["namespace"] else {}),
            "uid": uid,
        },
        "reason": event["reason"],
        "message": event["message"][:EVENT_MESSAGE_LIMIT],
        "type": event["type"],
        "source": {"component": COMPONENT},
        "firstTimestamp": timestamp,
        "lastTimestamp": timestamp,
        "count": 1,
        "reportingComponent": COMPONENT,
        "reportingInstance": socket.gethostname()[:128],
    }


def check_params(module: AnsibleModule) -> None:
    params = module.params
    events = params["events"] + params["events_on_change"]
    reasons = [params["reason"]] + [event["reason"] for event in events]
    for reason in reasons:
        if not REASON_RE.fullmatch(reason):
            module.fail_json(msg=f"reason {reason!r} must be CamelCase: A-Z, then up to 127 of A-Z a-z 0-9")
    if "conditions" in params["fields"]:
        module.fail_json(msg="fields must not contain 'conditions': the module owns the conditions list")


def fail(module: AnsibleModule, action: str, error: K8sApiError, **result: Any) -> None:
    module.fail_json(
        msg=f"{action} {module.params['kind']} {object_name(module.params)}: {error}",
        reason=FAILED_REASON,
        status_code=error.status,
        **result,
    )


def create_events(module: AnsibleModule, client: K8sClient, uid: str, events: list[dict[str, Any]]) -> list[str]:
    """Create the requested events; failures are warnings, as events are best effort."""
    params, names, timestamp = module.params, [], now()
    path = resource_path("v1", "events", events_namespace(params))
    for event in events:
        try:
            created = client.create(path, event_body(params, uid, event, timestamp))
        except K8sApiError as error:
            module.warn(f"could not create the {event['reason']} event: {error}")
            continue
        names.append(created.get("metadata", {}).get("name", ""))
    return names


def run(module: AnsibleModule, client: K8sClient) -> dict[str, Any]:
    params = module.params
    path = resource_path(params["api_version"], params["plural"], params["namespace"], params["name"])
    gone = {"changed": False, "found": False, "status": {}, "patch": None, "events": []}
    try:
        obj = client.get(path)
    except K8sApiError as error:
        if error.status == 404:
            return gone
        fail(module, "read", error)
    before, status, after = status_change(obj, params, now())
    patch = {"status": status}
    write = after != before
    events = params["events"] + (params["events_on_change"] if write else [])
    result = {
        "changed": write or bool(events),
        "found": True,
        "status": after,
        "patch": patch if write else None,
        "events": [],
    }
    if module._diff:
        result["diff"] = {"before": {"status": before}, "after": {"status": after}}
    if module.check_mode:
        return result
    if write:
        try:
            client.merge_patch(path + "/status", patch)
        except K8sApiError as error:
            if error.status == 404:
                return gone
            fail(module, "update the status of", error)
    uid = params["uid"] or obj.get("metadata", {}).get("uid", "")
    result["events"] = create_events(module, client, uid, events)
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    check_params(module)
    params = module.params
    try:
        client = K8sClient(params["api_url"], params["api_key"], params["ca_cert"], params["validate_certs"])
    except (ValueError, OSError) as error:
        module.fail_json(msg=f"cannot set up the Kubernetes client: {error}", reason=FAILED_REASON, status_code=0)
    module.exit_json(**run(module, client))


if __name__ == "__main__":
    main()
