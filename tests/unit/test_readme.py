"""The README prints the admin privileges the operator checks; they must be the same list."""

from __future__ import annotations

import re

import pytest
from ansible.module_utils.mysqldatabase_sql import required_admin_privileges

from testbed.localenv.config import REPO_ROOT


def _readme_grant(flavor: str) -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split(f"<!-- admin-privileges: {flavor} ", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    statements = " ".join(block.split()).split(";")
    grants = [re.match(r" ?GRANT (.+) ON \*\.\* TO \S+ WITH GRANT OPTION$", statement) for statement in statements]
    privileges = [match.group(1) for match in grants if match]
    assert len(privileges) == 1, block
    return [name.strip() for name in privileges[0].split(",")]


@pytest.mark.parametrize("flavor", ["mysql", "mariadb"])
def test_readme_lists_exactly_the_privileges_the_server_check_requires(flavor: str) -> None:
    listed = [*_readme_grant(flavor), "GRANT OPTION"]
    assert sorted(listed) == sorted(required_admin_privileges(flavor))


def test_delete_history_is_required_only_on_mariadb() -> None:
    assert "DELETE HISTORY" not in required_admin_privileges("mysql")
    assert set(required_admin_privileges("mysql")) < set(required_admin_privileges("mariadb"))
