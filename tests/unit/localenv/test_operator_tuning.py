"""What the operator's processes run with, set alike for `make run`/tests (operator_env) and the image
(Dockerfile ENV, config/manager): ansible-runner's verbosity and ansible_site on PYTHONPATH."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from testbed.localenv import operator
from testbed.localenv.config import REPO_ROOT, Paths


def _manager_env() -> dict[str, str]:
    docs = yaml.safe_load_all((REPO_ROOT / "config" / "manager" / "manager.yaml").read_text())
    (deployment,) = [d for d in docs if d and d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_verbosity_is_set_for_every_watched_kind() -> None:
    env = operator.verbosity_env(REPO_ROOT / "watches.yaml")
    assert env == {
        "ANSIBLE_VERBOSITY_MYSQLDATABASE_PIWIK_PRO": str(operator.ANSIBLE_VERBOSITY),
        "ANSIBLE_VERBOSITY_MYSQLSERVER_PIWIK_PRO": str(operator.ANSIBLE_VERBOSITY),
    }


def test_manager_deployment_sets_the_same_verbosity_as_make_run() -> None:
    wanted = operator.verbosity_env(REPO_ROOT / "watches.yaml")
    manager = _manager_env()
    assert {name: manager.get(name) for name in wanted} == wanted
    local = operator.operator_env(Paths(root=REPO_ROOT, state=REPO_ROOT / ".localenv"), "/k", base={})
    assert {name: local[name] for name in wanted} == wanted


def test_ansible_operator_still_reads_the_per_kind_verbosity() -> None:
    """Fails when bin/ansible-operator no longer has ANSIBLE_VERBOSITY_<KIND>_<GROUP> (it would run -vv again)."""
    binary = REPO_ROOT / "bin" / "ansible-operator"
    assert binary.is_file(), "bin/ansible-operator is missing: run `make tools`"
    assert b"ANSIBLE_VERBOSITY_%s_%s" in binary.read_bytes()


def test_ansible_site_is_on_pythonpath_in_the_image_and_for_make_run(tmp_path: Path) -> None:
    env = operator.operator_env(Paths(root=tmp_path, state=tmp_path / "s"), "/k", base={"PYTHONPATH": "/other"})
    assert env["PYTHONPATH"] == str(tmp_path / operator.ANSIBLE_SITE)
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(rf"^COPY {operator.ANSIBLE_SITE}/ \$\{{HOME\}}/{operator.ANSIBLE_SITE}/$", dockerfile, re.M)
    assert re.search(rf"^\s+PYTHONPATH=\$\{{HOME\}}/{operator.ANSIBLE_SITE}$", dockerfile, re.M)
    assert (REPO_ROOT / operator.ANSIBLE_SITE / "sitecustomize.py").is_file()


def test_ansible_site_is_compiled_with_the_plugins(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / operator.ANSIBLE_SITE).mkdir()
    (tmp_path / operator.ANSIBLE_SITE / "sitecustomize.py").write_text("X = 1\n")
    operator.compile_plugins(Paths(root=tmp_path, state=tmp_path / "s"))
    assert list((tmp_path / operator.ANSIBLE_SITE / "__pycache__").glob("sitecustomize.*.pyc"))
