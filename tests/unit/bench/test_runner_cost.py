"""The runner_cost reproduction: variants, the operator's ansible-runner argv, its private dir, the sink."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest
import yaml

from testbed.bench import runner_cost
from testbed.bench.runner_cost import Sample, Variant
from testbed.localenv.operator import ANSIBLE_VERBOSITY


def test_variant_sets_verbosity_and_changes_the_environment() -> None:
    variant = runner_cost.parse_variant("before:v=2 ANSIBLE_CONFIG=/x/ansible.cfg -PYTHONPATH")
    assert variant == Variant("before", 2, {"ANSIBLE_CONFIG": "/x/ansible.cfg"}, ("PYTHONPATH",))
    env = variant.env({"PYTHONPATH": "/site", "ANSIBLE_CONFIG": "/repo/ansible.cfg", "HOME": "/h"})
    assert env == {"ANSIBLE_CONFIG": "/x/ansible.cfg", "HOME": "/h"}


def test_bare_variant_is_how_the_operator_runs_now() -> None:
    assert runner_cost.parse_variant("now") == Variant("now", ANSIBLE_VERBOSITY, {}, ())


def test_variant_values_may_hold_commas() -> None:
    assert runner_cost.parse_variant("x:A=b,c").set_env == {"A": "b,c"}


@pytest.mark.parametrize("spec", ["", ":v=1", "x:novalue"])
def test_malformed_variant_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        runner_cost.parse_variant(spec)


def test_argv_is_ansible_operators_role_command() -> None:
    argv = runner_cost.runner_argv(Path("/in"), Path("/roles"), "id-1", 2)
    assert argv == [
        "ansible-runner", "run", "/in", "--rotate-artifacts", "3", "--role", "runner_cost",
        "--roles-path", "/roles/", "--hosts", "localhost", "-i", "id-1", "-vv", "--role-skip-facts",
    ]  # fmt: skip
    assert "-v" not in " ".join(runner_cost.runner_argv(Path("/in"), Path("/roles"), "id-1", 0))


def test_private_dir_is_laid_out_as_ansible_operator_writes_it(tmp_path: Path) -> None:
    root = runner_cost.write_private_dir(tmp_path / "run", "/run/sock", "/venv/bin/python3")
    settings = json.loads((root / "env" / "settings").read_text())
    assert settings == {"runner_http_url": "/run/sock", "runner_http_path": "/events/"}
    assert json.loads((root / "env" / "envvars").read_text()) == {}
    hosts = (root / "inventory" / "hosts").read_text()
    assert hosts == "localhost ansible_connection=local ansible_python_interpreter=/venv/bin/python3"


def test_role_has_the_trivial_tasks_and_the_waiting_one() -> None:
    tasks = yaml.safe_load(json.dumps(runner_cost.role_tasks(3, 2)))
    assert [next(k for k in t if k != "name") for t in tasks] == ["ansible.builtin.set_fact"] * 3 + [
        "ansible.builtin.wait_for"
    ]
    assert tasks[-1]["ansible.builtin.wait_for"] == {"timeout": 2}
    assert len(runner_cost.role_tasks(7, 0)) == 7


def test_rounds_rotate_the_order() -> None:
    assert [runner_cost.rotation(["a", "b", "c"], r) for r in range(4)] == [
        ["a", "b", "c"],
        ["b", "c", "a"],
        ["c", "a", "b"],
        ["a", "b", "c"],
    ]


def _s(cpu: float, wall: float = 1.0, rc: int = 0) -> Sample:
    return Sample(cpu_s=cpu, wall_s=wall, maxrss_mb=50.0, returncode=rc, events=10)


def test_summary_pairs_each_round_with_the_first_and_the_previous_variant() -> None:
    summary = runner_cost.summarize(
        {
            "base": [_s(1.0), _s(2.0), _s(1.5)],
            "cut": [_s(0.9), _s(1.8), _s(1.3, rc=2)],
            "more": [_s(0.8), _s(1.7), _s(1.25)],
        }
    )
    assert summary["base"]["cpu_s_paired_diff_median"] == 0
    assert summary["cut"]["cpu_s_median"] == 1.3
    assert summary["cut"]["cpu_s_paired_diff_median"] == pytest.approx(-0.2)
    assert summary["cut"]["failed_runs"] == 1
    assert summary["more"]["cpu_s_paired_diff_prev_median"] == pytest.approx(-0.1)
    assert summary["more"]["cpu_s_paired_diff_median"] == pytest.approx(-0.25)


def test_sink_answers_event_posts_with_204_and_counts_them(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    with runner_cost.EventSink(path) as sink:
        for url, expected in (("/events/", 204), ("/other", 404)):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)
            conn = http.client.HTTPConnection("localhost")
            conn.sock = sock
            conn.request("POST", url, b'{"uuid": "x"}', {"Content-Type": "application/json"})
            assert conn.getresponse().status == expected
            conn.close()
        assert sink.events == 1
    assert not Path(path).exists()
