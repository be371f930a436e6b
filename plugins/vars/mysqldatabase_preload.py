# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load what the role's tasks need once, in ansible-playbook's main process, before it forks workers.

Ansible forks a worker for every task, and a worker starts with what its parent had imported. The role's
modules run in the worker (plugins/action/mysqldatabase_in_process.py), so without this each of them
would import ansible.module_utils.basic, urllib.request, PyMySQL and our module_utils again, and the first
template of each task would load every filter plugin again. Vars plugins are loaded by the main process when it
computes the first task's variables, before the first fork; this one provides no variables.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: mysqldatabase_preload
short_description: Import the mysqldatabase role's libraries once, before Ansible forks its task workers
description:
  - Provides no variables. On first use it imports what the role's modules and filters need
    (ansible.module_utils.basic, urllib.request, PyMySQL, the role's module_utils) and loads the filter
    and test plugins, so that every task's forked worker inherits them instead of loading them again.
  - A library that cannot be imported is left to the module that needs it, which reports it.
author:
  - external-mysql-operator contributors
"""

import contextlib
import functools
import importlib
from typing import TYPE_CHECKING, Any

import ansible.module_utils
from ansible import constants as C
from ansible.plugins.loader import filter_loader, test_loader
from ansible.plugins.vars import BaseVarsPlugin

if TYPE_CHECKING:
    from ansible.inventory.group import Group
    from ansible.inventory.host import Host
    from ansible.parsing.dataloader import DataLoader

PRELOADED = (
    "ansible.module_utils.basic",
    "urllib.request",
    "pymysql",
    "pymysql.cursors",
    "ansible.module_utils.mysql_password_hashes",
    "ansible.module_utils.mysqldatabase_conditions",
    "ansible.module_utils.mysqldatabase_k8s",
    "ansible.module_utils.mysqldatabase_rules",
    "ansible.module_utils.mysqldatabase_secrets",
    "ansible.module_utils.mysqldatabase_sql",
    "ansible.module_utils.mysqlserver",
)


@functools.cache
def preload() -> None:
    """Import PRELOADED and load the Jinja plugins, once per process."""
    # The controller imports only Ansible's own module_utils; ours are configured for modules.
    # ansible.constants defines its settings at import time from the config definitions; mypy cannot see them.
    for path in C.DEFAULT_MODULE_UTILS_PATH:  # type: ignore[attr-defined]
        if path not in ansible.module_utils.__path__:
            ansible.module_utils.__path__.append(path)
    for name in PRELOADED:
        # What cannot be imported is left to the module that needs it, which reports it.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # Either lookup loads (and caches) every filter, or every test, plugin on the configured paths.
    filter_loader.get("mysqldatabase_spec")
    test_loader.get("success")


class VarsModule(BaseVarsPlugin):
    """Runs without being enabled: its only effect is the preload."""

    REQUIRES_ENABLED = False

    def get_vars(
        self, loader: DataLoader, path: str, entities: list[Host | Group], cache: bool = True
    ) -> dict[str, Any]:
        preload()
        return {}
