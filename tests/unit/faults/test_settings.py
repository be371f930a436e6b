"""Settings from the environment (testbed/faults/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.faults.settings import PROFILES, Settings


def test_defaults_are_the_full_profile_seed_1_and_stdout() -> None:
    settings = Settings.from_env({})
    assert settings.profile is PROFILES["full"] and settings.seed == 1 and settings.out is None
    assert settings.state_dir.name == "faults-localenv" and settings.cases == ()


def test_ci_profile_is_smaller_but_still_kills_and_races() -> None:
    full, ci = PROFILES["full"], PROFILES["ci"]
    assert full.kills >= 5 and full.kill_crs == 20 and full.burst_crs == 50
    assert 0 < ci.kills < full.kills and 0 < ci.burst_crs < full.burst_crs and ci.race_pairs > 0


def test_environment_overrides(tmp_path: Path) -> None:
    env = {
        "FAULTS_PROFILE": "ci",
        "FAULTS_SEED": "42",
        "FAULTS_OUT": str(tmp_path / "r.json"),
        "FAULTS_STATE_DIR": str(tmp_path / "state"),
        "FAULTS_CASES": "burst, hostile",
    }
    settings = Settings.from_env(env)
    assert settings.profile.name == "ci" and settings.seed == 42
    assert settings.out == tmp_path / "r.json" and settings.state_dir == tmp_path / "state"
    assert settings.cases == ("burst", "hostile")


@pytest.mark.parametrize("env", [{"FAULTS_PROFILE": "huge"}, {"FAULTS_SEED": "abc"}])
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=next(iter(env))):
        Settings.from_env(env)


def test_the_server_profile_defaults_to_default_and_takes_hardened() -> None:
    assert Settings.from_env({}).server == "default"
    assert Settings.from_env({"FAULTS_SERVER": "hardened"}).server == "hardened"


def test_an_unknown_server_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="FAULTS_SERVER"):
        Settings.from_env({"FAULTS_SERVER": "rds"})


def test_ci_deletes_under_both_outages_and_fails_over_a_smaller_burst() -> None:
    full, ci = PROFILES["full"], PROFILES["ci"]
    assert full.failover_crs == 20 and 0 < ci.failover_crs < full.failover_crs
    assert full.deletion_faults == 3 and ci.deletion_faults == 2  # stopped and wrong password; full also crashes
    assert 0 < ci.deletions_per_fault <= full.deletions_per_fault
