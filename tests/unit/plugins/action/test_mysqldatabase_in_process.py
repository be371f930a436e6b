"""The in-process action plugin gives the same task results as running the modules the usual way.

Most tests run a real ansible-playbook twice, once with plugins/action (modules in the worker) and once
without (AnsiballZ and a new Python), and compare what the task registered. The guard's tests check that
the plugin takes the in-process path only under the ansible-core series it was written for, with the
internals it uses, and not when MYSQLDATABASE_IN_PROCESS=false; otherwise it runs the module the usual way.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import ansible.release
import ansible.vars.clean
import pytest
import yaml
from ansible.module_utils import basic
from ansible.plugins.action import ActionBase

from tests.unit.plugins.modules.secrets_api import SecretsApi, serving

REPO = Path(__file__).resolve().parents[4]
READY = {"conditions": [{"type": "Ready", "status": "True"}], "observedGeneration": 1}


@pytest.fixture
def api() -> Iterator[SecretsApi]:
    with serving() as server:
        yield server


# ansible-playbook under another ansible-core version number: the workers it forks inherit the patch.
AS_CORE_VERSION = (
    "import sys, ansible.release; ansible.release.__version__ = sys.argv.pop(1); sys.argv[0] = 'ansible-playbook'; "
    "from ansible.cli.playbook import main; sys.exit(main())"
)


def usual_way(module: str) -> str:
    """What ActionBase._execute_module displays at -vvv when it runs our `module`: it ran the usual way."""
    return f"Using module file {REPO / 'plugins' / 'modules' / module}.py"


OBJECTS_TASK = {
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


def run_task(
    tmp_path: Path, task: dict[str, Any], in_process: bool, show: str = "{{ result | to_json }}"
) -> dict[str, Any]:
    """Run one task on localhost and return what it registered (or the JSON `show` makes of it)."""
    return run_playbook(tmp_path, task, in_process, show)[0]


def run_playbook(
    tmp_path: Path,
    task: dict[str, Any],
    in_process: bool = True,
    show: str = "{{ result | to_json }}",
    environ: dict[str, str] | None = None,
    core_version: str | None = None,
    verbose: bool = False,
    times: int = 1,
) -> tuple[dict[str, Any], str]:
    """run_task, with `environ` added, optionally as ansible-core `core_version`, at -vvv and `times` in a
    row; also returns ansible-playbook's output (stdout and stderr)."""
    out = tmp_path / ("in-process.json" if in_process else "module.json")
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                *[{**task, "register": "result", "ignore_errors": True}] * times,
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
        **(environ or {}),
    }
    program = [str(Path(sys.executable).parent / "ansible-playbook")]
    if core_version:
        program = [sys.executable, "-c", AS_CORE_VERSION, core_version]
    done = subprocess.run(
        [*program, *(["-vvv"] if verbose else []), "-i", "localhost,", "-c", "local", str(playbook)],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
        text=True,
    )
    return json.loads(out.read_text()), done.stdout + done.stderr


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
    in_process, module = run_task(tmp_path, OBJECTS_TASK, True), run_task(tmp_path, OBJECTS_TASK, False)
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


# --- the guard: in process only on the ansible-core it was written for ---------------------------------


