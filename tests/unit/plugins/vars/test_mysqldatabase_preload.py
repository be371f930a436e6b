"""The preload vars plugin: what it loads in ansible-playbook's main process, and that it adds no variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]

# Runs in a fresh Python with the repository's ansible.cfg, as ansible-playbook's main process would.
PROBE = """
import json, sys
from ansible.plugins.loader import vars_loader, filter_loader
(plugin,) = [p for p in vars_loader.all() if p.ansible_name.endswith("mysqldatabase_preload")]
ours = ("ansible.module_utils.mysqldatabase", "ansible.module_utils.mysqlserver", "ansible.module_utils.mysql_")
before = sorted(n for n in sys.modules if n.startswith(("pymysql", *ours)))
variables = plugin.get_vars(None, "/nonexistent", [])
after = [n for n in sys.modules if n in ("ansible.module_utils.basic", "urllib.request", "pymysql.cursors")
         or n.startswith(ours)]
print(json.dumps({"before": before, "after": sorted(after), "vars": variables,
                  "filters": bool(filter_loader._cached_non_collection_wrappers)}))
"""


def probe(env_extra: dict[str, str] | None = None) -> dict:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), **(env_extra or {})}
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_first_use_imports_the_modules_libraries_and_loads_the_filters() -> None:
    seen = probe()
    assert seen["before"] == []
    # Every module_utils of ours, so that a new one is not forgotten here.
    ours = [f"ansible.module_utils.{path.stem}" for path in (REPO / "plugins" / "module_utils").glob("*.py")]
    assert seen["after"] == sorted(["ansible.module_utils.basic", *ours, "pymysql.cursors", "urllib.request"])
    assert seen["filters"] is True
    assert seen["vars"] == {}


def test_a_library_that_cannot_be_imported_is_left_to_the_module(tmp_path: Path) -> None:
    # A pymysql that fails to import: the plugin must not fail the run (the SQL module reports it).
    broken = tmp_path / "pymysql"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('no PyMySQL here')\n")
    seen = probe({"PYTHONPATH": str(tmp_path)})
    assert "pymysql.cursors" not in seen["after"]
    assert "ansible.module_utils.mysqldatabase_k8s" in seen["after"]
    assert seen["vars"] == {}
