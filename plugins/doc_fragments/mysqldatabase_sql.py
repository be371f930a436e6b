# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MySQL connection options of the SQL modules (module_utils/mysqldatabase_sql.py's
login_argument_spec), documented once. O(query_timeout) is not here: its default and what it must
cover differ per module."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - PyMySQL >= 1.0
options:
  login_host:
    description: Host name or IP address of the MySQL or MariaDB server.
    type: str
    required: true
  login_port:
    description: TCP port of the server.
    type: int
    default: 3306
  login_user:
    description: The admin account; the module's description says which privileges it needs.
    type: str
    required: true
  login_password:
    description: Password of O(login_user).
    type: str
    required: true
  ca_cert:
    description:
      - PEM text of the CA that signed the server's certificate; needed by V(VerifyCA) and V(VerifyIdentity).
      - With O(tls_mode) unset, setting it means V(VerifyIdentity).
    type: str
  tls_mode:
    description:
      - TLS of the connection, with the semantics of MySQL's C(--ssl-mode). V(Disabled) never negotiates
        TLS; V(Required) encrypts without verifying; V(VerifyCA) verifies the certificate chain against
        O(ca_cert) only; V(VerifyIdentity) also verifies the host name.
      - Unset, V(VerifyIdentity) when O(ca_cert) is set and V(Disabled) otherwise.
    type: str
    choices: [Disabled, Required, VerifyCA, VerifyIdentity]
  connect_timeout:
    description: Seconds to wait for the TCP connection to the server.
    type: int
    default: 5
"""
