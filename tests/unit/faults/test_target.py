"""The server under test (testbed/faults/target.py), built from the local environment's
own MySQLServer manifests."""

from __future__ import annotations

from testbed.faults.target import Target
from testbed.localenv.config import State

STATE = State(mysql_port=3306, mysql_hardened_port=3307, mysql_admin_password="a", mysql_hardened_admin_password="b")


def test_default_is_the_stock_mariadb_over_plain_tcp_named_by_no_server_ref() -> None:
    target = Target.of("default", STATE)
    assert (target.server, target.credentials, target.component) == ("default", "mysql-server-default", "mariadb")
    assert (target.port, target.admin_user, target.admin_password) == (3306, "admin", "a")
    assert not target.tls_required and target.server_ref() == {}
    assert "tls" not in target.server_manifest("extra", "faults-server-extra")["spec"]


def test_hardened_is_the_tls_only_mariadb_with_its_own_admin_named_by_server_ref() -> None:
    target = Target.of("hardened", STATE)
    assert (target.credentials, target.component, target.port) == ("mysql-server-hardened", "mariadb-hardened", 3307)
    assert (target.admin_user, target.admin_password) == ("operator_admin", "b")
    assert target.tls_required and target.server_ref() == {"serverRef": {"name": "hardened"}}
    spec = target.server_manifest("extra", "faults-server-extra")["spec"]
    assert spec["port"] == 3307 and spec["credentialsSecretRef"] == {"name": "faults-server-extra"}
    assert spec["tls"]["mode"] == "VerifyIdentity"
