"""MySQLServers the suite adds for the local MariaDB, each with its own credentials Secret, and the
server `default` the local environment made (which the cases that break MariaDB or its Secret watch)."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from ..localenv import cluster
from ..localenv.config import DEFAULT_SERVER, OPERATOR_NAMESPACE
from .crs import CrRef, poll
from .stack import FaultStack

DEFAULT = CrRef.server(DEFAULT_SERVER)


def credentials_name(server: str) -> str:
    return f"faults-server-{server}"


def manifest(stack: FaultStack, server: str) -> dict[str, Any]:
    """The MySQLServer `server` for the local MariaDB, as the local environment makes `default`."""
    return cluster.server_manifest(server, stack.state.mysql_port, credentials_name(server))


def create(stack: FaultStack, server: str) -> None:
    """The credentials Secret in the operator's namespace (the only place it is read), then the server."""
    state = stack.state
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=credentials_name(server)),
        string_data={"username": state.mysql_admin_user, "password": state.mysql_admin_password},
    )
    for make in (
        lambda: stack.crs.core.create_namespaced_secret(OPERATOR_NAMESPACE, body),
        lambda: stack.crs.create(manifest(stack, server)),
    ):
        try:
            make()
        except ApiException as err:
            if err.status != 409:
                raise


def delete(stack: FaultStack, server: str, timeout: float) -> bool:
    """Delete the server, wait until its finalizer let it go, then its Secret; False when it stayed."""
    ref = CrRef.server(server)
    stack.crs.delete(ref)
    if not poll(lambda: not stack.crs.exists(ref), timeout, 2):
        return False
    try:
        stack.crs.core.delete_namespaced_secret(credentials_name(server), OPERATOR_NAMESPACE)
    except ApiException as err:
        if err.status != 404:
            raise
    return True
