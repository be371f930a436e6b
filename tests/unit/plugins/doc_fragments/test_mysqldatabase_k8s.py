"""The shared connection options' documentation: every Kubernetes module renders it, exactly as it parses them."""

from __future__ import annotations

import importlib
import json

import pytest
import yaml

from tests.unit.plugins.ansible_doc import ansible_doc

MODULES = ("mysqldatabase_secret", "mysqldatabase_secret_info", "mysqldatabase_status", "mysqlserver_dependents")


@pytest.fixture(scope="module")
def rendered() -> dict:
    """ansible-doc's JSON for the modules, with the doc fragment merged in as Ansible merges it."""
    doc = ansible_doc("--json", *MODULES)
    assert doc.returncode == 0, doc.stderr
    return json.loads(doc.stdout)


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_are_exactly_the_argument_spec(rendered: dict, name: str) -> None:
    spec = importlib.import_module(name).ARGUMENT_SPEC
    options = rendered[name]["doc"]["options"]
    assert set(options) == set(spec)
    for option, entry in spec.items():
        assert options[option]["type"] == entry["type"], (name, option)
        assert options[option].get("default") == entry.get("default"), (name, option)
        assert options[option].get("required", False) == entry.get("required", False), (name, option)


@pytest.mark.parametrize("name", MODULES)
def test_connection_options_are_documented_only_in_the_fragment(rendered: dict, name: str) -> None:
    module = importlib.import_module(name)
    own = yaml.safe_load(module.DOCUMENTATION)
    assert not set(own["options"]) & {"api_url", "api_key", "ca_cert", "validate_certs", "kubeconfig"}
    wanted = ["mysqldatabase_k8s"] + (["mysqldatabase_k8s.kubeconfig"] if "kubeconfig" in module.ARGUMENT_SPEC else [])
    assert own["extends_documentation_fragment"] == wanted
    # ...and rendered from it.
    assert "K8S_AUTH_HOST" in " ".join(rendered[name]["doc"]["options"]["api_url"]["description"])
