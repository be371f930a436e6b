"""What a CR's status says about being Ready (testbed/kube_api.py)."""

from __future__ import annotations

from typing import Any

from testbed.kube_api import is_current, is_ready, ready_condition

READY = {"type": "Ready", "status": "True", "reason": "Reconciled"}


def _cr(generation: int, observed: int, *conditions: dict[str, str]) -> dict[str, Any]:
    status = {"observedGeneration": observed, "conditions": list(conditions)}
    return {"metadata": {"generation": generation}, "status": status}


def test_ready_needs_the_current_generation() -> None:
    assert is_ready(_cr(2, 2, READY))
    assert not is_ready(_cr(3, 2, READY))
    assert not is_current(_cr(3, 2, READY))


def test_ready_needs_a_true_ready_condition() -> None:
    assert not is_ready(_cr(1, 1, {"type": "Ready", "status": "False"}))
    assert not is_ready(_cr(1, 1))


def test_the_ready_condition_is_a_copy_and_empty_without_status() -> None:
    cr = _cr(1, 1, {"type": "Progressing", "status": "True"}, READY)
    condition = ready_condition(cr)
    assert condition == READY
    condition["status"] = "False"
    assert ready_condition(cr) == READY
    assert ready_condition({"metadata": {"name": "new"}}) == {}
