"""A spec field reaches the server end to end: declared in the CRD and in the rules (SPEC_FIELDS), read by the
settings filter into mysqldatabase_spec, and passed by the role to an option one of our modules documents.
Each test names the place a new field was forgotten (CONTRIBUTING.md: adding a spec field)."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mysqldatabase as filters
import pytest
import yaml
from ansible.module_utils.mysqldatabase_rules import SPEC_FIELDS

REPO_ROOT = Path(__file__).resolve().parents[2]
CRD = REPO_ROOT / "config" / "crd" / "bases" / "piwik.pro_mysqldatabases.yaml"
TASKS = sorted((REPO_ROOT / "roles" / "mysqldatabase" / "tasks").glob("*.yml"))
MODULES = REPO_ROOT / "plugins" / "modules"
# A valid value of each field other than its default, to prove the filter reads the field.
SAMPLES: dict[str, Any] = {
    "databaseName": "shop_db",
    "username": "shop_user",
    "characterSet": "utf8mb4",
    "collation": "utf8mb4_bin",
    "privileges": ["SELECT"],
    "userHost": "10.%",
    "maxUserConnections": 7,
    "secretName": "shop-conn",
    "secretTemplate": {"URL": "mysql://x"},
    "serverRef": {"name": "other"},
    "deletionPolicy": "Delete",
    "adoptExisting": True,
}


def crd_spec_fields() -> set[str]:
    schema = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return set(schema["properties"]["spec"]["properties"])


def module_tasks() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(task file, module, arguments) of every task that calls one of our modules, blocks included."""
    ours = {path.stem for path in MODULES.glob("*.py")}

    def walk(tasks: Any, where: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for task in tasks or []:
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key), where)
            yield from ((where, name, task[name]) for name in task if name in ours)

    for path in TASKS:
        yield from walk(yaml.safe_load(path.read_text()), path.name)


@functools.cache
def documented_options() -> dict[str, set[str]]:
    """Each of our modules' options as ansible-doc renders them (doc fragments included)."""
    modules = sorted(path.stem for path in MODULES.glob("*.py"))
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "--json", "-M", str(MODULES), *modules],
        cwd=REPO_ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return {name: set(entry["doc"].get("options") or {}) for name, entry in json.loads(shown.stdout).items()}


def test_the_crd_and_the_rules_declare_the_same_spec_fields() -> None:
    assert crd_spec_fields() == set(SPEC_FIELDS), "add the field to the CRD and to SPEC_FIELDS (rules)"


@pytest.mark.parametrize("field", sorted(SPEC_FIELDS))
def test_the_filter_reads_each_field_into_its_key(field: str) -> None:
    assert field in SAMPLES, f"add a valid sample value of {field} to SAMPLES"
    cr = {"apiVersion": "piwik.pro/v1", "kind": "MySQLDatabase"}
    cr["metadata"] = {"name": "app", "namespace": "team-a", "uid": "u1", "generation": 1}
    plain = filters.mysqldatabase_spec({**cr, "spec": {}})
    settings = filters.mysqldatabase_spec({**cr, "spec": {field: SAMPLES[field]}})
    key = SPEC_FIELDS[field]
    assert settings["valid"], settings["message"]
    assert settings[key] != plain[key], f"the filter does not read spec.{field} into mysqldatabase_spec.{key}"


def carriers(key: str) -> re.Pattern[str]:
    """mysqldatabase_spec.<key>, or a role variable (vars/main.yml) whose value uses it."""
    direct = rf"\bmysqldatabase_spec\.{key}\b"
    role_vars = yaml.safe_load((REPO_ROOT / "roles" / "mysqldatabase" / "vars" / "main.yml").read_text())
    names = [rf"\b{name}\b" for name, value in role_vars.items() if re.search(direct, str(value))]
    return re.compile("|".join([direct, *names]))


@pytest.mark.parametrize("field", sorted(SPEC_FIELDS))
def test_the_role_passes_each_field_to_a_module(field: str) -> None:
    reference = carriers(SPEC_FIELDS[field])
    used = [f"{where}: {module}" for where, module, args in module_tasks() if reference.search(str(args))]
    assert used, f"no task of roles/mysqldatabase passes mysqldatabase_spec.{SPEC_FIELDS[field]} to a module"


def test_the_role_passes_only_options_the_modules_document() -> None:
    for where, module, args in module_tasks():
        unknown = set(args) - documented_options()[module]
        assert not unknown, f"{where}: {module} has no option {sorted(unknown)}"
