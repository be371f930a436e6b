"""The README prints the admin privileges the operator checks; they must be the same list."""

from __future__ import annotations

import re

from ansible.module_utils.mysqldatabase_sql import required_admin_privileges

from external_mysql_operator.localenv.config import REPO_ROOT


def _readme_grant() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split("<!-- admin-privileges:", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    statement = " ".join(block.split("--")[0].split())
    privileges = re.match(r"GRANT (.+) ON \*\.\* TO \S+ WITH GRANT OPTION;", statement)
    assert privileges, statement
    return [name.strip() for name in privileges.group(1).split(",")]


def test_readme_lists_exactly_the_privileges_the_server_check_requires() -> None:
    listed = [*_readme_grant(), "GRANT OPTION"]
    assert sorted(listed) == sorted(required_admin_privileges("mariadb"))


def test_delete_history_is_required_only_on_mariadb() -> None:
    assert "DELETE HISTORY" not in required_admin_privileges("mysql")
    assert set(required_admin_privileges("mysql")) < set(required_admin_privileges("mariadb"))
