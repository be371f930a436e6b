"""Unit tests for the mysqldatabase filters (plugins/filter/mysqldatabase.py)."""

from __future__ import annotations

import base64
import math
import string
from pathlib import Path
from typing import Any

import mysqldatabase as f
import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import filter_loader
from ansible.template import Templar
from ansible.utils.unsafe_proxy import AnsibleUnsafeText, wrap_var

REPO_ROOT = Path(__file__).resolve().parents[4]
FILTER_DIR = REPO_ROOT / "plugins" / "filter"


def make_cr(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    meta = {"name": "app", "namespace": "team-a", "uid": "1b4e28ba-2fa1", "generation": 4, **metadata}
    return {"apiVersion": "piwik.pro/v1", "kind": "MySQLDatabase", "metadata": meta, "spec": spec or {}}


def settings(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    return f.mysqldatabase_spec(make_cr(spec, **metadata))


def assert_invalid(result: dict[str, Any], field: str, reason: str = "InvalidSpec") -> None:
    assert result["valid"] is False
    assert result["reason"] == reason
    assert field in result["message"]


def decode(data: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode("utf-8") for key, value in data.items()}


CONN = {"host": "db.example.com", "port": 3306, "database": "app", "username": "app", "password": "s3cret"}


# --- mysqldatabase_password ---


def test_password_has_the_requested_length() -> None:
    assert len(f.mysqldatabase_password()) == 32
    assert len(f.mysqldatabase_password(22)) == 22
    assert len(f.mysqldatabase_password(256)) == 256


def test_password_uses_only_letters_digits_dash_and_underscore() -> None:
    allowed = set(string.ascii_letters + string.digits + "-_")
    assert set("".join(f.mysqldatabase_password(64) for _ in range(200))) <= allowed


def test_every_password_satisfies_default_password_policies() -> None:
    # MySQL validate_password MEDIUM / MariaDB simple_password_check defaults: one digit, one lower and
    # one upper case letter, one character other than letters and digits. The shortest length makes
    # a missing class most likely, so it is where a broken guarantee shows.
    for _ in range(2000):
        password = f.mysqldatabase_password(f.PASSWORD_MIN_LENGTH)
        assert any(c.islower() for c in password) and any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password) and any(c in "-_" for c in password)


def test_passwords_never_repeat() -> None:
    draws = {f.mysqldatabase_password(32) for _ in range(10_000)}
    assert len(draws) == 10_000


def test_password_length_floor_gives_128_bits() -> None:
    assert f.PASSWORD_MIN_LENGTH * math.log2(64) >= 128
    assert (f.PASSWORD_MIN_LENGTH - 1) * math.log2(64) < 128
    with pytest.raises(AnsibleFilterError, match="128 bits"):
        f.mysqldatabase_password(f.PASSWORD_MIN_LENGTH - 1)


@pytest.mark.parametrize("length", [0, -32, 257, 10_000])
def test_password_refuses_lengths_out_of_range(length: int) -> None:
    with pytest.raises(AnsibleFilterError, match="22 to 256"):
        f.mysqldatabase_password(length)


@pytest.mark.parametrize("length", ["32", 32.0, True, None])
def test_password_refuses_a_length_that_is_not_an_integer(length: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="integer"):
        f.mysqldatabase_password(length)


# --- mysqldatabase_spec: defaults and normalization ---


def test_empty_spec_takes_every_default_from_metadata() -> None:
    assert settings() == {
        "valid": True,
        "reason": "",
        "message": "",
        "namespace": "team-a",
        "name": "app",
        "uid": "1b4e28ba-2fa1",
        "generation": 4,
        "database": "app",
        "username": "app",
        "user_host": "%",
        "character_set": "",
        "collation": "",
        "privileges": ["ALL PRIVILEGES"],
        "max_user_connections": 0,
        "secret_name": "app",
        "secret_template": {},
        "server": "default",
        "deletion_policy": "Retain",
        "adopt_existing": False,
        "rotate_token": "",
        "deleting": False,
    }


def test_full_spec_is_used_as_given() -> None:
    result = settings(
        {
            "databaseName": "shop_db",
            "username": "shop$user",
            "userHost": "10.0.%",
            "characterSet": "utf8mb4",
            "collation": "utf8mb4_unicode_ci",
            "privileges": ["SELECT", "INSERT"],
            "maxUserConnections": 20,
            "secretName": "shop-db.credentials",
            "secretTemplate": {"DATABASE_URL": "mysql://{host}/{database}"},
            "serverRef": {"name": "eu-primary"},
            "deletionPolicy": "Delete",
            "adoptExisting": True,
            "someFutureField": {"ignored": True},
        }
    )
    assert result["valid"], result["message"]
    assert {key: result[key] for key in ("database", "username", "user_host", "secret_name", "server")} == {
        "database": "shop_db",
        "username": "shop$user",
        "user_host": "10.0.%",
        "secret_name": "shop-db.credentials",
        "server": "eu-primary",
    }
    assert (result["character_set"], result["collation"]) == ("utf8mb4", "utf8mb4_unicode_ci")
    assert result["privileges"] == ["SELECT", "INSERT"]
    assert result["max_user_connections"] == 20
    assert result["secret_template"] == {"DATABASE_URL": "mysql://{host}/{database}"}
    assert (result["deletion_policy"], result["adopt_existing"]) == ("Delete", True)


def test_null_spec_fields_mean_unset() -> None:
    result = settings({"databaseName": None, "privileges": None, "serverRef": {"name": None}})
    assert result["valid"]
    assert (result["database"], result["privileges"], result["server"]) == ("app", ["ALL PRIVILEGES"], "default")


def test_missing_spec_is_an_empty_spec() -> None:
    cr = make_cr()
    del cr["spec"]
    assert f.mysqldatabase_spec(cr)["valid"]


def test_spec_that_is_not_a_mapping_is_invalid() -> None:
    cr = make_cr()
    cr["spec"] = ["databaseName", "x"]
    assert_invalid(f.mysqldatabase_spec(cr), "spec must be a mapping")


def test_privileges_are_upper_cased_single_spaced_and_deduplicated() -> None:
    result = settings({"privileges": ["select", " Create   View ", "SELECT", "lock\ttables"]})
    assert result["privileges"] == ["SELECT", "CREATE VIEW", "LOCK TABLES"]


@pytest.mark.parametrize("value", [["ALL"], ["all"], ["ALL PRIVILEGES", "all privileges"], ["All", "ALL"]])
def test_all_means_all_privileges(value: list[str]) -> None:
    assert settings({"privileges": value})["privileges"] == ["ALL PRIVILEGES"]


def test_all_privileges_mixed_with_others_is_invalid() -> None:
    result = settings({"privileges": ["ALL", "SELECT"]})
    assert_invalid(result, "spec.privileges must list ALL PRIVILEGES alone")
    assert result["privileges"] == []


@pytest.mark.parametrize(
    "value",
    [["SUPER"], ["GRANT OPTION"], ["FILE"], ["SELECT", "PROCESS"], ["SELECT; DROP"], [1], "SELECT", [], {}],
)
def test_privileges_outside_the_allowed_set_are_invalid(value: Any) -> None:
    assert_invalid(settings({"privileges": value}), "spec.privileges")


def test_every_allowed_privilege_is_accepted() -> None:
    allowed = sorted(f.PRIVILEGES - {"ALL PRIVILEGES"})
    assert settings({"privileges": allowed})["privileges"] == allowed


@pytest.mark.parametrize("value", [0, 1, 2147483647])
def test_max_user_connections_in_range_is_kept(value: int) -> None:
    assert settings({"maxUserConnections": value})["max_user_connections"] == value


@pytest.mark.parametrize("value", [-1, 2147483648, True, False, "10", 1.5, 10.0])
def test_max_user_connections_must_be_an_int32_not_a_bool(value: Any) -> None:
    result = settings({"maxUserConnections": value})
    assert_invalid(result, "spec.maxUserConnections must be an integer from 0 to 2147483647")
    assert result["max_user_connections"] == 0


def test_character_set_and_collation_are_lower_cased() -> None:
    result = settings({"characterSet": "UTF8MB4", "collation": "UTF8MB4_BIN"})
    assert (result["character_set"], result["collation"]) == ("utf8mb4", "utf8mb4_bin")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("characterSet", "utf8mb4 COLLATE x"),
        ("characterSet", "a" * 33),
        ("characterSet", ""),
        ("collation", "utf8mb4-bin"),
        ("collation", "a" * 65),
        ("collation", 8),
    ],
)
def test_bad_character_set_or_collation_is_invalid(field: str, value: Any) -> None:
    assert_invalid(settings({field: value}), f"spec.{field}")


