"""The hostile corpus loads, every entry is a well-formed case, and it covers what the issue lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.faults.hostile import CORPUS, NAMESPACE, Entry, load_corpus
from testbed.kube_api import SERVER_KIND

KNOWN_REASONS = {
    "InvalidSpec",
    "NameTooLong",
    "ReservedName",
    "Conflict",
    "AlreadyExists",
    "ServerNotFound",
    "CredentialsNotFound",
    "SecretNotOwned",
}


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return load_corpus(CORPUS, Path("/canaries"))


def _servers(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.ref.is_server]


def test_ids_and_names_are_unique(entries: list[Entry]) -> None:
    assert len({e.id for e in entries}) == len(entries)
    assert len({e.ref for e in entries}) == len(entries)


def test_every_expectation_is_rejected_literal_or_known_reasons(entries: list[Entry]) -> None:
    for entry in entries:
        if isinstance(entry.expect, list):
            assert entry.expect and set(entry.expect) <= KNOWN_REASONS, entry.id
        else:
            assert entry.expect in ("rejected", "literal"), entry.id


def test_canary_placeholder_becomes_the_entrys_own_file(entries: list[Entry]) -> None:
    entry = next(e for e in entries if e.id == "template-jinja-value")
    assert entry.spec["secretTemplate"]["note"] == "{{ lookup('pipe', 'touch /canaries/template-jinja-value') }}"
    assert entry.canary == Path("/canaries/template-jinja-value")
    assert "@CANARY@" not in repr([e.spec for e in entries] + [e.annotations for e in entries])


def test_repeat_and_keys_tags_build_long_names_and_big_maps(entries: list[Entry]) -> None:
    by_id = {e.id: e for e in entries}
    assert len(by_id["name-253-chars"].ref.name) == 253
    assert len(by_id["db-65-chars"].spec["databaseName"]) == 65
    template = by_id["template-32-keys-4096"].spec["secretTemplate"]
    assert len(template) == 32 and {len(v) for v in template.values()} == {4096}


def test_manifest_adds_delete_policy_only_to_mapping_specs(entries: list[Entry]) -> None:
    by_id = {e.id: e for e in entries}
    assert by_id["db-sql-keyword"].manifest()["spec"] == {"databaseName": "select", "deletionPolicy": "Delete"}
    assert by_id["policy-sql"].manifest()["spec"]["deletionPolicy"] == "Delete; DROP DATABASE mysql"
    assert isinstance(by_id["spec-string"].manifest()["spec"], str)


@pytest.mark.parametrize(
    ("field", "needle"),
    [
        ("databaseName", "`"),
        ("databaseName", "'"),
        ("databaseName", "%"),
        ("databaseName", "_"),
        ("databaseName", "\\"),
        ("databaseName", "\0"),
        ("databaseName", "\n"),
        ("databaseName", "\u0430"),
        ("databaseName", "{{"),
        ("databaseName", "{%"),
        ("username", "{{"),
        ("userHost", "{{"),
        ("characterSet", "{{"),
        ("collation", "{%"),
        ("secretName", "{{"),
        ("privileges", "{{"),
        ("privileges", ";"),
        ("userHost", "'"),
        ("characterSet", ";"),
        ("serverRef", "{{"),
        ("secretTemplate", "lookup('pipe'"),
    ],
)
def test_corpus_covers_the_listed_hostile_inputs(entries: list[Entry], field: str, needle: str) -> None:
    assert any(
        isinstance(e.spec, dict) and any(needle in text for text in _strings(e.spec.get(field))) for e in entries
    ), f"no entry puts {needle!r} in spec.{field}"


def test_corpus_covers_labels_annotations_and_long_names(entries: list[Entry]) -> None:
    assert any("{{" in text for e in entries for text in _strings(e.labels))
    assert any("{{" in text for e in entries for text in _strings(e.annotations))
    assert {64, 65, 255} <= {len(e.spec.get("databaseName", "")) for e in entries if isinstance(e.spec, dict)}
    assert any(e.ref.name[0].isdigit() for e in entries)


def test_mysqlserver_entries_are_cluster_scoped_servers_without_a_deletion_policy(entries: list[Entry]) -> None:
    servers = _servers(entries)
    assert servers
    for entry in servers:
        manifest = entry.manifest()
        assert manifest["kind"] == SERVER_KIND, entry.id
        assert manifest["metadata"] == {"name": entry.ref.name}, entry.id
        assert "deletionPolicy" not in manifest["spec"], entry.id
        assert (entry.database, entry.username) == ("", ""), entry.id
    assert all(e.ref.namespace == NAMESPACE for e in entries if not e.ref.is_server)


def test_mysqlserver_entries_are_valid_but_for_their_attempt(entries: list[Entry]) -> None:
    """host and credentialsSecretRef.name are required: an entry without them would be refused for that."""
    for entry in _servers(entries):
        assert isinstance(entry.spec, dict), entry.id
        assert entry.spec.get("host"), entry.id
        assert (entry.spec.get("credentialsSecretRef") or {}).get("name"), entry.id


def _server_spec(entries: list[Entry], *path: str) -> list[Any]:
    """The value at `path` in the spec of each MySQLServer entry that has one."""
    found = []
    for entry in _servers(entries):
        value: Any = entry.spec
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            found.append(value)
    return found


def test_corpus_covers_the_listed_mysqlserver_attacks(entries: list[Entry]) -> None:
    assert "kube-system" in _server_spec(entries, "credentialsSecretRef", "namespace")
    selectors = _server_spec(entries, "tenancy", "namespaceSelector", "matchExpressions")
    expressions = [expression for found in selectors for expression in found]
    assert any(e["operator"] == "NotIn" and not e.get("values") for e in expressions)
    assert any(e["operator"] == "Exists" and e.get("values") for e in expressions)
    no_ca = [tls for tls in _server_spec(entries, "tls") if tls.get("mode") == "VerifyCA" and "caSecretRef" not in tls]
    assert no_ca
    hosts = _server_spec(entries, "host")
    assert any("'" in host and ";" in host for host in hosts), "no host with SQL"
    assert any("$(" in host and "`" in host and "|" in host for host in hosts), "no host with shell"


def test_corpus_names_a_server_that_does_not_exist(entries: list[Entry]) -> None:
    missing = next(e for e in entries if e.id == "server-missing")
    assert missing.spec["serverRef"]["name"] == "no-such-server"
    assert missing.expect == ["ServerNotFound"]


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("entries: [{id: x, why: y, kind: Secret, expect: rejected}]\n")
    with pytest.raises(ValueError, match="kind must be"):
        load_corpus(corpus, tmp_path)
