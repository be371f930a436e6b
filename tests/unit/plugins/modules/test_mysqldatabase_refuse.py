"""Unit tests for the mysqldatabase_refuse module."""

from __future__ import annotations

import mysqldatabase_refuse
import pytest

from tests.unit.plugins.modules.secrets_api import module_runner


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    return module_runner(mysqldatabase_refuse.main, monkeypatch, capsys)


def test_fails_with_reason_and_the_message_alone(run) -> None:
    result = run(reason="InvalidSpec", message="spec.databaseName is empty")
    assert result["failed"] is True
    assert (result["reason"], result["msg"]) == ("InvalidSpec", "spec.databaseName is empty")
    assert "mysqldatabase_failure" not in result


def test_fails_the_same_in_check_mode(run) -> None:
    result = run(check_mode=True, reason="ServerNotFound", message="no server")
    assert (result["failed"], result["reason"], result["msg"]) == (True, "ServerNotFound", "no server")