# --- mysqldatabase_spec: names ---


@pytest.mark.parametrize("value", ["a", "app_db", "App$1", "my-app.v2", "_x", "$x", "9lives", "a" * 64])
def test_valid_database_names(value: str) -> None:
    assert settings({"databaseName": value})["database"] == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 65,
        "app`db",
        "app'db",
        'app"db',
        "app\\db",
        "app%",
        "app\x00db",
        "app db",
        "app\tdb",
        "app\n",
        "-app",
        ".app",
        "app/db",
        "appé",
        "app;drop",
    ],
)
def test_invalid_database_names(value: str) -> None:
    result = settings({"databaseName": value})
    assert_invalid(result, "spec.databaseName")
    assert result["database"] == ""


@pytest.mark.parametrize("value", ["a" * 80, "app.user-1"])
def test_valid_usernames(value: str) -> None:
    assert settings({"username": value})["username"] == value


@pytest.mark.parametrize("value", ["a" * 81, "us`er", "user@host", "us er", "%", "", 42])
def test_invalid_usernames(value: Any) -> None:
    assert_invalid(settings({"username": value}), "spec.username")


def test_default_database_name_too_long_says_which_field_to_set() -> None:
    result = settings(name="x" * 65)
    assert_invalid(result, "set spec.databaseName", reason="NameTooLong")
    assert result["database"] == ""
    assert result["username"] == "x" * 65


