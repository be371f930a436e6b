"""Payload canaries (testbed/faults/canaries.py): found in any phase, recorded once."""

from __future__ import annotations

from pathlib import Path

from testbed.faults.canaries import present, record


def test_no_folder_means_no_canaries(tmp_path: Path) -> None:
    assert present(tmp_path / "canaries") == []


def test_each_canary_is_recorded_with_the_phase_after_which_it_first_appeared(tmp_path: Path) -> None:
    seen: dict[str, str] = {}
    (tmp_path / "annotation-jinja").touch()
    assert record(present(tmp_path), seen, "creating the hostile entries") == ["annotation-jinja"]
    (tmp_path / "template-jinja-value").touch()
    assert record(present(tmp_path), seen, "deleting the hostile entries") == ["template-jinja-value"]
    assert seen == {
        "annotation-jinja": "creating the hostile entries",
        "template-jinja-value": "deleting the hostile entries",
    }
