"""The role works whichever way its modules run: in the task's worker (plugins/action/mysqldatabase_in_process.py,
the default) or the usual way, AnsiballZ and a new Python, which the plugin falls back to on another
ansible-core and which MYSQLDATABASE_IN_PROCESS=false forces.

For the usual way the session's operator is paused and one runs with the switch in its environment (ports
8888/5050 allow one at a time). The CR asks for verbosity 3, at which Ansible names the file of every module
it runs the usual way: the one difference between the two ways that a run shows, so the test knows which one
it got, and that neither prints a password."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from e2e_support import (
    GROUP,
    PLURAL,
    VERSION,
    Stack,
    app_login,
    create_cr,
    default_profile,
    secret_values,
    wait_gone,
    wait_ready,
    wait_server,
)

from testbed.faults.runs import jobs
from testbed.localenv.config import DEFAULT_SERVER, REPO_ROOT
from testbed.localenv.operator import OperatorProcess

SWITCH = "MYSQLDATABASE_IN_PROCESS"
VERBOSITY_ANNOTATION = "ansible.sdk.operatorframework.io/verbosity"
# What ActionBase._execute_module prints at -vvv for a module it runs the usual way.
USUAL_WAY = f"Using module file {REPO_ROOT / 'plugins' / 'modules'}/"
# What the inventory manager prints at -vvv in every run: the annotation took effect, so USUAL_WAY's
# absence means something.
AT_VVV = "declined parsing"


@pytest.fixture(params=["in-process", "usual-way"])
def module_execution(request: pytest.FixtureRequest, running_operator: OperatorProcess) -> Iterator[str]:
    """The session's operator as it is (in process), or one with the switch off in its environment."""
    if request.param == "in-process":
        yield request.param
        return
    running_operator.stop()
    operator = OperatorProcess(running_operator.paths, watches=running_operator.watches)
    operator.start(extra_env={SWITCH: "false"})
    try:
        yield request.param
    finally:
        operator.stop()
        running_operator.start()


def runs_output(namespace: str) -> str:
    """The playbook output of the namespace's reconciles that ansible-runner keeps (watches.yaml: 3 per CR)."""
    return "".join((job / "stdout").read_text() for job in jobs(namespace) if (job / "stdout").is_file())


def test_role_creates_and_deletes_whichever_way_modules_run(
    stack: Stack, namespace: str, module_execution: str
) -> None:
    server = default_profile(stack)
    wait_server(stack, DEFAULT_SERVER)
    name = f"exec-{os.urandom(2).hex()}"
    create_cr(stack, namespace, name, server.spec(), {VERBOSITY_ANNOTATION: "3"})
    cr = wait_ready(stack, namespace, name)

    assert cr["status"]["secretName"] == name
    assert server.database_exists(name) and server.user_exists(name)
    values = secret_values(stack, namespace, name)
    app_login(stack, values).close()
    output = runs_output(namespace)
    assert AT_VVV in output, "the reconciles did not run at verbosity 3"
    assert (USUAL_WAY in output) == (module_execution == "usual-way"), f"modules did not run {module_execution}"
    for password in (values["password"], server.admin_password):
        assert password not in output, "a password reached the playbook output"

    stack.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    wait_gone(stack, namespace, name)
    assert not server.database_exists(name)
    assert not server.user_exists(name)