def test_default_username_too_long_says_which_field_to_set() -> None:
    result = settings({"databaseName": "app"}, name="u" * 81)
    assert_invalid(result, "set spec.username", reason="NameTooLong")
    assert "spec.databaseName" not in result["message"]


def test_long_metadata_name_is_fine_when_both_names_are_given() -> None:
    assert settings({"databaseName": "db", "username": "u"}, name="x" * 200)["valid"]


@pytest.mark.parametrize(
    "value",
    ["mysql", "MySQL", "information_schema", "PERFORMANCE_SCHEMA", "sys", "external_mysql_operator"],
)
def test_reserved_database_names_are_refused(value: str) -> None:
    assert_invalid(settings({"databaseName": value}), "reserved", reason="ReservedName")


@pytest.mark.parametrize("value", ["root", "ROOT", "mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema"])
def test_reserved_usernames_are_refused(value: str) -> None:
    result = settings({"username": value})
    assert_invalid(result, "spec.username", reason="ReservedName")
    assert result["username"] == ""


def test_reserved_default_name_says_which_field_to_set() -> None:
    result = settings({"username": "app"}, name="mysql")
    assert_invalid(result, "set spec.databaseName", reason="ReservedName")


def test_mixed_problems_are_an_invalid_spec_listing_each_field() -> None:
    result = settings({"username": "root", "deletionPolicy": "Forever"}, name="d" * 70)
    assert result["reason"] == "InvalidSpec"
    for field in ("set spec.databaseName", "spec.username", "spec.deletionPolicy"):
        assert field in result["message"]


# --- mysqldatabase_spec: other fields ---


@pytest.mark.parametrize("value", ["%", "localhost", "10.0.0.%", "app-%.svc.cluster.local", "fe80::1", "a" * 255])
def test_valid_user_hosts(value: str) -> None:
    assert settings({"userHost": value})["user_host"] == value


@pytest.mark.parametrize("value", ["", "a" * 256, "host name", "host'", "10.0.0.0/8", "h`", "h\\", 42])
def test_invalid_user_hosts(value: Any) -> None:
    assert_invalid(settings({"userHost": value}), "spec.userHost")


@pytest.mark.parametrize("value", ["app", "app-db.creds", "a" * 253, "0"])
def test_valid_secret_names(value: str) -> None:
    assert settings({"secretName": value})["secret_name"] == value


@pytest.mark.parametrize("value", ["App", "app_db", "-app", "app-", "app..db", "a" * 254, "", "app/db"])
def test_invalid_secret_names(value: str) -> None:
    result = settings({"secretName": value})
    assert_invalid(result, "spec.secretName")
    assert result["secret_name"] == ""


@pytest.mark.parametrize("value", [{"name": "Primary"}, {"name": "a" * 64}, {"name": "eu.primary"}, "default", []])
def test_invalid_server_refs(value: Any) -> None:
    result = settings({"serverRef": value})
    assert_invalid(result, "spec.serverRef")
    assert result["server"] == ""


@pytest.mark.parametrize("value", ["retain", "DELETE", "Orphan", "", True])
def test_deletion_policy_is_retain_or_delete(value: Any) -> None:
    result = settings({"deletionPolicy": value})
    assert_invalid(result, "spec.deletionPolicy")
    assert result["deletion_policy"] == ""


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_adopt_existing_must_be_a_boolean(value: Any) -> None:
    result = settings({"adoptExisting": value})
    assert_invalid(result, "spec.adoptExisting")
    assert result["adopt_existing"] is False


