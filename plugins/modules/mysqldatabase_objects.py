#!/usr/bin/python
# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mysqldatabase_objects
short_description: Ensure the database, the user and its exact grants of a MySQLDatabase on an external server
description:
  - Gives one MySQLDatabase custom resource a database and a user holding exactly the requested
    privileges on that database, on an external MySQL or MariaDB server, or releases them again.
  - Uses one connection per run and records ownership in the server itself, in the table
    C(<metadata_schema>.owners), so every operator replica sees the same records. Objects owned by
    another MySQLDatabase, or that exist without a record, are never changed.
  - Serializes runs on the same database or user with the named locks C(GET_LOCK).
  - A second run with the same options changes nothing and runs no DDL.
  - Every expected failure returns RV(reason) and RV(msg); the message never contains a password.
  - The admin account O(login_user) creates the databases and users. It needs
    C(ALL PRIVILEGES ON *.* WITH GRANT OPTION), or at least C(CREATE), C(DROP), C(CREATE USER),
    C(SELECT) on C(mysql.*), C(INSERT), C(UPDATE), C(DELETE) on O(metadata_schema) and the privileges
    it hands out with C(GRANT OPTION).
author:
  - external-mysql-operator contributors
extends_documentation_fragment:
  - mysqldatabase_sql
options:
  max_databases_per_namespace:
    description:
      - Most databases MySQLDatabases of O(owner_namespace) may own on this server (ownership records);
        V(0) is unlimited. Claiming one more fails with RV(reason=QuotaExceeded).
      - Counted under a named lock per namespace, so concurrent runs never exceed it.
    type: int
    default: 0
  query_timeout:
    description:
      - Seconds to wait for any answer of the server (the login's, then each statement's) before
        giving up with RV(reason=ServerUnreachable).
      - Must exceed the 10 s the module waits for the named locks.
    type: int
    default: 60
  state:
    description:
      - V(present) creates or repairs the database, the user, its password and grants.
      - V(absent) drops or releases them according to O(deletion_policy).
    type: str
    choices: [present, absent]
    default: present
  database:
    description:
      - Name of the database, used literally; at most 64 characters.
      - C(_) and C(%) are escaped in GRANT statements, so they are never wildcards.
    type: str
    required: true
  character_set:
    description:
      - Default character set of the database, checked against C(information_schema.CHARACTER_SETS).
      - Changed with C(ALTER DATABASE) when it differs.
    type: str
  collation:
    description:
      - Default collation of the database, checked against C(information_schema.COLLATIONS); must
        belong to O(character_set) when both are set.
    type: str
  username:
    description:
      - Name of the user; at most 80 characters on MariaDB, 32 on MySQL.
      - A new account is refused while an account of the same name exists for another host that
        this MySQLDatabase does not own, since it would take over that account's logins.
    type: str
    required: true
  user_host:
    description: Host part of the account, compared case-insensitively.
    type: str
    default: '%'
  password:
    description: Password of the user. Required when O(state=present).
    type: str
  replacement_password:
    description:
      - A second, new password, used when the server's password policy refuses O(password) with error 1819,
        as C(password_reuse_check) or MySQL's C(password_history) do with a password the user had before (also
        when a user dropped by hand is created again). RV(password_replaced) then says so, and the caller must
        store this password instead of O(password).
      - Without it such a refusal fails with RV(reason=PasswordPolicy).
    type: str
  password_changed:
    description:
      - Set the password even when the stored one cannot be compared, because the caller generated
        a new one or a rotation was requested.
      - Without it the password is set only when the stored hash is not that of O(password) (see the notes)
        or, under a plugin whose hash cannot be computed, when an existing user is adopted.
    type: bool
    default: false
  privileges:
    description:
      - Privileges of the user on its database, case-insensitive. The user ends up with exactly these
        and nothing else (no global, table, column or routine privileges, no roles, no GRANT OPTION).
      - One of V(ALL), V(ALL PRIVILEGES), V(SELECT), V(INSERT), V(UPDATE), V(DELETE), V(CREATE),
        V(DROP), V(REFERENCES), V(INDEX), V(ALTER), V(CREATE TEMPORARY TABLES), V(LOCK TABLES),
        V(EXECUTE), V(CREATE VIEW), V(SHOW VIEW), V(CREATE ROUTINE), V(ALTER ROUTINE), V(EVENT),
        V(TRIGGER), V(DELETE HISTORY) (MariaDB only).
    type: list
    elements: str
    default: [ALL PRIVILEGES]
  max_user_connections:
    description: Maximum simultaneous connections of the user; V(0) means no limit.
    type: int
    default: 0
  owner_namespace:
    description: Namespace of the MySQLDatabase that owns the database and the user.
    type: str
    required: true
  owner_name:
    description: Name of the MySQLDatabase that owns the database and the user.
    type: str
    required: true
  owner_uid:
    description: UID of the MySQLDatabase; ownership is decided by the UID.
    type: str
    required: true
  adopt_existing:
    description:
      - Take over a database or user that exists without an ownership record, and one recorded for
        an earlier MySQLDatabase of the same namespace and name (deleted without its finalizer).
      - Objects recorded for another MySQLDatabase are never taken over, nor accounts holding
        C(GRANT OPTION), C(CREATE USER) or C(SUPER) on the whole server, directly or through any role
        granted to them (reason V(ReservedName)).
    type: bool
    default: false
  deletion_policy:
    description:
      - With O(state=absent), V(Delete) drops the database and the user owned by this MySQLDatabase;
        V(Retain) keeps them and only deletes the ownership records.
    type: str
    choices: [Retain, Delete]
    default: Retain
  metadata_schema:
    description: Schema that holds the operator's C(owners) table; created when missing.
    type: str
    default: external_mysql_operator
