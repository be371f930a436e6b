"""Where the local environment keeps its state, and what it knows about a running one."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OPERATOR_NAMESPACE = "external-mysql-operator-system"
DEFAULT_SERVER = "default"
SERVER_SECRET_NAME = "mysql-server-default"  # noqa: S105 - a Secret name, not a password
# The CA of the local MariaDB's certificate (and of the API server's), for MySQLServers with TLS.
CA_SECRET_NAME = "mysql-ca"  # noqa: S105 - a Secret name, not a password
# The MySQLServer of the hardened MariaDB (hardened.py) and the Secret with its admin's credentials.
HARDENED_SERVER = "hardened"
HARDENED_SECRET_NAME = "mysql-server-hardened"  # noqa: S105 - a Secret name, not a password


@dataclass(frozen=True)
class Paths:
    """Folders the local environment uses; all git-ignored and under the repository by default."""

    root: Path
    state: Path

    @classmethod
    def from_env(cls) -> Paths:
        """`LOCALENV_STATE_DIR` moves the state folder (default: `<repo>/.localenv`)."""
        state = Path(os.environ.get("LOCALENV_STATE_DIR", REPO_ROOT / ".localenv")).resolve()
        return cls(root=REPO_ROOT, state=state)

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def venv(self) -> Path:
        return self.root / ".venv"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.state / "state.json"


@dataclass
class State:
    """Ports and credentials chosen when the environment was first started."""

    etcd_client_port: int = 0
    etcd_peer_port: int = 0
    apiserver_port: int = 0
    controller_manager_port: int = 0
    mysql_port: int = 0
    admin_token: str = ""
    mysql_admin_user: str = "admin"
    mysql_admin_password: str = ""
    # The hardened MariaDB; state files written before it existed load with these defaults, and
    # `up` fills in a port and a password.
    mysql_hardened_port: int = 0
    mysql_hardened_admin_user: str = "operator_admin"
    mysql_hardened_admin_password: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: Paths) -> State | None:
        if not paths.state_file.exists():
            return None
        return cls(**json.loads(paths.state_file.read_text()))

    def save(self, paths: Paths) -> None:
        paths.state.mkdir(parents=True, exist_ok=True)
        paths.state_file.write_text(json.dumps(asdict(self), indent=2))
        paths.state_file.chmod(0o600)
