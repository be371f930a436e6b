"""Health from fabricated observations (testbed/faults/health.py): what counts as healthy
and as broken credentials, global privileges included."""

from __future__ import annotations

from testbed.faults.crs import CrRef
from testbed.faults.health import CrHealth, global_privileges

REF = CrRef("faults-kill", "kill-00")


def _seen(**fields: bool) -> CrHealth:
    values = {"ready": True, "secret": True, "login": True, "own_database_only": True, "no_global_privileges": True}
    return CrHealth(REF, **{**values, **fields})


def test_usage_alone_is_no_global_privilege() -> None:
    assert global_privileges(["USAGE"], []) == []
    assert global_privileges([], []) == []


def test_any_other_global_privilege_or_a_role_is_reported() -> None:
    assert global_privileges(["USAGE", "select", "PROCESS"], []) == ["PROCESS", "SELECT"]
    assert global_privileges(["USAGE"], ["operator_admin_role"]) == ["role operator_admin_role"]


def test_healthy_needs_every_check() -> None:
    assert _seen().healthy and not _seen().credentials_broken
    for field in ("ready", "secret", "login", "own_database_only", "no_global_privileges"):
        assert not _seen(**{field: False}).healthy, field


def test_global_privileges_break_the_credentials_even_when_the_cr_is_ready() -> None:
    health = _seen(no_global_privileges=False)
    assert health.ready and health.credentials_broken


def test_a_cr_that_is_only_not_ready_has_no_broken_credentials() -> None:
    assert not _seen(ready=False).credentials_broken
    assert not _seen(secret=False, login=False).credentials_broken  # no Secret: nothing to break


def test_a_login_without_the_database_or_tls_breaks_the_credentials() -> None:
    assert _seen(login=False).credentials_broken
    assert _seen(own_database_only=False).credentials_broken
