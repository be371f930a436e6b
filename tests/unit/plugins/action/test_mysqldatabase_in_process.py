"""The in-process action plugin gives the same task results as running the modules the usual way.

Each test runs a real ansible-playbook twice, once with plugins/action (modules in the worker) and once
without (AnsiballZ and a new Python), and compares what the task registered.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.plugins.modules.secrets_api import SecretsApi, serving

REPO = Path(__file__).resolve().parents[4]
READY = {"conditions": [{"type": "Ready", "status": "True"}], "observedGeneration": 1}


@pytest.fixture
def api() -> Iterator[SecretsApi]:
    with serving() as server:
        yield server


def run_task(
    tmp_path: Path, task: dict[str, Any], in_process: bool, show: str = "{{ result | to_json }}"
) -> dict[str, Any]:
    """Run one task on localhost and return what it registered (or the JSON `show` makes of it)."""
    out = tmp_path / ("in-process.json" if in_process else "module.json")
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {**task, "register": "result", "ignore_errors": True},
                {"ansible.builtin.copy": {"content": show, "dest": str(out)}},
            ],
        }
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_ACTION_PLUGINS": str(REPO / "plugins" / "action") if in_process else str(tmp_path / "none"),
    }
    subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    return json.loads(out.read_text())


def test_every_module_has_an_in_process_link() -> None:
    modules = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py"))
    assert {"mysqlserver_dependents", "mysqlserver_preflight"} <= set(modules)
    for name in modules:
        link = REPO / "plugins" / "action" / f"{name}.py"
        assert link.is_symlink() and os.readlink(link) == "mysqldatabase_in_process.py", name


def add_server(api: SecretsApi, host: str = "host", credentials: dict | None = None) -> None:
    """The MySQLServer `default`, Ready, with its credentials Secret in the namespace `ops`."""
    api.add_server("default", {"host": host, "credentialsSecretRef": {"name": "admin"}}, READY)
    api.add("ops", "admin", data=credentials or {"username": "YWRtaW4=", "password": "cHc="})


def test_secret_info_result_is_the_modules(api: SecretsApi, tmp_path: Path) -> None:
    add_server(api)
    api.add("team-a", "shop", data={"password": "cHc="})
    task = {
        "mysqldatabase_secret_info": {
            "api_url": api.url,
            "server_namespace": "ops",
            "server_name": "default",
            "namespace": "team-a",
            "name": "shop",
        }
    }
    in_process, module = run_task(tmp_path, task, True), run_task(tmp_path, task, False)
    assert in_process == module
    assert (in_process["server"]["host"], in_process["app_secret"]["data"]) == ("host", {"password": "cHc="})


def test_results_are_data_never_templates(api: SecretsApi, tmp_path: Path) -> None:
    # A Secret's or a MySQLServer's content reaches the role marked unsafe: Jinja in it is passed on
    # as text, never run.
    jinja = base64.b64encode(b"{{ 6 * 7 }}").decode()
    add_server(api, host="{{ 6 * 7 }}", credentials={"username": jinja, "password": jinja})
    task = {"mysqldatabase_secret_info": {"api_url": api.url, "server_namespace": "ops", "server_name": "default"}}
    show = "{{ {'host': result.server.host, 'username': result.server.username} | to_json }}"
    shown = run_task(tmp_path, task, True, show=show)
    assert shown == {"host": "{{ 6 * 7 }}", "username": "{{ 6 * 7 }}"}


def test_failure_and_no_log_values_are_the_modules(tmp_path: Path) -> None:
    task = {
        "mysqldatabase_objects": {
            "login_host": "127.0.0.1",
            "login_port": 9,
            "login_user": "admin",
            "login_password": "hunter2-admin",
            "connect_timeout": 2,
            "database": "app",
            "username": "app",
            "password": "hunter2-app",
            "owner_namespace": "team-a",
            "owner_name": "app",
            "owner_uid": "u1",
        }
    }
    in_process, module = run_task(tmp_path, task, True), run_task(tmp_path, task, False)
    assert in_process == module
    assert in_process["failed"] is True
    assert in_process["reason"] == "ServerUnreachable"
    assert "hunter2" not in json.dumps(in_process)


def test_refusal_result_is_the_modules(tmp_path: Path) -> None:
    task = {"mysqldatabase_refuse": {"reason": "InvalidSpec", "message": "bad"}}
    in_process, module = run_task(tmp_path, task, True), run_task(tmp_path, task, False)
    assert in_process == module
    assert (in_process["failed"], in_process["reason"], in_process["msg"]) == (True, "InvalidSpec", "bad")


def test_preflight_failure_is_the_modules(tmp_path: Path) -> None:
    task = {
        "mysqlserver_preflight": {
            "login_host": "127.0.0.1",
            "login_port": 9,
            "login_user": "admin",
            "login_password": "hunter2-admin",
            "connect_timeout": 2,
        }
    }
    in_process, module = run_task(tmp_path, task, True), run_task(tmp_path, task, False)
    assert in_process == module
    assert (in_process["failed"], in_process["reason"]) == (True, "ServerUnreachable")
    assert "hunter2" not in json.dumps(in_process)


def test_dependents_result_is_the_modules(api: SecretsApi, tmp_path: Path) -> None:
    api.add_database("team-a", "shop")
    api.add_database("team-b", "blog", {"serverRef": {"name": "eu"}})
    task = {"mysqlserver_dependents": {"api_url": api.url, "server_name": "default"}}
    in_process, module = run_task(tmp_path, task, True), run_task(tmp_path, task, False)
    assert in_process == module
    assert (in_process["dependents"], in_process["count"]) == (["team-a/shop"], 1)
