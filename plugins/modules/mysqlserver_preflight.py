#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqlserver_preflight
short_description: Check that the operator can work on a MySQL or MariaDB server with its admin account
description:
  - Connects with the given TLS mode, reads the server's flavor and version, compares the admin
    account's global privileges (held directly or through its active roles) with the list the operator
    needs, and counts the databases the operator owns there (its ownership records).
  - The health check of a MySQLServer. It changes nothing on the server.
  - Fails with RV(reason) and RV(msg) when the server cannot be used; RV(missing_privileges) names
    exactly what the admin lacks.
author:
  - external-mysql-operator contributors
extends_documentation_fragment:
  - mysqldatabase_sql
options:
  metadata_schema:
    description: Schema of the operator's ownership records.
    type: str
    default: external_mysql_operator
  query_timeout:
    description: Seconds to wait for any answer of the server.
    type: int
    default: 30
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Check the server and its admin account
  mysqlserver_preflight:
    login_host: mysql.db.svc.cluster.local
    login_user: admin
    login_password: "{{ admin_password }}"
    tls_mode: VerifyIdentity
    ca_cert: "{{ ca_pem }}"
  register: preflight
  no_log: true
"""

RETURN = r"""
flavor:
  description: V(mariadb) or V(mysql), from the version string.
  returned: when the login succeeded
  type: str
  sample: mariadb
version:
  description: What C(SELECT VERSION()) answers.
  returned: when the login succeeded
  type: str
  sample: 10.11.19-MariaDB-0+deb12u1
tls:
  description: Whether the connection is encrypted (the session's C(Ssl_version) is set).
  returned: when the login succeeded
  type: bool
required_privileges:
  description: Every global privilege the operator needs on this flavor.
  returned: when the login succeeded
  type: list
  elements: str
missing_privileges:
  description: The required privileges the admin account lacks, by name; empty when it has them all.
  returned: when the login succeeded
  type: list
  elements: str
  sample: [CREATE USER]
databases:
  description: Databases the operator owns on the server.
  returned: when the login succeeded
  type: int
reason:
  description:
    - V(Connected) on success. On failure V(ServerUnreachable), V(AdminAuthFailed), V(AdminPasswordExpired),
      V(TLSRequired), V(TLSFailed), V(UnsupportedServer), V(AdminPrivilegesMissing) or V(ServerError).
  returned: always
  type: str
msg:
  description: What the check found, or what went wrong and what to do about it; never a password.
  returned: always
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.mysqldatabase_rules import METADATA_SCHEMA
from ansible.module_utils.mysqldatabase_sql import (
    MySQLDatabaseError,
    Session,
    admin_global_privileges,
    login_argument_spec,
    missing_admin_privileges,
    owned_database_count,
    redact,
    required_admin_privileges,
)

ARGUMENT_SPEC = {
    **login_argument_spec(query_timeout=30),
    "metadata_schema": {"type": "str", "default": METADATA_SCHEMA},
}


def run(params: dict[str, Any]) -> dict[str, Any]:
    """The check on plain dicts; raises MySQLDatabaseError when the server cannot be used at all."""
    session = Session.connect(params, check_mode=True)
    try:
        info = session.server_info()
        held = admin_global_privileges(session, info.flavor)
        tls = session.rows("SHOW SESSION STATUS LIKE 'Ssl_version'", purpose="reading the TLS state")
        result: dict[str, Any] = {
            "changed": False,
            "flavor": info.flavor,
            "version": info.version,
            "tls": bool(tls and tls[0].get("Value")),
            "required_privileges": list(required_admin_privileges(info.flavor)),
            "missing_privileges": missing_admin_privileges(held, info.flavor),
            "databases": owned_database_count(session, params["metadata_schema"]),
        }
    finally:
        session.close()
    where = f"{params['login_host']}:{params['login_port']}"
    if result["missing_privileges"]:
        result.update(
            failed=True,
            reason="AdminPrivilegesMissing",
            msg=f"The admin user {params['login_user']!r} on {where} lacks "
            f"{', '.join(result['missing_privileges'])}; grant them ON *.* (directly or through its default "
            "role) and the server becomes Ready at its next check.",
        )
    else:
        result.update(
            reason="Connected",
            msg=f"Connected to {info.flavor} {info.version} at {where}"
            f"{' over TLS' if result['tls'] else ''}; the admin account holds every privilege the operator needs.",
        )
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    secrets = [module.params["login_password"] or ""]
    try:
        result = run(module.params)
    except MySQLDatabaseError as error:
        module.fail_json(msg=redact(error.msg, secrets), reason=error.reason)
    except Exception as error:  # a bug must still give the role a reason, and no password
        module.fail_json(msg=redact(f"Unexpected {type(error).__name__}: {error}", secrets), reason="ServerError")
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
