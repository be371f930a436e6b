"""What a DBA of a hardened server does to application accounts, and what the operator does about it: a
password changed by hand to another auth plugin (ed25519) heals, an expired password is replaced, a locked
account is reported and stays locked. Plus ten databases at once on that server, each logging in over TLS.

Each test owns its CRs (deletionPolicy Delete, names unique to the run) in its own namespace."""

from __future__ import annotations

import os
from typing import Any

import pytest
from e2e_support import (
    Stack,
    app_login,
    create_cr,
    events_for,
    hardened_rows,
    secret_values,
    wait_ready,
    wait_reason,
    wait_until,
)

from testbed.localenv.config import HARDENED_SERVER

pytestmark = pytest.mark.usefixtures("running_operator")

# The e2e operator reconciles every 5 s (conftest.py): server-side drift is seen within a few periods.
REPAIR_SECONDS = 120


def on_hardened(name: str) -> dict[str, Any]:
    return {"serverRef": {"name": HARDENED_SERVER}, "deletionPolicy": "Delete", "databaseName": name, "username": name}


def ready_account(stack: Stack, namespace: str) -> tuple[str, dict[str, str]]:
    """A Ready MySQLDatabase `app` on the hardened server; its account name and Secret values."""
    name = f"acct_{os.urandom(3).hex()}"
    create_cr(stack, namespace, "app", on_hardened(name))
    wait_ready(stack, namespace, "app")
    return name, secret_values(stack, namespace, "app")


def logs_in(stack: Stack, values: dict[str, str]) -> bool:
    with app_login(stack, values) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        return cursor.fetchone()[0] == values["database"]


def new_working_password(stack: Stack, namespace: str, old: str) -> dict[str, str]:
    """The Secret's values once its password differs from `old` and logs in over TLS."""

    def check() -> dict[str, str] | None:
        values = secret_values(stack, namespace, "app")
        return values if values["password"] != old and logs_in(stack, values) else None

    return wait_until(check, REPAIR_SECONDS, "a new password in the Secret that logs in")


def warnings(stack: Stack, namespace: str) -> set[str]:
    """Reasons of the Warning events of `app` (recorded after the Secret is written, so poll for them)."""
    return {event.reason for event in events_for(stack, namespace, "app") if event.type == "Warning"}


def test_ten_databases_become_ready_and_each_secret_logs_in_over_tls(stack: Stack, namespace: str) -> None:
    names = {f"app-{index}": f"ten_{index}_{os.urandom(2).hex()}" for index in range(10)}
    for cr, name in names.items():
        create_cr(stack, namespace, cr, on_hardened(name))
    for cr in names:
        wait_ready(stack, namespace, cr)
    for cr, name in names.items():
        values = secret_values(stack, namespace, cr)
        assert values["database"] == name and values["sslMode"] == "VERIFY_IDENTITY"
        assert logs_in(stack, values)


def test_password_moved_to_ed25519_by_hand_heals(stack: Stack, namespace: str) -> None:
    user, values = ready_account(stack, namespace)
    hardened_rows(stack, "ALTER USER %s@'%%' IDENTIFIED VIA ed25519 USING PASSWORD('Set-by-a-DBA-42')", (user,))
    assert hardened_rows(stack, "SELECT plugin FROM mysql.user WHERE User = %s", (user,)) == [("ed25519",)]

    # password_reuse_check refuses the Secret's password a second time: a new one replaces it.
    healed = new_working_password(stack, namespace, values["password"])

    assert healed["password"] != "Set-by-a-DBA-42"
    wait_until(lambda: "PasswordRepaired" in warnings(stack, namespace), REPAIR_SECONDS, "a PasswordRepaired event")


def test_expired_password_is_replaced_with_a_warning(stack: Stack, namespace: str) -> None:
    user, values = ready_account(stack, namespace)
    hardened_rows(stack, "ALTER USER %s@'%%' PASSWORD EXPIRE", (user,))

    new_working_password(stack, namespace, values["password"])

    wait_until(lambda: "PasswordExpired" in warnings(stack, namespace), REPAIR_SECONDS, "a PasswordExpired event")
    assert hardened_rows(stack, "SELECT password_expired FROM mysql.user WHERE User = %s", (user,)) == [("N",)]


def test_locked_account_is_reported_and_never_unlocked(stack: Stack, namespace: str) -> None:
    user, values = ready_account(stack, namespace)
    hardened_rows(stack, "ALTER USER %s@'%%' ACCOUNT LOCK", (user,))

    condition = wait_reason(stack, namespace, "app", "AccountLocked", timeout=REPAIR_SECONDS)

    assert "ACCOUNT UNLOCK" in condition["message"]
    locked = hardened_rows(
        stack, "SELECT JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv WHERE User = %s", (user,)
    )
    assert locked == [("1",)]
    assert secret_values(stack, namespace, "app")["password"] == values["password"]

    hardened_rows(stack, "ALTER USER %s@'%%' ACCOUNT UNLOCK", (user,))
    wait_ready(stack, namespace, "app")
    assert logs_in(stack, values)