def test_secret_template_with_32_keys_is_accepted() -> None:
    template = {f"KEY_{index}": "{password}" for index in range(32)}
    assert settings({"secretTemplate": template})["secret_template"] == template


@pytest.mark.parametrize(
    "template",
    [
        {f"K{index}": "v" for index in range(33)},
        {"password": "x"},
        {"uri": "x"},
        {"host": "x"},
        {"sslMode": "DISABLED"},
        {"ca.crt": "x"},
        {"bad key": "x"},
        {"bad/key": "x"},
        {".": "x"},
        {"..data": "x"},
        {"k" * 254: "x"},
        {"KEY": 1},
        {"KEY": None},
        {"KEY": "v" * 4097},
        ["KEY"],
        "KEY=value",
    ],
)
def test_invalid_secret_templates(template: Any) -> None:
    result = settings({"secretTemplate": template})
    assert_invalid(result, "spec.secretTemplate")
    assert result["secret_template"] == {}


def test_rotation_token_comes_from_the_annotation() -> None:
    result = settings(annotations={"piwik.pro/rotate-password": "2025-01-01", "other": "x"})
    assert result["rotate_token"] == "2025-01-01"
    assert settings(annotations={"other": "x"})["rotate_token"] == ""


def test_deletion_timestamp_means_deleting() -> None:
    assert settings(deletionTimestamp="2025-01-01T00:00:00Z")["deleting"] is True
    assert settings(deletionTimestamp=None)["deleting"] is False


# --- mysqldatabase_spec: messages and types ---


def test_message_never_echoes_more_than_64_characters_of_a_value() -> None:
    value = "A" * 60 + "B" * 5000 + "`"
    message = settings({"databaseName": value})["message"]
    assert "A" * 60 + "BBBB" in message
    assert "B" * 5 not in message
    assert "5061 characters" in message


def test_message_escapes_control_characters() -> None:
    message = settings({"userHost": "evil\nReady=True\x1b[2J\u202e\x00"})["message"]
    assert all(char.isprintable() for char in message), repr(message)
    assert "\\n" in message
    assert "\\x1b" in message


def test_outputs_stay_unsafe_so_the_role_never_templates_cr_values() -> None:
    cr = wrap_var(
        make_cr(
            {"databaseName": "shop", "secretTemplate": {"URL": "{{ lookup('pipe', 'id') }}"}, "privileges": ["all"]},
            annotations={"piwik.pro/rotate-password": "{{ lookup('pipe', 'id') }}"},
        )
    )
    result = f.mysqldatabase_spec(cr)
    assert isinstance(result["secret_template"]["URL"], AnsibleUnsafeText)
    assert isinstance(result["rotate_token"], AnsibleUnsafeText)
    assert isinstance(result["database"], AnsibleUnsafeText)
    assert all(isinstance(item, AnsibleUnsafeText) for item in result["privileges"])
    assert result["secret_template"]["URL"] == "{{ lookup('pipe', 'id') }}"


def test_role_defaults_override_the_built_in_ones() -> None:
    defaults = {"privileges": ["select"], "deletion_policy": "Delete", "server": "eu", "character_set": ""}
    result = f.mysqldatabase_spec(make_cr(), defaults)
    assert (result["privileges"], result["deletion_policy"], result["server"]) == (["SELECT"], "Delete", "eu")


def test_defaults_are_not_shared_between_results() -> None:
    first = settings()
    first["privileges"].append("DROP")
    assert settings()["privileges"] == ["ALL PRIVILEGES"]


@pytest.mark.parametrize("defaults", [{"privileges": ["SUPER"]}, {"nope": 1}, ["privileges"]])
def test_invalid_role_defaults_are_a_programming_error(defaults: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="defaults"):
        f.mysqldatabase_spec(make_cr(), defaults)


@pytest.mark.parametrize(
    "cr",
    [None, "app", {"spec": {}}, {"metadata": {"name": "app"}}, {"metadata": {"name": "", "namespace": "x"}}],
)
def test_something_other_than_the_cr_is_a_programming_error(cr: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="_piwik_pro_mysqldatabase"):
        f.mysqldatabase_spec(cr)


# --- mysqldatabase_secret_data ---