attributes:
  check_mode:
    support: full
    details: Reads everything and reports what would change in RV(actions) and the flags.
notes:
  - The stored password is compared by computing its hash for C(mysql_native_password),
    C(caching_sha2_password) and C(ed25519), never by logging in as the user. Under another plugin it
    cannot be compared, so it is set only with O(password_changed=true) or when the user is created or
    adopted.
  - An expired password is replaced by O(replacement_password) (RV(password_expired)); a locked account
    fails with V(AccountLocked) and is never unlocked.
"""

EXAMPLES = r"""
- name: Ensure the database and the user with exactly its grants exist
  mysqldatabase_objects:
    login_host: mysql.example.com
    login_user: admin
    login_password: "{{ admin_password }}"
    ca_cert: "{{ server_ca_pem }}"
    database: shop
    character_set: utf8mb4
    username: shop
    password: "{{ shop_password }}"
    privileges: [SELECT, INSERT, UPDATE, DELETE]
    owner_namespace: default
    owner_name: shop
    owner_uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427
  register: mysqldatabase_objects
  failed_when: false
  no_log: true

- name: Drop the database and the user of a deleted MySQLDatabase
  mysqldatabase_objects:
    login_host: mysql.example.com
    login_user: admin
    login_password: "{{ admin_password }}"
    state: absent
    deletion_policy: Delete
    database: shop
    username: shop
    owner_namespace: default
    owner_name: shop
    owner_uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427
"""

RETURN = r"""
changed:
  description: Whether anything changed (in check mode, would change).
  returned: always
  type: bool
