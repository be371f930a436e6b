"""ansible-doc's rendering of our modules, shared by the documentation tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.plugins.ansible_doc import MODULES, ansible_doc


@pytest.fixture(scope="session")
def rendered_docs() -> dict[str, Any]:
    """ansible-doc's JSON for every module, with the doc fragments merged in as Ansible merges them.

    One ansible-doc run for the session: each run starts Ansible's plugin loader, which takes seconds.
    """
    doc = ansible_doc("--json", *MODULES)
    assert doc.returncode == 0, doc.stderr
    return json.loads(doc.stdout)
