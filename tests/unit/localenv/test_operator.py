"""The environment ansible-operator runs with, and the check of its hard-coded ports."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from testbed.localenv import operator
from testbed.localenv.config import Paths, State


def test_operator_env_points_at_venv_collections_and_plugins(tmp_path: Path) -> None:
    paths = Paths(root=tmp_path, state=tmp_path / "state")
    env = operator.operator_env(paths, "/k/config", base={"PATH": "/usr/bin"})
    assert env["PATH"].split(":")[:2] == [str(tmp_path / ".venv" / "bin"), str(tmp_path / "bin")]
    assert env["VIRTUAL_ENV"] == str(tmp_path / ".venv")
    assert env["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")
    assert env["ANSIBLE_GATHERING"] == "explicit"
    assert env["KUBECONFIG"] == "/k/config"
    assert env["POD_NAMESPACE"] == env["OPERATOR_NAMESPACE"] == "external-mysql-operator-system"


def test_plugins_are_compiled_even_when_python_would_not_write_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    (tmp_path / "plugins" / "modules").mkdir(parents=True)
    (tmp_path / "plugins" / "modules" / "m.py").write_text("X = 1\n")
    operator.compile_plugins(Paths(root=tmp_path, state=tmp_path / "state"))
    cached = tmp_path / "plugins" / "modules" / "__pycache__" / f"m.{sys.implementation.cache_tag}.pyc"
    assert cached.is_file()


def test_taken_fixed_port_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        monkeypatch.setattr(operator, "FIXED_PORTS", (holder.getsockname()[1],))
        with pytest.raises(operator.PortsTaken, match="only one operator runs per machine"):
            operator.check_fixed_ports()


def test_state_round_trips_and_is_private(tmp_path: Path) -> None:
    paths = Paths(root=tmp_path, state=tmp_path / "state")
    State(apiserver_port=1234, mysql_admin_password="pw").save(paths)
    assert State.load(paths).apiserver_port == 1234
    assert paths.state_file.stat().st_mode & 0o077 == 0


def test_operator_env_never_carries_a_password_variable(tmp_path: Path) -> None:
    # ansible-runner writes its environment into every run's artifacts; `make -s localenv-env` exports these.
    base = {"PATH": "/usr/bin", "MYSQL_ADMIN_PASSWORD": "x", "MYSQL_HARDENED_ADMIN_PASSWORD": "y", "GH_TOKEN": "z"}
    env = operator.operator_env(Paths(root=tmp_path, state=tmp_path / "s"), "/k/config", base=base)
    assert not {"MYSQL_ADMIN_PASSWORD", "MYSQL_HARDENED_ADMIN_PASSWORD", "GH_TOKEN"} & set(env)
    assert env["KUBECONFIG"] == "/k/config"
