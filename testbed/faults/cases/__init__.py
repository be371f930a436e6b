"""The fault cases, in the order the suite runs them. Each takes the Context and returns a CaseResult."""

from __future__ import annotations

from collections.abc import Callable

from ..context import Context
from ..hostile import run_hostile
from ..report import CaseResult
from .admin_password import run_admin_password
from .apiserver_restart import run_apiserver_restart
from .burst import run_burst
from .cleanup import run_cleanup
from .delete_kill import run_delete_kill
from .deletion_outage import run_deletion_outage
from .failover import run_failover
from .final_health import run_final_health
from .mariadb_outage import run_mariadb_outage
from .operator_kill import run_operator_kill

Case = Callable[[Context], CaseResult]

CASES: dict[str, Case] = {
    # First: it deletes its CRs, and its replicas reconcile every CR there is when they start and take over.
    "failover": run_failover,
    "operator_kill": run_operator_kill,
    "delete_kill": run_delete_kill,
    "mariadb_outage": run_mariadb_outage,
    "apiserver_restart": run_apiserver_restart,
    "admin_password": run_admin_password,
    "deletion_outage": run_deletion_outage,
    "burst": run_burst,
    "hostile": run_hostile,
    "final_health": run_final_health,
    "cleanup": run_cleanup,
}
