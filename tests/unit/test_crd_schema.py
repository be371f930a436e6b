"""Rules the CRD schemas and the plugins both enforce must be the same rules."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import yaml
from ansible.module_utils.mysqldatabase_sql import TLS_MODES
from ansible.module_utils.mysqlserver import DEFAULT_PORT

from external_mysql_operator.localenv.config import REPO_ROOT

CRDS = REPO_ROOT / "config" / "crd" / "bases"


def _schema(name: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / name).read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _filter_module() -> Any:
    spec = importlib.util.spec_from_file_location("mysqldatabase_filter", REPO_ROOT / "plugins/filter/mysqldatabase.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tls_modes_of_the_server_crd_are_the_ones_the_connection_knows() -> None:
    tls = _schema("piwik.pro_mysqlservers.yaml")["properties"]["spec"]["properties"]["tls"]["properties"]["mode"]
    assert tuple(tls["enum"]) == TLS_MODES


def test_server_port_default_of_the_crd_is_the_plugins_default() -> None:
    port = _schema("piwik.pro_mysqlservers.yaml")["properties"]["spec"]["properties"]["port"]
    assert port["default"] == DEFAULT_PORT


def test_secret_keys_the_crd_reserves_are_the_ones_the_operator_writes() -> None:
    template = _schema("piwik.pro_mysqldatabases.yaml")["properties"]["spec"]["properties"]["secretTemplate"]
    rule = next(v["rule"] for v in template["x-kubernetes-validations"] if "!(k in" in v["rule"])
    reserved = set(re.findall(r"'([^']+)'", rule))
    assert reserved == set(_filter_module().SECRET_KEYS)
