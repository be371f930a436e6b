"""Manifests and references of the suite's objects (testbed/faults/crs.py)."""

from __future__ import annotations

from testbed.faults.crs import CrRef, body
from testbed.kube_api import KIND, SERVER_KIND


def test_a_mysqldatabase_is_namespaced() -> None:
    ref = CrRef("team-a", "shop")
    assert (ref.kind, ref.is_server, str(ref)) == (KIND, False, "team-a/shop")
    assert body(ref, {"x": 1})["metadata"] == {"name": "shop", "namespace": "team-a"}


def test_a_mysqlserver_is_cluster_scoped() -> None:
    ref = CrRef.server("default")
    assert (ref.kind, ref.is_server, str(ref)) == (SERVER_KIND, True, "MySQLServer/default")
    manifest = body(ref, {"host": "db"}, labels={"a": "b"})
    assert manifest["kind"] == SERVER_KIND
    assert manifest["metadata"] == {"name": "default", "labels": {"a": "b"}}


def test_a_server_and_a_database_of_the_same_name_are_different_refs() -> None:
    assert CrRef.server("default") != CrRef("", "default")
