# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of our own modules inside the task's worker process.

ansible-operator reconciles on the host it runs on (connection local), so a module's usual trip costs
more than its work: the worker scans the module's imports to build an AnsiballZ zip, then a new Python
starts, unpacks it and compiles ansible.module_utils.basic from source, for a module whose own work is a
few requests to the API server or MySQL (the README's `make bench` figures, under Tests, show the cost).
Each task already runs in a worker that Ansible forks for it and that exits when the task ends, so this
plugin runs the module's own ``main()`` right there: same argument handling (AnsibleModule, its
argument_spec, no_log values, fallbacks), same JSON result, parsed and cleaned the way
ActionBase._execute_module does it. Whatever the module changes in the interpreter (its arguments, stdout,
the SystemExit of exit_json) ends with the worker.

That path touches ansible-core internals (basic._ANSIBLE_ARGS, ActionBase._update_module_args and
_parse_returned_data, ansible.vars.clean.remove_internal_keys), so it is taken only under the ansible-core
series it was written and tested for (SUPPORTED_SERIES, that of the ansible-operator v1.42.2 image) and
only while those internals have the shape it expects. Otherwise the module runs the usual way
(ActionBase._execute_module: AnsiballZ and a new Python), with the same result, and a warning says why.
The environment variable MYSQLDATABASE_IN_PROCESS=false (or no, off, 0) forces the usual way without a
warning, e.g. on the operator's Deployment to rule this plugin out.

The modules' files stay the source of truth. plugins/action/<module>.py are links to this file, so a
task names the module itself; a module without such a link runs the usual way.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any, cast

import ansible.module_utils
from ansible import constants as C
from ansible import release
from ansible.module_utils import basic
from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

display = Display()

SWITCH = "MYSQLDATABASE_IN_PROCESS"
# The ansible-core series whose internals this plugin was written and tested against (major.minor).
SUPPORTED_SERIES = "2.18"


def switched_off(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for the usual module execution (MYSQLDATABASE_IN_PROCESS=false)."""
    return environ.get(SWITCH, "").strip().lower() in BOOLEANS_FALSE


def core_series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def unsupported_reason() -> str | None:
    """Why the in-process path cannot be trusted under the installed ansible-core; None when it can."""
    version = release.__version__
    if core_series(version) != SUPPORTED_SERIES:
        return f"ansible-core {version} is not the {SUPPORTED_SERIES} series the in-process execution was written for"
    missing = [name for name, ok in _internals().items() if not ok]
    if missing:
        return f"ansible-core {version} lacks the internals the in-process execution uses: {', '.join(missing)}"
    return None


def _internals() -> dict[str, bool]:
    """Each internal the in-process path relies on, and whether it has the expected shape."""
    clean = _import_or_none("ansible.vars.clean")
    load_params = getattr(basic, "_load_params", None)
    return {
        "basic._ANSIBLE_ARGS": hasattr(basic, "_ANSIBLE_ARGS")
        and "_ANSIBLE_ARGS" in getattr(getattr(load_params, "__code__", None), "co_names", ()),
        "ActionBase._update_module_args": _takes(
            getattr(ActionBase, "_update_module_args", None), "self", "module_name", "module_args", "task_vars"
        ),
        "ActionBase._parse_returned_data": _takes(getattr(ActionBase, "_parse_returned_data", None), "self", "res"),
        "ansible.vars.clean.remove_internal_keys": _takes(getattr(clean, "remove_internal_keys", None), "data"),
    }


def _import_or_none(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _takes(function: Any, *names: str) -> bool:
    """Whether `function` is callable with exactly these positional parameters first, and no others required."""
    if not callable(function):
        return False
    params = list(inspect.signature(function).parameters.values())
    if [p.name for p in params[: len(names)]] != list(names):
        return False
    return all(p.default is not inspect.Parameter.empty for p in params[len(names) :])


def _module_utils_importable() -> None:
    # The controller imports only Ansible's own module_utils; ours are configured for modules.
    # ansible.constants defines its settings at import time from the config definitions; mypy cannot see them.
    for path in C.DEFAULT_MODULE_UTILS_PATH:  # type: ignore[attr-defined]
        if path not in ansible.module_utils.__path__:
            ansible.module_utils.__path__.append(path)


class ActionModule(ActionBase):
    # The module decides: AnsibleModule answers check mode itself, as it does when run the usual way.
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        # ActionBase.run and _parse_returned_data carry no annotations in ansible-core.
        result: dict[str, Any] = super().run(tmp, task_vars)  # type: ignore[no-untyped-call]
        task_vars = task_vars or {}
        if switched_off(os.environ):
            display.vvv(f"{SWITCH} is off: running {self._task.action} the usual way")
            result.update(self._run_as_module(task_vars))
        elif reason := unsupported_reason():
            # Display deduplicates warnings: one line per playbook run, not one per task.
            display.warning(f"{reason} (plugins/action): the role's modules run the usual way, at a higher CPU cost")
            result.update(self._run_as_module(task_vars))
        else:
            result.update(self._run_in_process(task_vars))
        return cast("dict[str, Any]", wrap_var(result))

    def _run_as_module(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        """What ansible.builtin.normal does for a module without an action plugin."""
        try:
            data: dict[str, Any] = self._execute_module(
                module_name=self._task.action, module_args=self._task.args.copy(), task_vars=task_vars
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # type: ignore[no-untyped-call]
        return data

    def _run_in_process(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        name = self._task.action.rpartition(".")[2]
        module_args = self._task.args.copy()
        self._update_module_args(name, module_args, task_vars)
        path = self._shared_loader_obj.module_loader.find_plugin(name, mod_type=".py")
        if not path:
            return {"failed": True, "msg": f"module {name} not found for in-process execution"}
        return self._run_main(name, path, module_args)

    def _run_main(self, name: str, path: str, module_args: dict[str, Any]) -> dict[str, Any]:
        _module_utils_importable()
        # ansible-core declares _ANSIBLE_ARGS = None and fills it with the arguments' JSON bytes itself.
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}).encode("utf-8")  # type: ignore[assignment]
        stdout = io.StringIO()
        try:
            spec = importlib.util.spec_from_file_location(f"ansible_in_process_{name}", path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path} as a module")
            module = importlib.util.module_from_spec(spec)
            # Registered first, as importlib's recipe says: dataclasses look their module up while it loads.
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            with contextlib.redirect_stdout(stdout), contextlib.suppress(SystemExit):
                module.main()
        except Exception:  # a crash is reported as Ansible reports a remote traceback
            return {"failed": True, "msg": "MODULE FAILURE", "exception": traceback.format_exc()}
        data: dict[str, Any] = self._parse_returned_data(  # type: ignore[no-untyped-call]
            {"stdout": stdout.getvalue(), "stderr": ""}
        )
        importlib.import_module("ansible.vars.clean").remove_internal_keys(data)
        return data
