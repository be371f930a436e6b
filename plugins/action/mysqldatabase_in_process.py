# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the role's own modules inside the task's worker process.

ansible-operator reconciles on the host it runs on (connection local), so a module's usual trip costs
more than its work: the worker scans the module's imports to build an AnsiballZ zip (about 0.3 CPU-s),
then a new Python starts, unpacks it and compiles ansible.module_utils.basic from source (about
0.5 CPU-s), for a module that sends two HTTP requests. Each task already runs in a worker that Ansible
forks for it and that exits when the task ends, so this plugin runs the module's own ``main()`` right
there: same argument handling (AnsibleModule, its argument_spec, no_log values, fallbacks), same JSON
result, parsed and cleaned the way ActionBase._execute_module does it. Whatever the module changes in
the interpreter (its arguments, stdout, the SystemExit of exit_json) ends with the worker.

The modules' files stay the source of truth. plugins/action/<module>.py are links to this file, so a
task names the module as before; a module without such a link runs the usual way.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import traceback
from typing import Any, cast

import ansible.module_utils
from ansible import constants as C
from ansible.module_utils import basic
from ansible.plugins.action import ActionBase
from ansible.utils.unsafe_proxy import wrap_var
from ansible.vars.clean import remove_internal_keys


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
        name = self._task.action.rpartition(".")[2]
        module_args = self._task.args.copy()
        self._update_module_args(name, module_args, task_vars or {})
        path = self._shared_loader_obj.module_loader.find_plugin(name, mod_type=".py")
        if not path:
            result.update(failed=True, msg=f"module {name} not found for in-process execution")
            return result
        result.update(self._run_main(name, path, module_args))
        return cast("dict[str, Any]", wrap_var(result))

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
        remove_internal_keys(data)
        return data
