"""Every module's documentation, as ansible-doc renders it, describes exactly the options it parses."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tests.unit.plugins.ansible_doc import MODULES


def assert_documents(options: dict[str, Any], spec: dict[str, Any], where: str) -> None:
    """The documented options match the argument_spec: names, types, defaults, choices, required, suboptions."""
    assert set(options) == set(spec), where
    for name, entry in spec.items():
        documented = options[name]
        for key in ("type", "elements", "default", "choices"):
            assert documented.get(key) == entry.get(key), (where, name, key)
        assert documented.get("required", False) == entry.get("required", False), (where, name)
        if "options" in entry:
            assert_documents(documented["suboptions"], entry["options"], f"{where}.{name}")


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_are_exactly_the_argument_spec(rendered_docs: dict, name: str) -> None:
    spec = importlib.import_module(name).ARGUMENT_SPEC
    assert_documents(rendered_docs[name]["doc"]["options"], spec, name)


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_return_values_render(rendered_docs: dict, name: str) -> None:
    assert rendered_docs[name]["examples"].strip()
    assert rendered_docs[name]["return"]
