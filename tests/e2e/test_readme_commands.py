"""The README's first commands, run exactly as a newcomer copies them: `make run`, then in another shell
the block that follows it. They run inside hack/isolated.sh (a private loopback), so the ports this
session's operator holds do not matter, on a local environment of their own."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from testbed.localenv.config import REPO_ROOT

TIMEOUT = 900


def readme_next_commands() -> str:
    """The sh block the README gives for the shell next to `make run`."""
    text = (REPO_ROOT / "README.md").read_text()
    after = text.split("In another shell:", 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert block, "README: no sh block after 'In another shell:'"
    return block.group(1)


SCRIPT = """
set -euo pipefail
unset KUBECONFIG
setsid make run > "$STATE/make-run.log" 2>&1 &
run=$!
stop() {
  kill -- -$run 2>/dev/null || true
  .venv/bin/python -m testbed.localenv down --purge >/dev/null
}
trap stop EXIT
for _ in $(seq 600); do
  grep -q "^running .*ansible-operator" "$STATE/make-run.log" 2>/dev/null && break
  kill -0 $run 2>/dev/null || { tail -40 "$STATE/make-run.log"; exit 1; }
  sleep 1
done
# ---- the README's commands, verbatim ----
{readme}
# ---- what a newcomer then sees ----
bin/kubectl wait --for=condition=Ready mysqlserver/default --timeout=300s
bin/kubectl wait --for=condition=Ready mysqldatabase/the-database-name --timeout=300s
bin/kubectl get mysqlservers
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="hack/isolated.sh needs root (unshare); CI runs as root")
def test_readme_commands_make_the_sample_ready(tmp_path: Path) -> None:
    state = tmp_path / "localenv"
    script = SCRIPT.replace("{readme}", readme_next_commands())
    env = {**os.environ, "LOCALENV_STATE_DIR": str(state), "STATE": str(tmp_path)}
    env.pop("KUBECONFIG", None)
    result = subprocess.run(
        ["hack/isolated.sh", "bash", "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    log = (
        (tmp_path / "make-run.log").read_text(errors="replace")[-3000:] if (tmp_path / "make-run.log").exists() else ""
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n--- make run:\n{log}"
    # The last table is `bin/kubectl get mysqlservers`, printed after both resources were Ready.
    table = result.stdout.splitlines()
    start = max(i for i, line in enumerate(table) if line.split()[:2] == ["NAME", "HOST"])
    header, row = table[start], next(line for line in table[start:] if line.startswith("default "))
    assert header.split()[:6] == ["NAME", "HOST", "FLAVOR", "VERSION", "DATABASES", "READY"]
    assert row.split()[2] == "mariadb" and row.split()[5] == "True", row
