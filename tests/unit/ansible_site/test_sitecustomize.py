"""ansible_site/sitecustomize.py: no GC and no teardown in ansible-playbook/ansible-runner, only under the
versions it was checked against, and exactly today's behaviour everywhere else."""

from __future__ import annotations

import gc
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import ansible.release
import pytest

from testbed.localenv.config import REPO_ROOT

SITE = REPO_ROOT / "ansible_site"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


@pytest.fixture(scope="module")
def site() -> ModuleType:
    """The file as a module of its own name (its start-up code finds no target in pytest)."""
    spec = importlib.util.spec_from_file_location("ansible_site_sitecustomize", SITE / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def gc_restored() -> Iterator[None]:
    yield
    gc.enable()


def _pins() -> dict[str, str]:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(d.split("==") for d in deps if "==" in d)


def test_checked_versions_are_the_pinned_ones(site: ModuleType) -> None:
    """Fails when ansible-core, ansible-runner or Python move: check the file against them, then the pins."""
    assert (_pins()["ansible-core"], _pins()["ansible-runner"]) == (site.ANSIBLE_CORE, site.ANSIBLE_RUNNER)
    assert (
        ansible.release.__version__,
        importlib.metadata.version("ansible-runner"),
    ) == (site.ANSIBLE_CORE, site.ANSIBLE_RUNNER)
    assert sys.version_info[:2] == site.PYTHON


def test_console_scripts_call_the_main_it_wraps(site: ModuleType) -> None:
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    for program, target in site.TARGETS.items():
        assert scripts[program] == f"{target.module}:main"


def test_version_checks_accept_the_installed_versions(site: ModuleType) -> None:
    import ansible.cli.playbook
    import ansible_runner.__main__

    assert site.TARGETS["ansible-playbook"].version_ok(ansible.cli.playbook)
    assert site.TARGETS["ansible-runner"].version_ok(ansible_runner.__main__)


def test_only_ansible_playbook_and_ansible_runner_are_targets(site: ModuleType) -> None:
    assert site.target_of(["/usr/local/bin/ansible-playbook", "x.yml"]).module == "ansible.cli.playbook"
    assert site.target_of(["/opt/venv/bin/ansible-runner", "run"]).module == "ansible_runner.__main__"
    for argv in (["-c"], ["-"], ["/usr/bin/ansible-galaxy"], ["/usr/bin/ansible"], []):
        assert site.target_of(argv) is None


def test_disable_switch(site: ModuleType) -> None:
    assert site.disabled({}) == set()
    assert site.disabled({"ANSIBLE_SITE_DISABLE": "gc"}) == {"gc"}
    assert site.disabled({"ANSIBLE_SITE_DISABLE": "all"}) >= {"gc", "teardown"}


def _fake_target(site: ModuleType, tmp_path: Path, name: str, version_ok: bool) -> object:
    (tmp_path / f"{name}.py").write_text("def main():\n    return 0\n")
    sys.path.insert(0, str(tmp_path))
    return site.Target("fake", name, lambda _module: version_ok)


def test_other_version_undoes_everything(site: ModuleType, tmp_path: Path, gc_restored: None) -> None:
    site.activate(_fake_target(site, tmp_path, "fake_cli_other", version_ok=False), set())
    assert not gc.isenabled()  # provisional, while the program imports
    module = importlib.import_module("fake_cli_other")
    assert gc.isenabled()
    assert not hasattr(module.main, "__wrapped__")


def test_checked_version_keeps_gc_off_and_wraps_main(site: ModuleType, tmp_path: Path, gc_restored: None) -> None:
    site.activate(_fake_target(site, tmp_path, "fake_cli_same", version_ok=True), set())
    module = importlib.import_module("fake_cli_same")
    assert not gc.isenabled()
    assert module.main.__wrapped__.__name__ == "main"


PROGRAM = """\
import atexit, sys, threading
from ansible.cli.playbook import main

class Tell:
    def __del__(self):
        sys.stderr.write("teardown\\n")

keep = Tell()
atexit.register(lambda: sys.stderr.write("atexit\\n"))
if "--thread" in sys.argv:
    sys.argv.remove("--thread")
    threading.Thread(target=__import__("time").sleep, args=(0.3,)).start()
sys.stdout.write("x" * 100000)  # a pipe is block-buffered: only a flush gets this out
sys.exit(main())
"""


def _run_program(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A program named ansible-playbook that calls the real ansible-playbook main() (as its console script)."""
    program = tmp_path / "ansible-playbook"
    program.write_text(PROGRAM)
    run_env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_SITE_DISABLE"}
    (tmp_path / "ansible.cfg").write_text("")
    run_env |= {"PYTHONPATH": str(SITE), "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), **env}
    return subprocess.run([str(VENV_PYTHON), str(program), *args], capture_output=True, text=True, env=run_env)


def test_clean_exit_skips_teardown_after_atexit_and_flush(tmp_path: Path) -> None:
    result = _run_program(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("x" * 100000) and "ansible-playbook [core" in result.stdout
    assert result.stderr.splitlines() == ["atexit"]


def test_error_status_is_kept(tmp_path: Path) -> None:
    result = _run_program(tmp_path, str(tmp_path / "missing.yml"))
    assert result.returncode == 1
    assert "could not be found" in result.stderr and "atexit" in result.stderr
    assert "teardown" not in result.stderr


def test_a_live_thread_means_the_normal_exit(tmp_path: Path) -> None:
    result = _run_program(tmp_path, "--version", "--thread")
    assert result.returncode == 0
    assert result.stderr.splitlines() == ["atexit", "teardown"]


def test_switched_off_it_is_the_normal_exit(tmp_path: Path) -> None:
    result = _run_program(tmp_path, "--version", ANSIBLE_SITE_DISABLE="all")
    assert result.returncode == 0
    assert result.stderr.splitlines() == ["atexit", "teardown"]


PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Report whether the collector runs (in the forked worker, as in the main process)
      ansible.builtin.debug:
        msg: "gc enabled: {{ 0 | gc_enabled }}"
    - name: Fail when asked
      ansible.builtin.fail:
        msg: asked to fail
      when: fail_now | default(false) | bool
"""
GC_FILTER = """\
import gc

class FilterModule:
    def filters(self):
        return {"gc_enabled": lambda _: gc.isenabled()}
"""


def _ansible_playbook(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "filter_plugins").mkdir(exist_ok=True)
    (tmp_path / "filter_plugins" / "gc_probe.py").write_text(GC_FILTER)
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    run_env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_SITE_DISABLE"}
    (tmp_path / "ansible.cfg").write_text("")
    run_env |= {"PYTHONPATH": str(SITE), "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    run_env |= env
    argv = [str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local", "play.yml"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, env=run_env, cwd=tmp_path)


def test_real_ansible_playbook_runs_without_gc_and_keeps_its_status(tmp_path: Path) -> None:
    ok = _ansible_playbook(tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "gc enabled: False" in ok.stdout and "PLAY RECAP" in ok.stdout
    failed = _ansible_playbook(tmp_path, "-e", "fail_now=true")
    assert failed.returncode == 2
    assert "asked to fail" in failed.stdout and "PLAY RECAP" in failed.stdout


def test_real_ansible_playbook_switched_off_collects(tmp_path: Path) -> None:
    result = _ansible_playbook(tmp_path, ANSIBLE_SITE_DISABLE="gc")
    assert result.returncode == 0
    assert "gc enabled: True" in result.stdout
