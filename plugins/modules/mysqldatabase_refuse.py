#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqldatabase_refuse
short_description: Stop a reconcile with the reason and message for the custom resource's Ready condition
description:
  - Always fails, with C(msg) set to the message and C(reason) to the reason, the shape every module of ours
    fails with, for the role's rescue to put in the C(Ready) condition and an event.
  - One task carries both, where a C(set_fact) and a C(fail) would take two; every task of a reconcile
    costs a forked worker, also when a condition skips it.
  - Never pass a secret; the message is shown in the status, in events and in the operator's log.
author:
  - external-mysql-operator contributors
options:
  reason:
    description: CamelCase reason, for example C(InvalidSpec) or C(ServerNotFound).
    type: str
    required: true
  message:
    description: What is wrong and what to do about it.
    type: str
    required: true
notes:
  - Supports check mode (it fails the same way).
"""

EXAMPLES = r"""
- name: Refuse an invalid spec
  mysqldatabase_refuse:
    reason: "{{ mysqldatabase_spec.reason }}"
    message: "{{ mysqldatabase_spec.message }}"
  when: not mysqldatabase_spec.valid
"""

RETURN = r"""
reason:
  description: The reason given.
  returned: always
  type: str
  sample: InvalidSpec
msg:
  description: The message given.
  returned: always
  type: str
  sample: spec.databaseName is empty
"""

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = {
    "reason": {"type": "str", "required": True},
    "message": {"type": "str", "required": True},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    reason, message = module.params["reason"], module.params["message"]
    module.fail_json(msg=message, reason=reason)


if __name__ == "__main__":
    main()
