"""ansible-doc on the repository's modules, with the repository's ansible.cfg (doc fragments, module_utils)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
MODULES = tuple(sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py")))


def ansible_doc(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `ansible-doc -M plugins/modules <args>` from the repository root."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-M", str(REPO / "plugins" / "modules"), *args],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=120,
    )