decisions:
  description:
    - What this run decided, in order, each by the name of the Kubernetes event the mysqldatabase role reports
      for it (the role's C(vars/main.yml) maps each to its event). Empty when nothing needed doing.
    - V(Created), the database was created for this MySQLDatabase (with its user, unless that was
      adopted); V(Adopted), existing objects were taken over (RV(adopted)); V(DatabaseRecreated) and
      V(UserRecreated), an object this MySQLDatabase owns was missing and was created again;
      V(PasswordExpired), the user's expired password was replaced by O(replacement_password);
      V(PasswordRepaired), the user's password on the server was not O(password) and was set again;
      V(PasswordReplaced), the server's password policy refused O(password) and O(replacement_password)
      was set instead; V(GrantsRepaired), the user's privileges differed from O(privileges) and were reset.
  returned: success and O(state=present)
  type: list
  elements: str
  sample: [Created]
actions:
  description: What was changed, in order, in words (never SQL, never a password).
  returned: success
  type: list
  elements: str
  sample: ["record default/shop as owner of database 'shop'", "create database 'shop'"]
database_created:
  description: The database was created for a new ownership record.
  returned: success and O(state=present)
  type: bool
database_recreated:
  description: The database was recorded as ours but missing, and was created again.
  returned: success and O(state=present)
  type: bool
user_created:
  description: The user was created for a new ownership record.
  returned: success and O(state=present)
  type: bool
user_recreated:
  description: The user was recorded as ours but missing, and was created again with O(password).
  returned: success and O(state=present)
  type: bool
password_set:
  description: The password of an existing user was set.
  returned: success and O(state=present)
  type: bool
password_drift_repaired:
  description: The existing user's password on the server was not O(password) (changed by hand) and was set again.
  returned: success and O(state=present)
  type: bool
password_replaced:
  description:
    - O(replacement_password) was set instead of O(password), because the server's password policy
      refused O(password) or the password had expired (RV(password_expired)); the caller must store it
      (the application Secret).
  returned: success and O(state=present)
  type: bool
password_expired:
  description: The user's password had expired on the server and was replaced by O(replacement_password).
  returned: success and O(state=present)
  type: bool
grants_repaired:
  description: An existing user's privileges differed from O(privileges) and were reset.
  returned: success and O(state=present)
  type: bool
adopted:
  description: Objects this run took over with O(adopt_existing).
  returned: success and O(state=present)
  type: list
  elements: str
  sample: [database]
database:
  description: The database name as the server stores it (lower case when C(lower_case_table_names) is set).
  returned: success
  type: str
  sample: shop
flavor:
  description: V(mariadb) or V(mysql).
  returned: success
  type: str
  sample: mariadb
server_version:
  description: The server's C(VERSION()).
  returned: success
  type: str
  sample: 10.11.6-MariaDB
dropped:
  description: Objects dropped by O(state=absent) with O(deletion_policy=Delete).
  returned: success and O(state=absent)
  type: list
  elements: str
  sample: [database, user]
released:
  description: Objects whose ownership record O(state=absent) deleted.
  returned: success and O(state=absent)
  type: list
  elements: str
  sample: [database, user]
untouched:
  description:
    - Objects O(state=absent) left alone, with why. RV(untouched[].reason) is V(NotRecorded) (no
      ownership record) or V(OwnedByOther).
  returned: success and O(state=absent)
  type: list
  elements: dict
  sample: [{"kind": "user", "name": "shop", "reason": "OwnedByOther", "msg": "owned by default/other"}]
reason:
  description:
    - Why the module failed, in CamelCase. V(ServerUnreachable), V(AdminAuthFailed),
      V(AdminPasswordExpired), V(AdminPrivilegesMissing), V(Conflict), V(AlreadyExists), V(NameTooLong),
      V(ReservedName), V(InvalidSpec), V(QuotaExceeded), V(PasswordPolicy), V(AccountLocked),
      V(UnsupportedServer), V(TLSRequired), V(TLSFailed) or V(ServerError).
  returned: failed
  type: str
  sample: Conflict
msg:
  description: What went wrong and what to do about it; never contains a password.
  returned: failed
  type: str
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.mysql_password_hashes import password_matches
from ansible.module_utils.mysqldatabase_rules import MAX_USER_CONNECTIONS, METADATA_SCHEMA
from ansible.module_utils.mysqldatabase_sql import (
    MAX_OWNER_FIELD,
    GrantState,
    MySQLDatabaseError,
    Owner,
    OwnerRecord,
    OwnerRecords,
    ServerInfo,
    Session,
    account,
    account_exists,
    administrative_privileges,
    find_account,
    find_schema,
    grant_database_pattern,
    grant_differences,
    invalid_spec,
    lock_name,
    login_argument_spec,
    normalize_privileges,
    other_hosts,
    ownership_action,
    password_policy_refused,
    priv_columns,
    quote_identifier,
    read_grants,
    read_roles,
    redact,
    resolve_character_set,
    revoke_role_sql,
    validate_database_name,
    validate_metadata_schema,
    validate_user_host,
    validate_user_name,
    wanted_columns,
)

ARGUMENT_SPEC = {
    **login_argument_spec(query_timeout=60),
    "max_databases_per_namespace": {"type": "int", "default": 0},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "database": {"type": "str", "required": True},
    "character_set": {"type": "str"},
    "collation": {"type": "str"},
    "username": {"type": "str", "required": True},
    "user_host": {"type": "str", "default": "%"},
    "password": {"type": "str", "no_log": True},
    "replacement_password": {"type": "str", "no_log": True},
    "password_changed": {"type": "bool", "default": False, "no_log": False},
    "privileges": {"type": "list", "elements": "str", "default": ["ALL PRIVILEGES"]},
    "max_user_connections": {"type": "int", "default": 0},
    "owner_namespace": {"type": "str", "required": True},
    "owner_name": {"type": "str", "required": True},
    "owner_uid": {"type": "str", "required": True},
    "adopt_existing": {"type": "bool", "default": False},
    "deletion_policy": {"type": "str", "choices": ["Retain", "Delete"], "default": "Retain"},
    "metadata_schema": {"type": "str", "default": METADATA_SCHEMA},
}
DEFAULTS = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}


