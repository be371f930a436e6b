"""The hardened MariaDB of the local environment: its configuration, its admin, its place in the state,
the environment and the cluster. Started for real by tests/e2e (test_hardened_server.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ansible.module_utils.mysqldatabase_sql import required_admin_privileges

from testbed.localenv import cluster, env, hardened, mariadb
from testbed.localenv.config import CA_SECRET_NAME, HARDENED_SECRET_NAME, Paths, State


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(root=tmp_path, state=tmp_path / "state")


def test_a_state_file_from_before_the_hardened_server_loads_and_is_completed(paths: Paths) -> None:
    paths.state.mkdir()
    paths.state_file.write_text(json.dumps({"apiserver_port": 1234, "mysql_port": 2345, "mysql_admin_password": "pw"}))

    assert State.load(paths).mysql_hardened_port == 0
    state = env.load_or_create(paths)

    assert state.mysql_hardened_port > 0 and state.mysql_hardened_admin_password
    assert (state.apiserver_port, state.mysql_port) == (1234, 2345)
    assert State.load(paths) == state, "the completed state is saved, so its port stays"
    assert env.load_or_create(paths) == state


def test_a_new_state_has_a_port_and_an_admin_for_the_hardened_server(paths: Paths) -> None:
    state = env.load_or_create(paths)

    assert state.mysql_hardened_port not in (0, state.mysql_port)
    assert state.mysql_hardened_admin_user == "operator_admin"


def test_admin_password_satisfies_simple_password_check_at_its_defaults() -> None:
    for _ in range(50):
        password = hardened.new_admin_password()
        assert len(password) >= 8 and re.search(r"\d", password) and re.search(r"[^A-Za-z0-9]", password)
        assert re.search(r"[a-z]", password) and re.search(r"[A-Z]", password)
    assert hardened.new_admin_password() != hardened.new_admin_password()


def test_server_loads_the_password_plugins_and_requires_tls(paths: Paths) -> None:
    options = hardened.options(paths)

    assert {"--plugin-load-add=simple_password_check", "--plugin-load-add=password_reuse_check"} <= set(options)
    assert "--require-secure-transport=ON" in options
    assert f"--default-password-lifetime={hardened.PASSWORD_LIFETIME_DAYS}" in options
    assert f"--ssl-cert={paths.pki / 'mariadb.crt'}" in options and f"--ssl-ca={paths.pki / 'ca.crt'}" in options


def test_root_is_exempted_from_the_password_lifetime_at_first_start(paths: Paths) -> None:
    paths.state.mkdir()
    (option,) = hardened.first_start_options(paths)

    init = Path(option.removeprefix("--init-file="))
    assert init.read_text() == "ALTER USER 'root'@'localhost' PASSWORD EXPIRE NEVER;\n"


def test_admin_gets_the_rds_master_privileges_through_its_default_role_and_nothing_else() -> None:
    state = State(mysql_hardened_admin_password="Hx7-secret")
    statements = hardened.admin_statements(state)
    texts = [sql for sql, _args in statements]

    grant = next(sql for sql in texts if sql.startswith("GRANT SELECT"))
    assert grant.endswith(f"ON *.* TO `{hardened.ADMIN_ROLE}` WITH GRANT OPTION")
    assert "SUPER" not in grant and "ALL PRIVILEGES" not in grant
    assert f"GRANT `{hardened.ADMIN_ROLE}` TO %s@'%%'" in texts
    assert f"SET DEFAULT ROLE `{hardened.ADMIN_ROLE}` FOR %s@'%%'" in texts
    assert all("Hx7-secret" not in sql for sql in texts), "the password goes as a parameter"
    assert ("operator_admin", "Hx7-secret") in [args for _sql, args in statements]


def test_the_operators_privileges_are_within_what_rds_gives_its_master_user() -> None:
    granted = {*hardened.RDS_MASTER_PRIVILEGES, "GRANT OPTION"}

    assert set(required_admin_privileges("mariadb")) <= granted


def test_hardened_server_is_a_component_with_its_own_datadir_and_socket(paths: Paths) -> None:
    assert hardened.NAME in env.COMPONENTS and mariadb.NAME in env.COMPONENTS
    assert mariadb.datadir(paths, hardened.NAME) != mariadb.datadir(paths)
    assert mariadb.socket_path(paths, hardened.NAME) != mariadb.socket_path(paths)


def test_exports_name_the_hardened_server(paths: Paths) -> None:
    state = State(mysql_port=3306, mysql_hardened_port=3307, mysql_hardened_admin_password="Hx7-pw")

    exports = env.exports(paths, state)

    assert exports["MYSQL_PORT"] == "3306" and exports["MYSQL_HARDENED_PORT"] == "3307"
    assert (exports["MYSQL_HARDENED_ADMIN_USER"], exports["MYSQL_HARDENED_ADMIN_PASSWORD"]) == (
        "operator_admin",
        "Hx7-pw",
    )


def test_hardened_mysqlserver_verifies_the_identity_of_127_0_0_1() -> None:
    server = cluster.hardened_server(State(mysql_hardened_port=3307))

    assert server["metadata"] == {"name": "hardened"}
    assert server["spec"] == {
        "host": "127.0.0.1",
        "port": 3307,
        "credentialsSecretRef": {"name": HARDENED_SECRET_NAME},
        "tls": {"mode": "VerifyIdentity", "caSecretRef": {"name": CA_SECRET_NAME, "key": "ca.crt"}},
    }


def test_bootstrap_writes_the_hardened_admins_credentials(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[dict] = []
    monkeypatch.setattr(cluster, "apply", lambda _paths, documents, kubeconfig=None: applied.extend(documents))
    paths.pki.mkdir(parents=True)
    (paths.pki / "ca.crt").write_text("CA")

    cluster.bootstrap(paths, State(mysql_hardened_admin_password="Hx7-pw"))

    secrets = {doc["metadata"]["name"]: doc["stringData"] for doc in applied if doc["kind"] == "Secret"}
    assert secrets[HARDENED_SECRET_NAME] == {"username": "operator_admin", "password": "Hx7-pw"}
    assert secrets[CA_SECRET_NAME] == {"ca.crt": "CA"}