@pytest.fixture
def plugin() -> ModuleType:
    """plugins/action/mysqldatabase_in_process.py, loaded by path as Ansible loads it."""
    path = REPO / "plugins" / "action" / "mysqldatabase_in_process.py"
    spec = importlib.util.spec_from_file_location("mysqldatabase_in_process_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_installed_ansible_core_is_the_supported_series(plugin: ModuleType) -> None:
    # Fails on an ansible-core upgrade, on purpose: the plugin would fall back to the slower path. Check the
    # internals its docstring names against the new release, then move SUPPORTED_SERIES and run this file.
    installed = ansible.release.__version__
    assert plugin.core_series(installed) == plugin.SUPPORTED_SERIES, (
        f"ansible-core {installed} is installed; plugins/action/mysqldatabase_in_process.py was written for "
        f"{plugin.SUPPORTED_SERIES}"
    )
    assert plugin.unsupported_reason() is None


@pytest.mark.parametrize("version", ["2.19.0", "2.17.9", "3.0.0"])
def test_guard_trips_on_another_ansible_core_series(
    plugin: ModuleType, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setattr(ansible.release, "__version__", version)
    assert plugin.unsupported_reason() == (
        f"ansible-core {version} is not the 2.18 series the in-process execution was written for"
    )


def test_guard_accepts_any_release_of_the_series(plugin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ansible.release, "__version__", "2.18.0rc1")
    assert plugin.unsupported_reason() is None


def _parse_with_profile(self: ActionBase, res: dict[str, Any], profile: str) -> dict[str, Any]:
    return res


@pytest.mark.parametrize(
    ("owner", "attribute", "replacement", "internal"),
    [
        (basic, "_ANSIBLE_ARGS", None, "basic._ANSIBLE_ARGS"),
        (basic, "_load_params", lambda: {}, "basic._ANSIBLE_ARGS"),
        (ActionBase, "_update_module_args", None, "ActionBase._update_module_args"),
        (ActionBase, "_parse_returned_data", _parse_with_profile, "ActionBase._parse_returned_data"),
        (ansible.vars.clean, "remove_internal_keys", None, "ansible.vars.clean.remove_internal_keys"),
    ],
    ids=["args-gone", "args-unread", "update-gone", "parse-new-parameter", "clean-gone"],
)
def test_guard_trips_on_a_changed_internal(
    plugin: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    attribute: str,
    replacement: Any,
    internal: str,
) -> None:
    if replacement is None:
        monkeypatch.delattr(owner, attribute)
    else:
        monkeypatch.setattr(owner, attribute, replacement)
    reason = plugin.unsupported_reason()
    assert reason is not None and reason.endswith(f"lacks the internals the in-process execution uses: {internal}")


@pytest.mark.parametrize(
    ("value", "off"), [("false", True), ("0", True), ("Off", True), ("no", True), ("true", False), ("", False)]
)
def test_switch_turns_the_in_process_path_off(plugin: ModuleType, value: str, off: bool) -> None:
    assert plugin.switched_off({"MYSQLDATABASE_IN_PROCESS": value}) is off


def test_in_process_path_is_the_default(plugin: ModuleType) -> None:
    assert plugin.switched_off({}) is False


def without_traceback(result: dict[str, Any]) -> dict[str, Any]:
    # At -vvv a failed module adds its traceback, whose file names differ: the module's file, or the
    # copy AnsiballZ unpacked.
    return {key: value for key, value in result.items() if key != "exception"}


def test_supported_version_runs_the_module_in_process(tmp_path: Path) -> None:
    task = {"mysqldatabase_refuse": {"reason": "InvalidSpec", "message": "bad"}}
    result, output = run_playbook(tmp_path, task, verbose=True)
    assert result["reason"] == "InvalidSpec"
    assert usual_way("mysqldatabase_refuse") not in output and "[WARNING]" not in output


def test_switch_runs_the_module_the_usual_way_with_the_same_result(tmp_path: Path) -> None:
    in_process, _ = run_playbook(tmp_path, OBJECTS_TASK, verbose=True)
    usual, output = run_playbook(tmp_path, OBJECTS_TASK, environ={"MYSQLDATABASE_IN_PROCESS": "false"}, verbose=True)
    assert usual_way("mysqldatabase_objects") in output and "[WARNING]" not in output
    assert without_traceback(usual) == without_traceback(in_process)
    assert usual["reason"] == "ServerUnreachable"
    assert "hunter2" not in output


def test_unsupported_version_warns_once_and_runs_the_module_the_usual_way(tmp_path: Path) -> None:
    in_process, _ = run_playbook(tmp_path, OBJECTS_TASK, verbose=True)
    usual, output = run_playbook(tmp_path, OBJECTS_TASK, core_version="2.99.0", verbose=True, times=2)
    assert output.count(usual_way("mysqldatabase_objects")) == 2
    assert output.count("[WARNING]: ansible-core 2.99.0 is not the 2.18 series") == 1
    assert without_traceback(usual) == without_traceback(in_process)
    assert "hunter2" not in output