@dataclass
class Target:
    """The database and account this run is about, as the server stores their names."""

    database: str
    user: str
    host: str
    owner: Owner

    @property
    def account(self) -> str:
        return account(self.user, self.host)


def check_params(params: dict[str, Any]) -> None:
    """Checks that need no server; a failing one changes nothing and opens no connection."""
    validate_metadata_schema(params["metadata_schema"])
    for name in ("owner_namespace", "owner_name", "owner_uid"):
        if not params[name] or len(params[name]) > MAX_OWNER_FIELD:
            raise invalid_spec(f"{name} must have 1 to {MAX_OWNER_FIELD} characters.")
    if params["query_timeout"] <= 10 or params["connect_timeout"] <= 0:
        raise invalid_spec("connect_timeout must be positive and query_timeout longer than 10 s.")
    if params["state"] == "absent":
        return  # cleanup must never be blocked by a spec that present refused
    if not params["password"]:
        raise invalid_spec("A password is required when state=present.")
    if not 0 <= params["max_user_connections"] <= MAX_USER_CONNECTIONS:
        raise invalid_spec(f"spec.maxUserConnections must be between 0 and {MAX_USER_CONNECTIONS}.")
    validate_database_name(params["database"], params["metadata_schema"])
    validate_user_host(params["user_host"])
    normalize_privileges(params["privileges"])
    if params["username"] == params["login_user"]:
        raise MySQLDatabaseError(
            "ReservedName",
            f"The user name {params['username']!r} is the operator's own admin account, which no "
            "MySQLDatabase may use; set spec.username to another name.",
        )


def target_of(params: dict[str, Any], info: ServerInfo) -> Target:
    database = params["database"]
    if info.lower_case_table_names:
        database = database.lower()  # the server folds it anyway; records and grants must agree
    owner = Owner(params["owner_namespace"], params["owner_name"], params["owner_uid"])
    return Target(database, params["username"], params["user_host"], owner)


def lock_target(session: Session, params: dict[str, Any], target: Target) -> None:
    schema = params["metadata_schema"]
    names = [lock_name(schema, target.database), lock_name(schema, f"{target.user}@{target.host}")]
    if params["state"] == "present" and params["max_databases_per_namespace"] > 0:
        # One lock per namespace serialises the count and the claim, so a burst cannot overshoot.
        names.append(lock_name(schema, f"quota/{params['owner_namespace']}"))
    session.acquire_locks(names)


