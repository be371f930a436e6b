"""The server under test (FAULTS_SERVER): its MySQLServer and credentials, its MariaDB process, and how
the suite reaches it.

Both servers of the local environment exist in every run (the localenv makes them); the suite's CRs, the
MySQLServers it adds, its health, orphan and leak checks and the faults that break a server act on the
target only. Its MySQLServer is the one localenv/cluster.py builds, so the suite never has a second copy
of its port, credentials or TLS settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

from ..localenv import cluster, hardened, mariadb
from ..localenv.config import DEFAULT_SERVER, HARDENED_SERVER, Paths, State
from .crs import CrRef

# localenv process name and start function of each server's MariaDB
_MARIADBS: dict[bool, tuple[str, Callable[[Paths, State], None]]] = {
    False: (mariadb.NAME, mariadb.start),
    True: (hardened.NAME, hardened.start),
}


@dataclass(frozen=True)
class Target:
    server: str  # the MySQLServer's name
    credentials: str  # its credentials Secret in the operator's namespace
    component: str  # the localenv process of its MariaDB (stopped and crashed by the outage case)
    port: int
    admin_user: str
    admin_password: str
    tls: dict[str, Any] | None  # the MySQLServer's spec.tls; None: plain TCP
    start: Callable[[Paths, State], None]

    @classmethod
    def of(cls, server: str, state: State) -> Target:
        is_hardened = server == HARDENED_SERVER
        manifest = cluster.hardened_server(state) if is_hardened else cluster.default_server(state)
        spec: dict[str, Any] = manifest["spec"]  # type: ignore[assignment]
        component, start = _MARIADBS[is_hardened]
        user, password = (
            (state.mysql_hardened_admin_user, state.mysql_hardened_admin_password)
            if is_hardened
            else (state.mysql_admin_user, state.mysql_admin_password)
        )
        return cls(
            server=server,
            credentials=spec["credentialsSecretRef"]["name"],
            component=component,
            port=int(spec["port"]),
            admin_user=user,
            admin_password=password,
            tls=spec.get("tls"),
            start=start,
        )

    @property
    def ref(self) -> CrRef:
        return CrRef.server(self.server)

    @property
    def tls_required(self) -> bool:
        """Application logins must use TLS (the hardened server refuses anything else)."""
        return self.tls is not None

    def server_manifest(self, name: str, credentials: str) -> dict[str, Any]:
        """Another MySQLServer `name` for the same MariaDB, as the local environment makes the target."""
        return cluster.server_manifest(name, self.port, credentials, self.tls)

    def server_ref(self) -> dict[str, Any]:
        """What a MySQLDatabase's spec names to use the target: nothing for `default` (so that the default
        profile keeps testing an omitted serverRef), else serverRef."""
        return {} if self.server == DEFAULT_SERVER else {"serverRef": {"name": self.server}}


def dba_connect(paths: Paths, target: Target) -> pymysql.connections.Connection:
    """root over the MariaDB's Unix socket, as its DBA would: the suite looks at the server from outside
    the operator, and the hardened server's own admin account has no SUPER."""
    return mariadb.root_connect(paths, target.component)
