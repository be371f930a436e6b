# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules a MySQLDatabase is held to, defined once.

The spec filter (mysqldatabase_spec in plugins/filter/mysqldatabase.py) checks a spec against them before
anything runs, the SQL module (mysqldatabase_objects, through module_utils/mysqldatabase_sql.py) enforces
them again on the server, and tests/unit/test_crd_schema.py fails when the CRD schema's limits, enums or
defaults say otherwise. Standard library only: Ansible ships this file to modules, and the filter imports
it on the controller.
"""

from __future__ import annotations

from typing import Any

# Schema that holds the operator's ownership records (the `owners` table).
METADATA_SCHEMA = "external_mysql_operator"
# The server's own schemas; the metadata schema is reserved too.
SERVER_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
RESERVED_DATABASES = SERVER_DATABASES | {METADATA_SCHEMA}
# The servers' own accounts and roles (PUBLIC is the role MariaDB 10.11+ grants to everyone), then the
# administrative accounts and roles of managed services and distributions: Amazon RDS/Aurora, Google
# Cloud SQL, Azure Database for MySQL, Debian's maintenance account. Compared case-insensitively.
RESERVED_USERS = frozenset(
    {
        "root",
        "mariadb.sys",
        "mysql.sys",
        "mysql.session",
        "mysql.infoschema",
        "public",
        "rdsadmin",
        "rdsrepladmin",
        "rds_superuser_role",
        "aws_load_s3_access",
        "aws_select_s3_access",
        "aws_lambda_access",
        "cloudsqlsuperuser",
        "cloudsqladmin",
        "cloudsqlreplica",
        "cloudsqlimport",
        "cloudsqlexport",
        "azure_superuser",
        "debian-sys-maint",
    }
)

MAX_DATABASE_NAME = 64
# Longest account name: 80 on MariaDB, 32 on MySQL 5.7.8 and later, 16 before. The CRD allows the
# largest; the SQL module refuses what the connected server does not take.
MAX_USER_NAME = 80
MAX_USER_NAME_MYSQL = 32
MAX_USER_NAME_MYSQL_BEFORE_5_7_8 = 16
MAX_HOST_NAME = 255
# MariaDB keeps MAX_USER_CONNECTIONS in a signed 32-bit column (MySQL allows up to 4294967295).
MAX_USER_CONNECTIONS = 2147483647

# Privilege name -> its column in mysql.db. The GRANT keyword is the key itself, so SQL is only
# ever built from these constants, never from the caller's string.
PRIVILEGE_COLUMNS = {
    "SELECT": "Select_priv",
    "INSERT": "Insert_priv",
    "UPDATE": "Update_priv",
    "DELETE": "Delete_priv",
    "CREATE": "Create_priv",
    "DROP": "Drop_priv",
    "REFERENCES": "References_priv",
    "INDEX": "Index_priv",
    "ALTER": "Alter_priv",
    "CREATE TEMPORARY TABLES": "Create_tmp_table_priv",
    "LOCK TABLES": "Lock_tables_priv",
    "EXECUTE": "Execute_priv",
    "CREATE VIEW": "Create_view_priv",
    "SHOW VIEW": "Show_view_priv",
    "CREATE ROUTINE": "Create_routine_priv",
    "ALTER ROUTINE": "Alter_routine_priv",
    "EVENT": "Event_priv",
    "TRIGGER": "Trigger_priv",
    "DELETE HISTORY": "Delete_history_priv",
}
ALL_PRIVILEGES = "ALL PRIVILEGES"
# What spec.privileges may list ("ALL" is accepted as ALL PRIVILEGES).
PRIVILEGES = frozenset({ALL_PRIVILEGES, *PRIVILEGE_COLUMNS})
MARIADB_ONLY_PRIVILEGES = frozenset({"DELETE HISTORY"})

# Changing this annotation's value rotates the password.
ROTATE_ANNOTATION = "piwik.pro/rotate-password"

# spec field -> the key of the role's mysqldatabase_spec fact that carries it (the filter of that name fills it
# in). A new spec field is declared here, in the CRD, in the filter's checks, and where the role passes it to
# a module; tests/unit/test_spec_fields.py fails while one of them is missing (CONTRIBUTING.md).
SPEC_FIELDS = {
    "databaseName": "database",
    "username": "username",
    "characterSet": "character_set",
    "collation": "collation",
    "privileges": "privileges",
    "userHost": "user_host",
    "maxUserConnections": "max_user_connections",
    "secretName": "secret_name",
    "secretTemplate": "secret_template",
    "serverRef": "server",
    "deletionPolicy": "deletion_policy",
    "adoptExisting": "adopt_existing",
}

# spec field -> its default; the CRD schema carries the same `default:` values (kubectl explain shows them).
# databaseName, username and secretName default to metadata.name, which a schema cannot express.
SPEC_DEFAULTS: dict[str, Any] = {
    "userHost": "%",
    "privileges": [ALL_PRIVILEGES],
    "maxUserConnections": 0,
    "deletionPolicy": "Retain",
    "adoptExisting": False,
    "serverRef": {"name": "default"},
}
DELETION_POLICIES = ("Retain", "Delete")
