"""The shared connection options' documentation: every Kubernetes module renders it from the fragment.

That the rendered options are exactly what the modules parse is tests/unit/plugins/modules/test_documentation.py.
"""

from __future__ import annotations

import importlib

import pytest
import yaml

MODULES = ("mysqldatabase_secret", "mysqldatabase_secret_info", "mysqldatabase_status", "mysqlserver_dependents")


@pytest.mark.parametrize("name", MODULES)
def test_connection_options_are_documented_only_in_the_fragment(rendered_docs: dict, name: str) -> None:
    module = importlib.import_module(name)
    own = yaml.safe_load(module.DOCUMENTATION)
    assert not set(own["options"]) & {"api_url", "api_key", "ca_cert", "validate_certs", "kubeconfig"}
    wanted = ["mysqldatabase_k8s"] + (["mysqldatabase_k8s.kubeconfig"] if "kubeconfig" in module.ARGUMENT_SPEC else [])
    assert own["extends_documentation_fragment"] == wanted
    # ...and rendered from it.
    assert "K8S_AUTH_HOST" in " ".join(rendered_docs[name]["doc"]["options"]["api_url"]["description"])
