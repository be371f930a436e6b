"""Hand edits of the application Secret (README: the Secret): the connection details are restored; a
password edited there is the account's password from then on when the operator could have generated it,
and is replaced by a generated one when not. Each with a Warning event."""

from __future__ import annotations

import base64
import os

import pymysql
import pytest
from e2e_support import Stack, app_login, create_cr, events_for, secret_values, wait_ready, wait_until

pytestmark = pytest.mark.usefixtures("running_operator")

# A Secret change reconciles its MySQLDatabase at once (it owns the Secret).
REPAIR_SECONDS = 120
EDITED_PASSWORD = "Edited-by-the-team_4-their-own-reasons"


def edit_secret(stack: Stack, namespace: str, name: str, **values: str) -> None:
    data = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
    stack.core.patch_namespaced_secret(name, namespace, {"data": data})


def warning_reasons(stack: Stack, namespace: str, name: str) -> set[str]:
    return {event.reason for event in events_for(stack, namespace, name) if event.type == "Warning"}


def logs_in(stack: Stack, values: dict[str, str]) -> bool:
    with app_login(stack, values) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        return cursor.fetchone()[0] == values["database"]


@pytest.fixture
def shop(stack: Stack, namespace: str) -> dict[str, str]:
    """A Ready MySQLDatabase `shop` whose database and user go with it; its Secret's values."""
    name = f"edits-{os.urandom(3).hex()}"
    create_cr(stack, namespace, "shop", {"databaseName": name, "username": name, "deletionPolicy": "Delete"})
    wait_ready(stack, namespace, "shop")
    return secret_values(stack, namespace, "shop")


def test_host_edited_by_hand_is_restored(stack: Stack, namespace: str, shop: dict[str, str]) -> None:
    edit_secret(stack, namespace, "shop", host="db.elsewhere.example")

    restored = wait_until(
        lambda: secret_values(stack, namespace, "shop")["host"] == shop["host"], REPAIR_SECONDS, "host restored"
    )

    assert restored and secret_values(stack, namespace, "shop") == shop


def test_password_edited_to_an_acceptable_one_becomes_the_accounts(
    stack: Stack, namespace: str, shop: dict[str, str]
) -> None:
    edit_secret(stack, namespace, "shop", password=EDITED_PASSWORD)

    wait_until(lambda: "PasswordRepaired" in warning_reasons(stack, namespace, "shop"), REPAIR_SECONDS, "event")

    values = secret_values(stack, namespace, "shop")
    assert values["password"] == EDITED_PASSWORD and EDITED_PASSWORD in values["uri"]
    assert logs_in(stack, values)


def test_password_edited_to_a_weak_one_is_replaced_never_set(
    stack: Stack, namespace: str, shop: dict[str, str]
) -> None:
    edit_secret(stack, namespace, "shop", password="hunter2")

    wait_until(lambda: "SecretPasswordRefused" in warning_reasons(stack, namespace, "shop"), REPAIR_SECONDS, "event")

    values = wait_until(
        lambda: (v := secret_values(stack, namespace, "shop"))["password"] not in ("hunter2", shop["password"]) and v,
        REPAIR_SECONDS,
        "a generated password in the Secret",
    )
    assert logs_in(stack, values)
    assert not logs_in_with(stack, values, "hunter2")


def logs_in_with(stack: Stack, values: dict[str, str], password: str) -> bool:
    try:
        return logs_in(stack, {**values, "password": password})
    except pymysql.MySQLError:
        return False