def run(params: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    """The module's work on plain dicts: options in (defaults filled in), result out."""
    params = {**DEFAULTS, **params}
    params["user_host"] = (params["user_host"] or "").lower()
    check_params(params)
    session = Session.connect(params, check_mode)
    try:
        info = session.server_info()
        target = target_of(params, info)
        lock_target(session, params, target)
        try:
            # Only under the locks: a record written by a run we waited for must be seen.
            store = OwnerRecords(session, params["metadata_schema"])
            store.load()
            if params["state"] == "absent":
                result = ensure_absent(session, store, target, params["deletion_policy"])
            else:
                result = ensure_present(session, info, store, target, params)
        finally:
            session.release_locks()
    finally:
        session.close()
    result.update(
        changed=bool(session.actions),
        actions=session.actions,
        database=target.database,
        flavor=info.flavor,
        server_version=info.version,
    )
    return result


# --- state=present -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """The spec checked against this server: privileges, their mysql.db columns, charset, collation."""

    privileges: tuple[str, ...]
    columns: frozenset[str]
    db_columns: list[str]
    charset: str | None
    collation: str | None


@dataclass(frozen=True)
class Claim:
    """One object (database or user): the record we want, the server's row and what ownership allows."""

    record: OwnerRecord
    row: dict[str, Any] | None  # None: the object does not exist on the server
    action: str  # see ownership_action: ours, claim, adopt, take_over


def check_spec_on_server(session: Session, info: ServerInfo, target: Target, params: dict[str, Any]) -> Wanted:
    validate_database_name(target.database, params["metadata_schema"])
    validate_user_name(target.user, info.user_name_limit)
    privileges = normalize_privileges(params["privileges"], info.flavor)
    charset, collation = resolve_character_set(session, params["character_set"], params["collation"])
    db_columns = priv_columns(session, "db")
    return Wanted(privileges, wanted_columns(privileges, db_columns), db_columns, charset, collation)


def decide_ownership(
    session: Session, info: ServerInfo, store: OwnerRecords, target: Target, adopt: bool
) -> tuple[Claim, Claim]:
    """Decide for the database and the user before changing anything, so that a conflict on the
    user never leaves a half-created database behind."""
    schema_row = find_schema(session, target.database)
    db_record = OwnerRecord("database", target.database, "", target.owner)
    db_action = ownership_action(
        f"database {target.database!r}",
        "spec.databaseName",
        store.get("database", target.database, ""),
        schema_row is not None,
        target.owner,
        adopt,
    )
    account_row = find_account(session, info, target.user, target.host)
    user_record = OwnerRecord("user", target.user, target.host, target.owner)
    user_action = ownership_action(
        f"user {target.account}",
        "spec.username",
        store.get("user", target.user, target.host),
        account_row is not None,
        target.owner,
        adopt,
    )
    if user_action in ("claim", "adopt"):
        refuse_second_account(session, store, target)
    if user_action == "adopt":
        refuse_administrative_account(session, info, target)
    return Claim(db_record, schema_row, db_action), Claim(user_record, account_row, user_action)


def refuse_second_account(session: Session, store: OwnerRecords, target: Target) -> None:
    """Never add an account beside another one of the same user name that is not this CR's: the
    server picks the most specific host, so it would take over the other account's logins (the
    admin's own, or another MySQLDatabase's)."""
    for host in other_hosts(session, target.user, target.host):
        record = store.get("user", target.user, host)
        if record is not None and record.owner.uid == target.owner.uid:
            continue
        owner = f"owned by MySQLDatabase {record.owner}" if record else "not created by the operator"
        raise MySQLDatabaseError(
            "Conflict" if record else "AlreadyExists",
            f"The user name {target.user!r} already has an account for host {host!r} ({owner}); a second "
            f"account {target.account} would change which account its clients log in as. Set spec.username "
            "to another name.",
        )


def refuse_administrative_account(session: Session, info: ServerInfo, target: Target) -> None:
    """Adopting strips an account down to one database: never do that to one that administers the server,
    whether its power is granted directly or through a role (managed services hand it out as roles)."""
    held = administrative_privileges(session, info.flavor, target.user, target.host)
    if held:
        raise MySQLDatabaseError(
            "ReservedName",
            f"The user {target.account} holds {', '.join(held)} on the whole server: it administers the "
            "server, directly or through a role (it may be the operator's own admin account), and is never "
            "adopted. Set spec.username to another name.",
        )


def refuse_over_quota(store: OwnerRecords, namespace: str, limit: int) -> None:
    """A new database for this namespace only while it owns fewer than `limit` here (0: no limit)."""
    if limit <= 0 or not store.present:
        return
    owned = store.count_databases(namespace)
    if owned >= limit:
        raise MySQLDatabaseError(
            "QuotaExceeded",
            f"Namespace {namespace} already has {owned} databases on this server, its limit "
            f"(MySQLServer spec.tenancy.maxDatabasesPerNamespace) is {limit}; nothing was created. "
            "Delete a MySQLDatabase of this namespace or ask the platform team to raise the limit.",
        )


def ensure_present(
    session: Session, info: ServerInfo, store: OwnerRecords, target: Target, params: dict[str, Any]
) -> dict[str, Any]:
    wanted = check_spec_on_server(session, info, target, params)
    database, user = decide_ownership(session, info, store, target, params["adopt_existing"])
    if database.action in ("claim", "adopt"):
        refuse_over_quota(store, params["owner_namespace"], params["max_databases_per_namespace"])
    result: dict[str, Any] = dict.fromkeys(PRESENT_FLAGS, False)
    result["adopted"] = [claim.record.kind for claim in (database, user) if claim.action in ("adopt", "take_over")]
    store.ensure_table()
    with_record(store, database, lambda: ensure_database(session, target, database, wanted, result))
    with_record(store, user, lambda: ensure_user(session, target, user, params, result))
    repaired = ensure_grants(session, info, target, wanted, user_existed=user.row is not None)
    result["grants_repaired"] = repaired and user.row is not None
    result["decisions"] = decisions(result)
    return result


def decisions(result: dict[str, Any]) -> list[str]:
    """What this run decided, by the names RV(decisions) documents and the role's events carry."""
    taken = {
        "Created": result["database_created"],
        "Adopted": bool(result["adopted"]),
        "DatabaseRecreated": result["database_recreated"],
        "UserRecreated": result["user_recreated"],
        "PasswordExpired": result["password_expired"],
        "PasswordRepaired": result["password_drift_repaired"],
        # An expired password is always replaced; PasswordExpired says so already.
        "PasswordReplaced": result["password_replaced"] and not result["password_expired"],
        "GrantsRepaired": result["grants_repaired"],
    }
    return [name for name, happened in taken.items() if happened]


PRESENT_FLAGS = (
    "database_created",
    "database_recreated",
    "user_created",
    "user_recreated",
    "password_set",
    "password_drift_repaired",
    "password_replaced",
    "password_expired",
    "grants_repaired",
)


def with_record(store: OwnerRecords, claim: Claim, ensure: Callable[[], None]) -> None:
    """Write the ownership record first, then ensure the object; a fresh claim is undone on failure.

    Record first: if the run dies between the two, the next run finds its own record and simply
    creates the object, instead of refusing an object "created by someone else".
    """
    if claim.action in ("claim", "adopt"):
        store.insert(claim.record)
    elif claim.action == "take_over":
        store.reassign(claim.record)
    try:
        ensure()
    except MySQLDatabaseError:
        if claim.action == "claim" and not store.session.check_mode:
            with contextlib.suppress(MySQLDatabaseError):  # the original error is what the user must see
                store.delete(claim.record)
        raise


def ensure_database(session: Session, target: Target, claim: Claim, wanted: Wanted, result: dict[str, Any]) -> None:
    name = quote_identifier(target.database)
    clause = charset_clause(wanted.charset, wanted.collation)
    row = claim.row
    if row is None:
        session.change(f"create database {target.database!r}", f"CREATE DATABASE {name}{clause}")
        result["database_recreated" if claim.action == "ours" else "database_created"] = True
        return
    if wanted.collation:
        differs = row["collation"].lower() != wanted.collation.lower()
    else:
        differs = bool(wanted.charset and row["charset"].lower() != wanted.charset.lower())
    if differs:
        session.change(f"change the character set of database {target.database!r}", f"ALTER DATABASE {name}{clause}")


def charset_clause(charset: str | None, collation: str | None) -> str:
    clause = f" CHARACTER SET {quote_identifier(charset)}" if charset else ""
    return clause + (f" COLLATE {quote_identifier(collation)}" if collation else "")


def ensure_user(session: Session, target: Target, claim: Claim, params: dict[str, Any], result: dict[str, Any]) -> None:
    """Create the user, or fix the password and the connection limit of the existing one. A locked
    account is reported and left locked: a DBA locked it for a reason."""
    limit, row = params["max_user_connections"], claim.row
    if row is None:
        set_password(
            session,
            target,
            params,
            result,
            f"create user {target.account}",
            lambda password: (
                "CREATE USER %s@%s IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS %s",
                (target.user, target.host, password, limit),
            ),
        )
        result["user_recreated" if claim.action == "ours" else "user_created"] = True
        return
    if row["locked"]:
        raise MySQLDatabaseError(
            "AccountLocked",
            f"User {target.account} is locked on the server (ACCOUNT LOCK); the operator never unlocks an "
            "account. Once the reason is dealt with, a DBA unlocks it with ALTER USER ... ACCOUNT UNLOCK.",
        )

    def alter(password: str) -> tuple[str, tuple[object, ...]]:
        return "ALTER USER %s@%s IDENTIFIED BY %s", (target.user, target.host, password)

    if row["expired"] and not params["password_changed"]:
        replace_expired_password(session, target, params, alter)
        result.update(password_replaced=True, password_expired=True)
    elif password_needs_setting(row, params["password"], params["password_changed"], claim.action):
        set_password(session, target, params, result, f"set the password of user {target.account}", alter)
        result["password_set"] = True
        result["password_drift_repaired"] = not params["password_changed"] and claim.action == "ours"
    if int(row["max_user_connections"] or 0) != limit:
        session.change(
            f"set MAX_USER_CONNECTIONS {limit} for user {target.account}",
            "ALTER USER %s@%s WITH MAX_USER_CONNECTIONS %s",
            (target.user, target.host, limit),
        )


def replace_expired_password(
    session: Session, target: Target, params: dict[str, Any], statement: Callable[[str], tuple[str, tuple[object, ...]]]
) -> None:
    """An expired password is replaced, never set again: the application's logins are already refused,
    and a password policy with history would refuse the old one anyway. The caller stores O(replacement_password)."""
    replacement = params["replacement_password"]
    if not replacement or replacement == params["password"]:
        raise invalid_spec(f"The password of user {target.account} has expired and no replacement_password was given.")
    description = f"set a new password for user {target.account} (its password had expired)"
    change_password(session, description, statement(replacement))


def set_password(
    session: Session,
    target: Target,
    params: dict[str, Any],
    result: dict[str, Any],
    description: str,
    statement: Callable[[str], tuple[str, tuple[object, ...]]],
) -> None:
    """Run the statement that sets the user's password with O(password); when the server's password
    policy refuses it (password_reuse_check refuses a password the user had before, also after the user
    was dropped), once more with O(replacement_password), which the caller then stores."""
    try:
        session.change(description, *statement(params["password"]), secret=True)
        return
    except MySQLDatabaseError as error:
        if error.reason != "PasswordPolicy":
            raise
        replacement = params["replacement_password"]
        if not replacement or replacement == params["password"]:
            raise password_policy_refused(session, error) from None
    refused = "with a new password (the server's password policy refused the one given)"
    change_password(session, f"{description} {refused}", statement(replacement))
    result["password_replaced"] = True


def change_password(session: Session, description: str, statement: tuple[str, tuple[object, ...]]) -> None:
    """Run a statement that carries a password; a policy refusal names the server's policy settings."""
    try:
        session.change(description, *statement, secret=True)
    except MySQLDatabaseError as error:
        if error.reason != "PasswordPolicy":
            raise
        raise password_policy_refused(session, error) from None


def password_needs_setting(row: dict[str, Any], password: str, password_changed: bool, action: str) -> bool:
    """Whether the server's stored hash is not of `password`. Compared by computing the hash, never by
    logging in as the user (a failed login counts towards FAILED_LOGIN_ATTEMPTS, a successful one takes a
    MAX_USER_CONNECTIONS slot, and the account's host pattern may not match the operator's address)."""
    if password_changed:
        return True
    matches = password_matches(str(row["plugin"] or ""), row["auth_string"], password)
    if matches is None:  # a plugin whose hash cannot be computed: set it only when taking the user over
        return action in ("adopt", "take_over")
    return not matches


def ensure_grants(session: Session, info: ServerInfo, target: Target, wanted: Wanted, user_existed: bool) -> bool:
    """Make the account hold exactly the wanted privileges on its database; True when that changed."""
    pattern = grant_database_pattern(target.database)
    if session.check_mode and not user_existed:
        state = GrantState()  # the user does not exist yet, so it holds nothing
    else:
        state = read_grants(session, info, target.user, target.host, wanted.db_columns)
    problems = grant_differences(state, pattern, wanted.columns)
    if not problems:
        return False
    if state != GrantState():
        revoke_everything(session, info, target, state, problems)
    privileges = ", ".join(wanted.privileges)
    session.change(
        f"grant {privileges} on database {target.database!r} to user {target.account}",
        f"GRANT {privileges} ON {quote_identifier(pattern)}.* TO %s@%s",
        (target.user, target.host),
    )
    return True


def revoke_everything(
    session: Session, info: ServerInfo, target: Target, state: GrantState, problems: list[str]
) -> None:
    session.change(
        f"revoke all privileges of user {target.account} ({'; '.join(problems)})",
        "REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s",
        (target.user, target.host),
    )
    # MariaDB's REVOKE ALL also revokes roles, MySQL's does not: revoke what is still granted.
    roles = state.roles if session.check_mode else read_roles(session, info, target.user, target.host)
    for role, role_host in roles:
        sql, args = revoke_role_sql(info.flavor, role, role_host)
        session.change(f"revoke role {role!r} from user {target.account}", sql, (*args, target.user, target.host))


# --- state=absent ------------------------------------------------------------------------------


def ensure_absent(session: Session, store: OwnerRecords, target: Target, deletion_policy: str) -> dict[str, Any]:
    """Drop (Delete) or keep (Retain) what this MySQLDatabase owns, then release the records."""
    result: dict[str, Any] = {"dropped": [], "released": [], "untouched": []}
    subjects = (("database", target.database, ""), ("user", target.user, target.host))
    for kind, name, host in subjects:
        record = store.get(kind, name, host)
        if record is None or record.owner.uid != target.owner.uid:
            result["untouched"].append(skip_entry(kind, name, record))
            continue
        if deletion_policy == "Delete" and drop(session, target, kind):
            result["dropped"].append(kind)
        store.delete(record)
        result["released"].append(kind)
    return result


def skip_entry(kind: str, name: str, record: OwnerRecord | None) -> dict[str, Any]:
    if record is None:
        return {
            "kind": kind,
            "name": name,
            "reason": "NotRecorded",
            "msg": f"no ownership record for {kind} {name!r}: it was not created by the operator",
        }
    return {
        "kind": kind,
        "name": name,
        "reason": "OwnedByOther",
        "msg": f"{kind} {name!r} is owned by MySQLDatabase {record.owner} (uid {record.owner.uid})",
    }


def drop(session: Session, target: Target, kind: str) -> bool:
    """Drop the database or the user if it exists; True when it did."""
    if kind == "database":
        if find_schema(session, target.database) is None:
            return False
        session.change(
            f"drop database {target.database!r}", f"DROP DATABASE IF EXISTS {quote_identifier(target.database)}"
        )
        return True
    if not account_exists(session, target.user, target.host):
        return False
    session.change(f"drop user {target.account}", "DROP USER IF EXISTS %s@%s", (target.user, target.host))
    return True


# --- Ansible -----------------------------------------------------------------------------------


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    secrets = [module.params[name] or "" for name in ("password", "replacement_password", "login_password")]
    # On deletion the message says so: the Ready condition of a CR whose finalizer waits shows it.
    prefix = "Cleanup on deletion failed: " if module.params["state"] == "absent" else ""
    try:
        result = run(module.params, check_mode=module.check_mode)
    except MySQLDatabaseError as error:
        module.fail_json(msg=prefix + redact(error.msg, secrets), reason=error.reason)
    except Exception as error:  # a bug must still give the role a reason, and no password
        message = redact(f"Unexpected {type(error).__name__}: {error}", secrets)
        module.fail_json(msg=prefix + message, reason="ServerError")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
