"""The hostile case's verdicts (testbed/faults/hostile.py) from fabricated observations:
judging, canaries, who refused, attribution of server changes, and the server profile's placeholders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.faults.crs import CrRef
from testbed.faults.hostile import (
    ADMIN_USER,
    CORPUS,
    NAMESPACE,
    SERVER_SECRET,
    Entry,
    Outcome,
    _attribute,
    api_refuser,
    judge,
    load_corpus,
    overturn_by_canaries,
    tally,
)


def _entry(expect: str | list[str], spec: dict[str, object] | None = None, name: str = "h-001") -> Entry:
    return Entry(id=name, why="test", ref=CrRef(NAMESPACE, name), spec=spec or {}, expect=expect)


def _status(*fields: str) -> str:
    causes = [{"reason": "FieldValueInvalid", "field": field} for field in fields]
    return json.dumps({"kind": "Status", "code": 422, "reason": "Invalid", "details": {"causes": causes}})


def test_an_entry_the_api_rejected_is_refused_when_rejection_was_expected() -> None:
    outcome = Outcome(_entry("rejected"), api_status=422, observed="API 422")
    judge(outcome)
    assert outcome.refused and outcome.note == ""


def test_an_entry_the_api_accepted_fails_when_rejection_was_expected() -> None:
    outcome = Outcome(_entry("rejected"), created=True, observed="Ready")
    judge(outcome)
    assert not outcome.refused and outcome.note == "expected rejected, got Ready"


def test_an_expected_reason_counts_only_with_a_message() -> None:
    with_message = Outcome(_entry(["ReservedName"]), created=True, observed="ReservedName", message="reserved")
    without = Outcome(_entry(["ReservedName"]), created=True, observed="ReservedName", message="  ")
    other = Outcome(_entry(["ReservedName"]), created=True, observed="Ready", message="ok")
    for outcome in (with_message, without, other):
        judge(outcome)
    assert [with_message.refused, without.refused, other.refused] == [True, False, False]


def test_a_reason_expected_but_refused_by_the_api_is_a_failure() -> None:
    outcome = Outcome(_entry(["InvalidSpec"]), api_status=422, observed="API 422")
    judge(outcome)
    assert not outcome.refused and "the API refused it (422)" in outcome.note


def test_a_literal_entry_is_refused_only_when_its_cr_is_healthy_and_verbatim() -> None:
    good, bad = Outcome(_entry("literal"), created=True), Outcome(_entry("literal"), created=True)
    judge(good, "")
    judge(bad, "secretTemplate key 'note' was not written verbatim")
    assert good.refused and not bad.refused and "verbatim" in bad.note


def test_a_canary_found_in_any_phase_overturns_a_refusal() -> None:
    refused = Outcome(_entry("literal", name="annotation-jinja"), created=True, refused=True)
    untouched = Outcome(_entry("rejected", name="label-jinja-value"), api_status=422, refused=True)
    overturn_by_canaries([refused, untouched], {"annotation-jinja": "deleting the hostile entries"})
    assert not refused.refused and "after deleting the hostile entries" in refused.note
    assert untouched.refused


@pytest.mark.parametrize(
    ("body", "refuser"),
    [
        (_status("metadata.name"), "kubernetes"),
        (_status("metadata.labels", "metadata.annotations"), "kubernetes"),
        (_status("spec.databaseName"), "operator"),  # our CRD's schema
        (_status("spec.secretTemplate"), "operator"),  # our CRD's CEL rule
        (_status("metadata.name", "spec.username"), "operator"),  # our CRD refused it too
        (json.dumps({"kind": "Status", "code": 422, "details": {}}), "operator"),
        ("not json", "operator"),
        (None, "operator"),
    ],
)
def test_refusals_by_kubernetes_metadata_validation_are_told_apart(body: str | None, refuser: str) -> None:
    assert api_refuser(body) == refuser


def test_tally_counts_refusals_by_who_refused() -> None:
    outcomes = [
        Outcome(_entry("rejected"), api_status=422, refuser="kubernetes", refused=True),
        Outcome(_entry("rejected"), api_status=422, refuser="operator", refused=True),
        Outcome(_entry(["Conflict"]), created=True, refused=True),
        Outcome(_entry(["Conflict"]), created=True, refused=False),
        Outcome(_entry("literal"), created=True, refused=True),
    ]
    assert tally(outcomes) == {"kubernetes": 1, "schema": 1, "condition": 1, "literal": 1}


def test_server_changes_are_attributed_to_the_entry_whose_names_they_carry() -> None:
    literal = Outcome(_entry("literal", {"databaseName": "h_wild"}, "h-001"), created=True, refused=True)
    refused = Outcome(_entry(["Conflict"], {"username": "bystander2"}, "h-002"), created=True, refused=True)
    changes = [
        ("mysql.db", "added", ("%", "h\\_wild", "h-001")),  # the accepted entry's own grant
        ("mysql.global_priv", "added", ("bystander2", "%", "{}")),  # made for a refused entry
        ("mysql.global_priv", "added", ("stranger", "%", "{}")),  # no entry names it
    ]
    unexplained = _attribute([literal, refused], changes)
    assert literal.refused
    assert not refused.refused and "it changed the server" in refused.note
    assert unexplained == ["mysql.global_priv: added row ('stranger', '%')"]


def test_the_server_profile_fills_admin_user_and_credentials_secret(tmp_path: Path) -> None:
    values = {ADMIN_USER: "operator_admin", SERVER_SECRET: "mysql-server-hardened"}
    by_id = {e.id: e for e in load_corpus(CORPUS, tmp_path, values)}
    assert by_id["user-admin"].spec["username"] == "operator_admin"
    assert by_id["user-admin-adopt"].spec["username"] == "operator_admin"
    assert by_id["server-secret-name"].spec["serverRef"] == {"name": "mysql-server-hardened"}
    default = {e.id: e for e in load_corpus(CORPUS, tmp_path)}
    assert default["user-admin"].spec["username"] == "admin"
    assert default["server-secret-name"].spec["serverRef"] == {"name": "mysql-server-default"}


def test_entries_without_a_server_use_the_server_under_test(tmp_path: Path) -> None:
    by_id = {e.id: e for e in load_corpus(CORPUS, tmp_path)}
    hardened = {"serverRef": {"name": "hardened"}}
    assert by_id["db-sql-keyword"].manifest(hardened)["spec"]["serverRef"] == {"name": "hardened"}
    assert "serverRef" not in by_id["db-sql-keyword"].manifest({})["spec"]
    assert by_id["server-missing"].manifest(hardened)["spec"]["serverRef"] == {"name": "no-such-server"}
    assert by_id["spec-string"].manifest(hardened)["spec"] == by_id["spec-string"].spec
    assert "serverRef" not in next(e for e in by_id.values() if e.ref.is_server).manifest(hardened)["spec"]
