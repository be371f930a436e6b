# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ready condition and the status patch of our custom resources, computed once for two callers.

The status module writes the patch; the mysqldatabase role's filter asks whether the patch would change
anything, so that a reconcile with nothing to write ends without running the status task. Plain data in,
plain data out, standard library only.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.mysqldatabase_k8s import apply_merge_patch

CONDITION_TYPE = "Ready"
# The metav1.Condition limit; a longer message makes the API server refuse the status write.
CONDITION_MESSAGE_LIMIT = 32768


def ready_condition(
    previous: dict[str, Any] | None, params: dict[str, Any], generation: int | None, timestamp: str
) -> dict[str, Any]:
    """Return the Ready condition, keeping lastTransitionTime while its status stays the same."""
    status = "True" if params["ready"] else "False"
    condition = {
        "type": CONDITION_TYPE,
        "status": status,
        "reason": params["reason"],
        "message": params["message"][:CONDITION_MESSAGE_LIMIT],
        "lastTransitionTime": timestamp,
    }
    if previous and previous.get("status") == status and previous.get("lastTransitionTime"):
        condition["lastTransitionTime"] = previous["lastTransitionTime"]
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def desired_conditions(current: list[Any], condition: dict[str, Any]) -> list[Any]:
    """Return ``current`` with its Ready condition replaced (or appended); the others keep their place."""
    result, placed = [], False
    for item in current:
        if isinstance(item, dict) and item.get("type") == CONDITION_TYPE:
            if not placed:
                result.append(condition)
                placed = True
            continue
        result.append(item)
    if not placed:
        result.append(condition)
    return result


def status_patch(obj: dict[str, Any], params: dict[str, Any], timestamp: str) -> dict[str, Any]:
    """Return the merge patch for ``status``: the given fields and the whole conditions list."""
    status = obj.get("status")
    status = status if isinstance(status, dict) else {}
    conditions = status.get("conditions")
    conditions = conditions if isinstance(conditions, list) else []
    previous = next(
        (c for c in conditions if isinstance(c, dict) and c.get("type") == CONDITION_TYPE),
        None,
    )
    generation = params["observed_generation"]
    if generation is None:
        generation = obj.get("metadata", {}).get("generation")
    condition = ready_condition(previous, params, generation, timestamp)
    top = {} if generation is None else {"observedGeneration": generation}
    # Merge patch replaces lists whole, hence every condition is sent, not only Ready.
    return {**params["fields"], **top, "conditions": desired_conditions(conditions, condition)}


def status_change(obj: dict[str, Any], params: dict[str, Any], timestamp: str) -> tuple[Any, dict[str, Any], Any]:
    """The object's status before, the merge patch that writes ``params`` (ready, reason, message,
    observed_generation, fields) at ``timestamp``, and the status after it."""
    before = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    patch = status_patch(obj, params, timestamp)
    return before, patch, apply_merge_patch(before, patch)


def status_unchanged(obj: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether writing ``params`` to ``obj`` would leave its status as it is; the timestamp never matters,
    as an unchanged condition keeps its own."""
    before, _, after = status_change(obj, params, "")
    return bool(after == before)