def test_secret_data_holds_the_connection_and_a_uri() -> None:
    assert decode(f.mysqldatabase_secret_data(CONN)) == {
        "host": "db.example.com",
        "port": "3306",
        "database": "app",
        "username": "app",
        "password": "s3cret",
        "uri": "mysql://app:s3cret@db.example.com:3306/app",
    }


@pytest.mark.parametrize("tls", [{}, {"tls_mode": "Disabled", "ca_cert": "PEM"}, {"tls_mode": None}])
def test_without_tls_the_secret_has_no_tls_keys(tls: dict) -> None:
    data = decode(f.mysqldatabase_secret_data({**CONN, **tls}))
    assert not {"sslMode", "ca.crt"} & set(data)
    assert data["uri"] == "mysql://app:s3cret@db.example.com:3306/app"


@pytest.mark.parametrize(
    ("mode", "ssl_mode"), [("Required", "REQUIRED"), ("VerifyCA", "VERIFY_CA"), ("VerifyIdentity", "VERIFY_IDENTITY")]
)
def test_tls_mode_gives_ssl_mode_the_ca_and_the_uri_parameter(mode: str, ssl_mode: str) -> None:
    data = decode(f.mysqldatabase_secret_data({**CONN, "tls_mode": mode, "ca_cert": "-----BEGIN CERTIFICATE-----\n"}))
    assert (data["sslMode"], data["ca.crt"]) == (ssl_mode, "-----BEGIN CERTIFICATE-----\n")
    assert data["uri"] == f"mysql://app:s3cret@db.example.com:3306/app?ssl-mode={ssl_mode}"


def test_tls_mode_without_a_ca_gives_no_ca_key() -> None:
    data = decode(f.mysqldatabase_secret_data({**CONN, "tls_mode": "Required", "ca_cert": ""}))
    assert data["sslMode"] == "REQUIRED" and "ca.crt" not in data


@pytest.mark.parametrize("mode", ["VERIFY_CA", "verifyca", "Preferred", 1])
def test_unknown_tls_mode_is_a_programming_error(mode: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="tls_mode"):
        f.mysqldatabase_secret_data({**CONN, "tls_mode": mode})


def test_uri_percent_encodes_user_password_and_database() -> None:
    conn = {**CONN, "username": "us:er@x", "password": "p@ss/w:rd?#%", "database": "my$db.v1"}
    uri = decode(f.mysqldatabase_secret_data(conn))["uri"]
    assert uri == "mysql://us%3Aer%40x:p%40ss%2Fw%3Ard%3F%23%25@db.example.com:3306/my%24db.v1"


@pytest.mark.parametrize(
    ("host", "in_uri"),
    [("::1", "[::1]"), ("fd00::10", "[fd00::10]"), ("fe80::1%eth0", "[fe80::1%25eth0]"), ("10.0.0.1", "10.0.0.1")],
)
def test_ipv6_hosts_are_bracketed_in_the_uri(host: str, in_uri: str) -> None:
    data = decode(f.mysqldatabase_secret_data({**CONN, "host": host}))
    assert data["uri"] == f"mysql://app:s3cret@{in_uri}:3306/app"
    assert data["host"] == host


def test_template_placeholders_are_replaced() -> None:
    template = {"JDBC": "jdbc:mysql://{host}:{port}/{database}?user={username}&password={password}"}
    data = decode(f.mysqldatabase_secret_data(CONN, template))
    assert data["JDBC"] == "jdbc:mysql://db.example.com:3306/app?user=app&password=s3cret"


@pytest.mark.parametrize(
    "text",
    [
        "{{ lookup('pipe', 'id') }}",
        "{% for x in range(10) %}x{% endfor %}",
        "{0}",
        "{}",
        "{host.__class__}",
        "{password.__class__.__mro__}",
        "{host!r}",
        "{port:>10}",
        "{HOST}",
        "{ host }",
        "%(host)s",
        "$host $(host) `host`",
        "{__import__('os')}",
    ],
)
def test_hostile_template_values_stay_literal(text: str) -> None:
    assert decode(f.mysqldatabase_secret_data(CONN, {"VALUE": text}))["VALUE"] == text


def test_placeholders_inside_the_password_are_not_expanded_again() -> None:
    conn = {**CONN, "password": "{username}{host}\\1\\g<0>"}
    data = decode(f.mysqldatabase_secret_data(conn, {"DSN": "{password}|{username}"}))
    assert data["DSN"] == "{username}{host}\\1\\g<0>|app"


