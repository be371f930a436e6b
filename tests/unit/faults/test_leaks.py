"""The leak scanner (testbed/faults/leaks.py): finds secrets plain, glued, base64, by hash."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from testbed.faults import leaks, scan
from testbed.faults.leaks import LeakScanner, SecretBook, native_password_hash

PASSWORD = "Q7wErTy2uIoP9a-dF3gHjK4lZ_CvBn5M"  # shaped like a generated password ([A-Za-z0-9_-], each class)
ADMIN = "u8-Kd_3mZq0Vw-LsT7yR2xN5bC_aE9fG"  # shaped like secrets.token_urlsafe(24)


def _scanner() -> LeakScanner:
    book = SecretBook()
    book.add("password of ns/app #1", PASSWORD)
    book.add("admin password", ADMIN)
    return LeakScanner(book)


def test_plain_password_in_json_is_found_and_named_by_label() -> None:
    scanner = _scanner()
    scanner.scan_text("events", json.dumps({"message": f"login as app with {PASSWORD}"}))
    assert scanner.findings == {"password of ns/app #1": {"events"}}


def test_nothing_is_found_in_clean_text() -> None:
    scanner = _scanner()
    scanner.scan_text("log", "TASK [Ensure the application Secret] ok: changed=false " + "x" * 40)
    assert scanner.findings == {}


def test_password_inside_a_uri_and_glued_to_other_characters_is_found() -> None:
    scanner = _scanner()
    scanner.scan_text("a", f"mysql://app:{PASSWORD}@127.0.0.1:3306/app")
    scanner.scan_text("b", f"prefix{PASSWORD}suffix")
    assert scanner.findings == {"password of ns/app #1": {"a", "b"}}


def test_base64_encoded_secret_data_is_found() -> None:
    scanner = _scanner()
    data = {
        "password": base64.b64encode(ADMIN.encode()).decode(),
        "uri": base64.b64encode(f"mysql://app:{PASSWORD}@db:3306/app".encode()).decode(),
    }
    scanner.scan_text("k8s_info result", json.dumps({"data": data}))
    assert set(scanner.findings) == {"admin password", "password of ns/app #1"}


def test_password_known_only_by_its_server_hash_is_found() -> None:
    never_in_a_secret = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"
    book = SecretBook()
    book.add_hash("password of user 'app'@'%' (seen on the server)", native_password_hash(never_in_a_secret))
    scanner = LeakScanner(book)
    scanner.scan_text("stdout", f"IDENTIFIED BY '{never_in_a_secret}'")
    assert scanner.findings == {"password of user 'app'@'%' (seen on the server)": {"stdout"}}


def test_password_with_dash_and_underscore_known_only_by_its_server_hash_is_found() -> None:
    """Generated passwords hold - or _: the hash search must not cut its runs there."""
    never_in_a_secret = "Zz9Yy8-x7Ww6Vv5Uu4T_3Ss2Rr1Qq0Pp"
    label = "password of user 'app'@'%' (seen on the server)"
    book = SecretBook()
    book.add_hash(label, native_password_hash(never_in_a_secret))
    scanner = LeakScanner(book)
    scanner.scan_text("stdout", f"mysql://app:{never_in_a_secret}@db")
    scanner.scan_text("secret data", base64.b64encode(f"x{never_in_a_secret}x".encode()).decode())
    assert scanner.findings == {label: {"stdout", "secret data"}}


def test_a_known_password_and_its_server_hash_count_as_one_secret() -> None:
    book = SecretBook()
    book.add("password of ns/app #1", PASSWORD)
    book.add_hash("password of user 'app'@'%' (seen on the server)", native_password_hash(PASSWORD))
    scanner = LeakScanner(book)
    scanner.scan_text("stdout", PASSWORD)
    assert list(scanner.findings) == ["password of ns/app #1"]


def test_native_password_hash_matches_mysql() -> None:
    # SELECT PASSWORD('password') on MariaDB
    assert native_password_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


def test_secrets_added_after_a_scan_are_found_by_the_next_one() -> None:
    book = SecretBook()
    scanner = LeakScanner(book)
    scanner.scan_text("first", PASSWORD)
    book.add("late password", PASSWORD)
    scanner.scan_text("second", PASSWORD)
    assert scanner.findings == {"late password": {"second"}}


def test_tree_scan_names_files_relative_to_the_root(tmp_path: Path) -> None:
    job = tmp_path / "runner" / "ns" / "app" / "artifacts" / "1" / "job_events"
    job.mkdir(parents=True)
    (job / "3-abc.json").write_text(json.dumps({"event_data": {"res": {"password": PASSWORD}}}))
    (job / "4-def.json").write_text("{}")
    scanner = _scanner()
    assert scanner.scan_tree(tmp_path / "runner", tmp_path) == 2
    assert scanner.findings == {"password of ns/app #1": {"runner/ns/app/artifacts/1/job_events/3-abc.json"}}


def test_labels_are_numbered_per_prefix() -> None:
    book = SecretBook()
    book.add("password of ns/a #1", "a" * 32)
    book.add("password of ns/ab #1", "b" * 32)
    assert book.labels_for("password of ns/a #") == 1


def test_a_big_file_is_read_whole_and_a_secret_across_a_chunk_boundary_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaks, "CHUNK_BYTES", 1000)
    monkeypatch.setattr(leaks, "OVERLAP_BYTES", 200)
    log = tmp_path / "logs" / "ansible-operator.log"
    log.parent.mkdir()
    # ADMIN straddles the boundary at 5000 bytes; PASSWORD sits at the very end, long past any old cut-off.
    log.write_text("x " * 2490 + ADMIN + " y" * 5000 + f" {PASSWORD}\n")
    (tmp_path / "logs" / "small.log").write_text("nothing here\n")
    scanner = _scanner()
    assert scanner.scan_tree(tmp_path / "logs", tmp_path) == 2
    assert scanner.findings == {
        "admin password": {"logs/ansible-operator.log"},
        "password of ns/app #1": {"logs/ansible-operator.log"},
    }


def test_the_leak_scan_is_proven_only_when_the_control_value_is_found_in_the_operator_log_too() -> None:
    places = ["piwik.pro/v1/MySQLDatabase/ns/a/env/extravars", "logs/faults.log", "CRs after burst"]
    counts = scan.count_places(places, "logs/ansible-operator.log")
    assert counts == {"runner_files": 1, "log_files": 1, "operator_log": 0, "api_texts": 1}
    assert scan.control_unproven(counts) == ["operator_log"]
    counts = scan.count_places([*places, "logs/ansible-operator.log"], "logs/ansible-operator.log")
    assert scan.control_unproven(counts) == []
    assert scan.control_unproven(scan.count_places([], "logs/ansible-operator.log")) == [
        "runner_files",
        "operator_log",
        "api_texts",
    ]
