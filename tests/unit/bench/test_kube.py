"""Reading objects as the API returns them (testbed/bench/kube.py)."""

from __future__ import annotations

import base64

from testbed.bench.kube import secret_value


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_value_decodes_the_key() -> None:
    secret = {"data": {"host": _b64("moved.example"), "port": _b64("3306")}}
    assert secret_value(secret, "host") == "moved.example"


def test_secret_value_is_none_for_a_missing_key_or_undecodable_data() -> None:
    assert secret_value({"data": {"port": _b64("3306")}}, "host") is None
    assert secret_value({}, "host") is None
    assert secret_value({"data": {"host": "!!not base64!!"}}, "host") is None
