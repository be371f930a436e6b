"""The MySQL connection options' documentation: both SQL modules render it from the fragment.

That the rendered options are exactly what the modules parse is tests/unit/plugins/modules/test_documentation.py.
"""

from __future__ import annotations

import importlib

import pytest
import yaml
from ansible.module_utils.mysqldatabase_sql import login_argument_spec

# query_timeout stays in each module: its default differs.
FRAGMENT_OPTIONS = set(login_argument_spec(query_timeout=0)) - {"query_timeout"}


@pytest.mark.parametrize("name", ["mysqldatabase_objects", "mysqlserver_preflight"])
def test_login_options_and_requirements_come_only_from_the_fragment(rendered_docs: dict, name: str) -> None:
    own = yaml.safe_load(importlib.import_module(name).DOCUMENTATION)
    assert own["extends_documentation_fragment"] == ["mysqldatabase_sql"]
    assert not set(own["options"]) & FRAGMENT_OPTIONS and "requirements" not in own
    rendered = rendered_docs[name]["doc"]
    assert set(rendered["options"]) >= FRAGMENT_OPTIONS and rendered["requirements"] == ["PyMySQL >= 1.0"]
