"""Every decision a reconcile can take has its event in the role, and the role names no decision that none
takes: the SQL module's RETURN, its code, the password choice, the Secret write and vars/main.yml agree."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import mysqldatabase as filters
import mysqldatabase_objects
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "mysqldatabase"
VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
TABLE: dict[str, Any] = VARS["mysqldatabase_decision_events"]


def documented_module_decisions() -> set[str]:
    entry = yaml.safe_load(mysqldatabase_objects.RETURN)["decisions"]
    return set(re.findall(r"(?<![A-Z])V\((\w+)\)", " ".join(entry["description"])))


def module_decisions() -> set[str]:
    """Every name decisions() returns, over every combination of the flags it reads."""
    names: set[str] = set()
    for values in itertools.product((False, True), repeat=len(mysqldatabase_objects.PRESENT_FLAGS) + 1):
        result: dict[str, Any] = dict(zip(mysqldatabase_objects.PRESENT_FLAGS, values, strict=False))
        result["adopted"] = ["database"] if values[-1] else []
        names.update(mysqldatabase_objects.decisions(result))
    return names


def password_decisions() -> set[str]:
    secret = {"exists": True, "owned": True, "password": "x", "rotation": "r1", "data": {}}
    return {name for token in ("", "r2") for name in filters.mysqldatabase_password_choice(secret, token)["decisions"]}


def secret_decisions() -> set[str]:
    return {name for names in VARS["mysqldatabase_secret_decisions"].values() for name in names}


def test_the_module_documents_exactly_the_decisions_it_takes() -> None:
    assert documented_module_decisions() == module_decisions()


def test_every_decision_has_an_event_and_every_event_a_decision() -> None:
    assert set(TABLE) == module_decisions() | password_decisions() | secret_decisions()


def test_every_event_has_a_type_a_message_and_known_unless_names() -> None:
    for name, entry in TABLE.items():
        assert entry["type"] in ("Normal", "Warning"), name
        assert entry["message"].strip(), name
        assert set(entry.get("unless", [])) <= set(TABLE), name
