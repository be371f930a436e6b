"""Rules the CRD schemas and the plugins both enforce must be the same rules."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import yaml
from ansible.module_utils import mysqldatabase_rules as rules
from ansible.module_utils.mysqldatabase_sql import TLS_MODES
from ansible.module_utils.mysqlserver import DEFAULT_PORT

from testbed.localenv.config import REPO_ROOT

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


def _database_spec() -> dict[str, Any]:
    return _schema("piwik.pro_mysqldatabases.yaml")["properties"]["spec"]["properties"]


def test_every_default_of_the_database_crd_is_the_rules_default() -> None:
    spec = _database_spec()
    assert {field: spec[field].get("default") for field in rules.SPEC_DEFAULTS} == rules.SPEC_DEFAULTS
    assert spec["serverRef"]["properties"]["name"]["default"] == rules.SPEC_DEFAULTS["serverRef"]["name"]


def test_the_database_crd_has_defaults_only_where_the_rules_define_them() -> None:
    # databaseName, username and secretName default to metadata.name, which a schema cannot say.
    defaulted = {field for field, schema in _database_spec().items() if "default" in schema}
    assert defaulted == set(rules.SPEC_DEFAULTS)


def test_limits_and_enums_of_the_database_crd_are_the_rules() -> None:
    spec = _database_spec()
    assert spec["databaseName"]["maxLength"] == rules.MAX_DATABASE_NAME
    assert spec["username"]["maxLength"] == rules.MAX_USER_NAME
    assert f"{{1,{rules.MAX_HOST_NAME}}}" in spec["userHost"]["pattern"]
    assert spec["maxUserConnections"]["maximum"] == rules.MAX_USER_CONNECTIONS
    assert set(spec["privileges"]["items"]["enum"]) == {"ALL", *rules.PRIVILEGES}
    assert tuple(spec["deletionPolicy"]["enum"]) == rules.DELETION_POLICIES


def test_immutability_rules_read_an_unset_field_as_its_default() -> None:
    rules_text = " ".join(v["rule"] for v in _schema("piwik.pro_mysqldatabases.yaml")["x-kubernetes-validations"])
    assert f"self.spec.userHost : '{rules.SPEC_DEFAULTS['userHost']}'" in rules_text
    assert f"self.spec.serverRef.name : '{rules.SPEC_DEFAULTS['serverRef']['name']}'" in rules_text