def test_double_braces_around_a_placeholder_keep_the_outer_braces() -> None:
    assert decode(f.mysqldatabase_secret_data(CONN, {"V": "{{host}}"}))["V"] == "{db.example.com}"


def test_huge_template_values_are_rendered_whole() -> None:
    text = "{password}" * 409 + "x" * 6
    value = decode(f.mysqldatabase_secret_data(CONN, {"BIG": text}))["BIG"]
    assert value == "s3cret" * 409 + "x" * 6


def test_unicode_template_values_round_trip() -> None:
    assert decode(f.mysqldatabase_secret_data(CONN, {"V": "zażółć {database} ✓"}))["V"] == "zażółć app ✓"


@pytest.mark.parametrize(
    "template", [{"password": "x"}, {"uri": "{host}"}, {"sslMode": "DISABLED"}, {"ca.crt": "x"}, {"K": 5}, ["K"]]
)
def test_template_that_would_overwrite_connection_keys_is_a_programming_error(template: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="template"):
        f.mysqldatabase_secret_data(CONN, template)


@pytest.mark.parametrize("conn", [{}, {**CONN, "password": ""}, {**CONN, "port": True}, {**CONN, "host": None}, "x"])
def test_incomplete_connection_is_a_programming_error(conn: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="conn"):
        f.mysqldatabase_secret_data(conn)


# --- mysqldatabase_password_choice ---

ABSENT = {"exists": False, "owned": False, "password": "", "rotation": "", "data": {}}
KEPT = "Kept-password-0f-the-Secret_1"
OWNED = {"exists": True, "owned": True, "password": KEPT, "rotation": "r1", "data": {}}


def test_password_choice_generates_one_for_a_new_secret() -> None:
    choice = f.mysqldatabase_password_choice(ABSENT, "", 24)
    assert (len(choice["value"]), choice["is_new"], choice["rotation_requested"]) == (24, True, False)


def test_password_choice_keeps_the_secrets_password() -> None:
    choice = f.mysqldatabase_password_choice(OWNED, "r1")
    assert {key: value for key, value in choice.items() if key != "replacement"} == {
        "value": KEPT,
        "is_new": False,
        "rotation_requested": False,
        "secret_password_refused": False,
        "decisions": [],
    }
    assert f.mysqldatabase_password_choice(OWNED, "")["value"] == KEPT


def test_password_choice_keeps_a_password_generated_before_symbols_were_added() -> None:
    older = "a" * 16 + "B" * 16  # [A-Za-z0-9] only, as generated before every class was required
    assert f.mysqldatabase_password_choice({**OWNED, "password": older}, "r1")["value"] == older


@pytest.mark.parametrize("edited", ["hunter2", "x" * 21, "has space in it and is long enough", "quote'" * 5, "a" * 257])
def test_password_choice_replaces_a_password_edited_to_one_it_would_not_set(edited: str) -> None:
    choice = f.mysqldatabase_password_choice({**OWNED, "password": edited}, "r1", 24)
    assert choice["is_new"] and choice["secret_password_refused"] and not choice["rotation_requested"]
    assert choice["value"] != edited and len(choice["value"]) == 24


def test_password_choice_has_a_new_replacement_for_a_refused_password() -> None:
    # The SQL module sets it instead when the server's password policy refuses the value (one used before).
    choice = f.mysqldatabase_password_choice(OWNED, "r1", 24)
    assert len(choice["replacement"]) == 24 and choice["replacement"] != choice["value"]
    assert all(any(char in chars for char in choice["replacement"]) for chars in f.PASSWORD_CLASSES)
    assert isinstance(choice["replacement"], AnsibleUnsafeText)


def test_password_choice_rotates_on_a_new_token() -> None:
    choice = f.mysqldatabase_password_choice(OWNED, "r2")
    assert (choice["is_new"], choice["rotation_requested"]) == (True, True)
    assert choice["value"] not in (KEPT, "")


def test_password_choice_for_a_secret_without_password_or_with_a_token_at_creation() -> None:
    # A deleted Secret (drift) gets a new password; a token set at creation is not a rotation event.
    assert f.mysqldatabase_password_choice({**OWNED, "password": ""}, "r1")["is_new"] is True
    choice = f.mysqldatabase_password_choice(ABSENT, "r1")
    assert (choice["is_new"], choice["rotation_requested"]) == (True, False)


def test_password_choice_is_unsafe_and_refuses_non_mappings() -> None:
    assert isinstance(f.mysqldatabase_password_choice(OWNED, "r1")["value"], AnsibleUnsafeText)
    with pytest.raises(AnsibleFilterError, match="app_secret"):
        f.mysqldatabase_password_choice("abc", "")


