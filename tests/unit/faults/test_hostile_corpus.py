"""The hostile corpus loads, every entry is a well-formed case, and it covers what the issue lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from external_mysql_operator.faults.hostile import CORPUS, Entry, load_corpus

KNOWN_REASONS = {
    "InvalidSpec",
    "NameTooLong",
    "ReservedName",
    "Conflict",
    "AlreadyExists",
    "ServerNotFound",
    "ServerSecretInvalid",
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
