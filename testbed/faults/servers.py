"""MySQLServers the suite adds for the MariaDB under test, each with its own credentials Secret (the
target's admin) and the target's TLS settings."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from ..localenv.config import OPERATOR_NAMESPACE
from .crs import CrRef, poll
from .stack import FaultStack


def credentials_name(server: str) -> str:
    return f"faults-server-{server}"


def manifest(stack: FaultStack, server: str) -> dict[str, Any]:
    """The MySQLServer `server` for the MariaDB under test, as the local environment makes the target's."""
    return stack.target.server_manifest(server, credentials_name(server))


def create(stack: FaultStack, server: str) -> None:
    """The credentials Secret in the operator's namespace (the only place it is read), then the server."""
    target = stack.target
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=credentials_name(server)),
        string_data={"username": target.admin_user, "password": target.admin_password},
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
