"""Make the repository's Ansible plugins importable as Ansible loads them."""

from __future__ import annotations

import sys
from pathlib import Path

import ansible.module_utils

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"

for folder in ("filter", "modules"):
    if str(PLUGINS / folder) not in sys.path:
        sys.path.insert(0, str(PLUGINS / folder))
if str(PLUGINS / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PLUGINS / "module_utils"))