# --- through Ansible's templating ---


@pytest.fixture
def templar() -> Templar:
    filter_loader.add_directory(str(FILTER_DIR))
    return Templar(loader=DataLoader())


def test_filters_are_registered() -> None:
    assert set(f.FilterModule().filters()) == {
        "mysqldatabase_password",
        "mysqldatabase_spec",
        "mysqldatabase_secret_data",
        "mysqldatabase_password_choice",
        "mysqldatabase_events",
        "mysqldatabase_secret_current",
        "mysqldatabase_status_current",
    }


def test_password_filter_through_jinja(templar: Templar) -> None:
    assert len(templar.template("{{ 32 | mysqldatabase_password }}")) == 32


def test_unsafe_cr_values_are_never_templated(templar: Templar) -> None:
    cr = make_cr({"secretTemplate": {"URL": "{{ 7 * 6 }}"}, "databaseName": "{{ 7 * 6 }}"})
    templar.available_variables = {"_piwik_pro_mysqldatabase": wrap_var(cr)}
    result = templar.template("{{ _piwik_pro_mysqldatabase | mysqldatabase_spec }}")
    assert result["secret_template"] == {"URL": "{{ 7 * 6 }}"}
    assert "'{{ 7 * 6 }}'" in result["message"]
    templar.available_variables = {"s": result}
    assert templar.template("{{ s.secret_template.URL }}|{{ s.message }}").startswith("{{ 7 * 6 }}|")


EVENT_SPEC = {"database": "shop", "username": "shop", "secret_name": "shop", "privileges": ["SELECT"]}
# The role's own table: these tests prove the events a user sees, message for message.
DECISION_EVENTS = yaml.safe_load((REPO_ROOT / "roles" / "mysqldatabase" / "vars" / "main.yml").read_text())[
    "mysqldatabase_decision_events"
]


def events(*decisions: str, adopted: tuple[str, ...] = ()) -> list[dict[str, str]]:
    return f.mysqldatabase_events(list(decisions), DECISION_EVENTS, EVENT_SPEC, list(adopted))


def test_events_for_a_first_create_is_one_created_event() -> None:
    assert [(e["type"], e["reason"]) for e in events("Created", "SecretRecreated")] == [("Normal", "Created")]
    assert events("Created")[0]["message"] == "Created database shop and user shop"


def test_events_for_repaired_drift_are_warnings() -> None:
    found = events("DatabaseRecreated", "UserRecreated", "GrantsRepaired", "SecretRecreated")
    assert [e["reason"] for e in found] == ["DatabaseRecreated", "UserRecreated", "GrantsRepaired", "SecretRecreated"]
    assert {e["type"] for e in found} == {"Warning"}
    assert "restored to SELECT on shop" in found[2]["message"]


def test_events_for_a_password_the_policy_refused_is_a_warning_naming_the_secret() -> None:
    found = events("UserRecreated", "PasswordReplaced", "SecretRewritten")
    assert [(e["type"], e["reason"]) for e in found] == [("Warning", "UserRecreated"), ("Warning", "PasswordReplaced")]
    assert "Secret shop" in found[1]["message"]


def test_an_expired_password_replaced_is_one_warning_naming_the_secret() -> None:
    assert [(e["type"], e["reason"]) for e in events("PasswordExpired", "SecretRewritten")] == [
        ("Warning", "PasswordExpired")
    ]
    assert "Secret shop" in events("PasswordExpired")[0]["message"]


def test_a_password_changed_by_hand_and_repaired_is_a_warning() -> None:
    found = events("PasswordRepaired")
    assert [(e["type"], e["reason"]) for e in found] == [("Warning", "PasswordRepaired")]
    assert "was not the one in Secret shop" in found[0]["message"]


def test_a_refused_secret_password_is_a_warning_that_never_shows_it() -> None:
    found = events("SecretPasswordRefused", "SecretRewritten")
    assert [(e["type"], e["reason"]) for e in found] == [("Warning", "SecretPasswordRefused")]
    assert "Secret shop" in found[0]["message"]
    assert f"fewer than {f.PASSWORD_MIN_LENGTH} characters" in found[0]["message"]


def test_a_secret_rewritten_for_no_password_reason_is_an_event() -> None:
    assert [(e["type"], e["reason"]) for e in events("SecretRewritten")] == [("Normal", "SecretRewritten")]


