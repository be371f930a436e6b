"""The background operator helper molecule's converge and cleanup call: its environment and its JSON answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed import background_operator
from testbed.localenv import operator, process
from testbed.localenv.config import REPO_ROOT, Paths


def test_extra_env_points_at_cluster_server_namespace_and_watched_namespace() -> None:
    env = background_operator.operator_extra_env("/k/config", "ops", "molecule-test")
    assert env == {
        "KUBECONFIG": "/k/config",
        "OPERATOR_NAMESPACE": "ops",
        "POD_NAMESPACE": "ops",
        "WATCH_NAMESPACE": "molecule-test",
    }


def _answer(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert background_operator.main(list(argv)) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_stop_and_status_without_operator_report_no_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _answer(capsys, "status", f"--state-dir={tmp_path}")["pid"] is None
    stopped = _answer(capsys, "stop", f"--state-dir={tmp_path}")
    assert stopped["changed"] is False
    assert stopped["log"] == str(tmp_path / "logs" / "ansible-operator.log")


def test_start_without_cluster_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert background_operator.main(["start", f"--state-dir={tmp_path}"]) == 2
    assert "set KUBECONFIG or pass --kubeconfig" in capsys.readouterr().err


def test_running_operator_is_kept_by_start_and_ended_by_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in process under the operator's PID file; another operator may hold the fixed ports here.
    monkeypatch.setattr(operator, "ports_free", lambda: True)
    pid = process.start(Paths(root=REPO_ROOT, state=tmp_path), "ansible-operator", ["sleep", "60"])
    started = _answer(capsys, "start", f"--state-dir={tmp_path}", "--kubeconfig=/k/config")
    assert started == {"changed": False, "pid": pid, "log": str(tmp_path / "logs" / "ansible-operator.log")}
    assert _answer(capsys, "stop", f"--state-dir={tmp_path}")["changed"] is True
    assert process.pid_of(Paths(root=REPO_ROOT, state=tmp_path), "ansible-operator") is None