def test_events_for_a_no_op_reconcile_are_none() -> None:
    assert events() == []


def test_events_report_rotation_and_adoption() -> None:
    found = events("Adopted", "PasswordRotated", "SecretRecreated", "SecretRewritten", adopted=("database",))
    assert [e["reason"] for e in found] == ["Adopted", "PasswordRotated"]
    assert found[0]["message"] == "Adopted existing database"


def test_a_decision_without_an_event_fails_naming_the_table() -> None:
    with pytest.raises(AnsibleFilterError, match="mysqldatabase_decision_events"):
        events("SomethingNew")


def test_a_message_naming_an_unknown_field_fails() -> None:
    with pytest.raises(AnsibleFilterError, match="use"):
        f.mysqldatabase_events(["Created"], {"Created": {"type": "Normal", "message": "{password}"}}, EVENT_SPEC)


def test_password_choice_names_its_decisions() -> None:
    assert f.mysqldatabase_password_choice(OWNED, "")["decisions"] == []
    assert f.mysqldatabase_password_choice(OWNED, "r2")["decisions"] == ["PasswordRotated"]
    assert f.mysqldatabase_password_choice({**OWNED, "password": "short"}, "")["decisions"] == ["SecretPasswordRefused"]


# --- the early end of a reconcile with nothing to write ---

WANTED_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "type": "Opaque",
    "metadata": {
        "name": "shop",
        "namespace": "team-a",
        "labels": {"app.kubernetes.io/managed-by": "external-mysql-operator"},
        "annotations": {"piwik.pro/password-rotation": ""},
        "ownerReferences": [{"kind": "MySQLDatabase", "name": "shop", "uid": "u1", "controller": True}],
    },
}
WANTED_DATA = {"host": "aG9zdA==", "password": "cHc="}


def read_secret(**changes: Any) -> dict[str, Any]:
    """An app_secret summary (mysqldatabase_secret_info) of a Secret as the role wants it, then changed."""
    metadata = {key: value for key, value in WANTED_SECRET["metadata"].items() if key not in ("name", "namespace")}
    summary = {"exists": True, "owned": True, "type": "Opaque", "data": dict(WANTED_DATA), "metadata": metadata}
    return {**summary, **changes}


def test_a_secret_as_wanted_is_current() -> None:
    assert f.mysqldatabase_secret_current(read_secret(), WANTED_SECRET, WANTED_DATA)


@pytest.mark.parametrize(
    "changes",
    [
        {"exists": False},
        {"data": {**WANTED_DATA, "host": "b3RoZXI="}},
        {"data": {"host": "aG9zdA=="}},
        {"type": "kubernetes.io/basic-auth"},
        {"metadata": {"labels": {}, "annotations": {"piwik.pro/password-rotation": ""}, "ownerReferences": []}},
    ],
    ids=["missing", "edited-key", "deleted-key", "type", "owner-and-label-gone"],
)
def test_a_secret_that_differs_is_not_current(changes: dict[str, Any]) -> None:
    assert not f.mysqldatabase_secret_current(read_secret(**changes), WANTED_SECRET, WANTED_DATA)


READY = {
    "ready": True,
    "reason": "Reconciled",
    "message": "Database shop is ready",
    "observed_generation": "4",
    "fields": {"database": "shop", "serverRevision": "7"},
}


def cr_with_status(**status_changes: Any) -> dict[str, Any]:
    condition = {
        "type": "Ready",
        "status": "True",
        "reason": "Reconciled",
        "message": "Database shop is ready",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 4,
    }
    status = {"database": "shop", "serverRevision": "7", "observedGeneration": 4, "conditions": [condition]}
    return {**make_cr({}), "status": {**status, **status_changes}}


def test_a_status_as_wanted_is_current_whatever_its_transition_time() -> None:
    assert f.mysqldatabase_status_current(cr_with_status(), READY)


@pytest.mark.parametrize(
    "status_changes",
    [
        {"observedGeneration": 3},
        {"serverRevision": "6"},
        {"conditions": []},
        {"conditions": [{"type": "Ready", "status": "False", "reason": "ServerUnreachable", "message": "down"}]},
    ],
    ids=["older-generation", "older-server-revision", "no-condition", "not-ready"],
)
def test_a_status_that_differs_is_not_current(status_changes: dict[str, Any]) -> None:
    assert not f.mysqldatabase_status_current(cr_with_status(**status_changes), READY)


def test_a_cr_without_status_is_not_current() -> None:
    assert not f.mysqldatabase_status_current(make_cr({}), READY)
