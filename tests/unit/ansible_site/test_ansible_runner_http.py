"""ansible_site/ansible_runner_http: the same event delivery as the installed plugin, without requests, and the
installed plugin itself whenever the one checked is not what is installed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
import subprocess
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import ClassVar

import pytest

from testbed.bench.runner_cost import EVENTS_PATH, EventSink, _EventHandler
from testbed.localenv.config import REPO_ROOT

SITE = REPO_ROOT / "ansible_site"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


@pytest.fixture(scope="module")
def lean() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lean_runner_http", SITE / "ansible_runner_http" / "__init__.py", submodule_search_locations=[]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _installed_events() -> Path:
    (path,) = [
        Path(str(f.locate())) for f in importlib.metadata.files("ansible-runner-http") or [] if f.name == "events.py"
    ]
    return path


def test_installed_plugin_is_the_one_replicated(lean: ModuleType) -> None:
    """Fails when ansible-runner-http changes: compare its events.py with this package, then update the hash."""
    assert lean._sha256(str(_installed_events())) == lean.EVENTS_SHA256
    assert importlib.metadata.version("ansible-runner") == lean.ANSIBLE_RUNNER


def test_entry_point_imports_the_module_this_package_shadows() -> None:
    (entry,) = importlib.metadata.entry_points(group="ansible_runner.plugins", name="http")
    assert entry.value == "ansible_runner_http"


def _ansible_runner_plugin(**env: str) -> dict[str, object]:
    """What ansible-runner loads as its `http` plugin, with ansible_site on PYTHONPATH as the operator has it."""
    code = (
        "import json, sys, ansible_runner\n"
        "p = ansible_runner.plugins['http']\n"
        "lean = hasattr(p, 'post_unix')\n"
        "print(json.dumps({'file': p.__file__, 'lean': lean, 'requests': 'requests' in sys.modules}))"
    )
    run_env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_SITE_DISABLE"} | {"PYTHONPATH": str(SITE)} | env
    out = subprocess.run([str(VENV_PYTHON), "-c", code], capture_output=True, text=True, env=run_env, check=True)
    return json.loads(out.stdout)


def test_ansible_runner_loads_the_lean_plugin_without_requests() -> None:
    plugin = _ansible_runner_plugin()
    assert plugin["lean"] and not plugin["requests"]
    assert Path(str(plugin["file"])).is_relative_to(SITE)


def test_switched_off_ansible_runner_loads_the_installed_plugin() -> None:
    plugin = _ansible_runner_plugin(ANSIBLE_SITE_DISABLE="events")
    assert not plugin["lean"] and plugin["requests"]
    assert Path(str(plugin["file"])).parent == _installed_events().parent


def test_another_installed_plugin_is_not_replaced(lean: ModuleType, tmp_path: Path) -> None:
    import ansible_runner  # noqa: F401 - the check looks at the ansible-runner being imported

    spec = lean.installed_spec()
    assert lean.replaceable(spec, {})
    assert not lean.replaceable(spec, {"ANSIBLE_SITE_DISABLE": "all"})
    changed = tmp_path / "ansible_runner_http"
    changed.mkdir()
    (changed / "events.py").write_text(_installed_events().read_text() + "\n# a new release\n")
    assert not lean.replaceable(SimpleNamespace(submodule_search_locations=[str(changed)]), {})


def _config(url: str, path: str = EVENTS_PATH, headers: dict[str, str] | None = None) -> SimpleNamespace:
    settings = {"runner_http_url": url, "runner_http_path": path, "runner_http_headers": headers}
    return SimpleNamespace(settings=settings)


class _Recording(_EventHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, object]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_event_is_posted_as_json_to_the_socket(
    lean: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = str(tmp_path / "e.sock")
    with EventSink(sock) as sink:
        monkeypatch.setattr(sink._server, "RequestHandlerClass", _Recording)
        _Recording.seen.clear()
        lean.event_handler(_config(sock, headers={"X-Run": "1"}), {"uuid": "u1", "event": "runner_on_ok", "n": "é"})
    assert _Recording.seen == [(EVENTS_PATH, "application/json", {"uuid": "u1", "event": "runner_on_ok", "n": "é"})]


def test_environment_overrides_the_settings(lean: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_HTTP_URL", "/elsewhere.sock")
    monkeypatch.setenv("RUNNER_HTTP_PATH", "/p/")
    assert lean.get_configuration(_config("/a.sock")) == {
        "runner_url": "/elsewhere.sock",
        "runner_path": "/p/",
        "runner_headers": None,
    }


def test_no_url_skips_like_the_installed_plugin(lean: ModuleType) -> None:
    lean.status_handler(SimpleNamespace(settings={}), {"status": "starting"})


def test_gone_receiver_raises_an_oserror_as_requests_does(lean: ModuleType, tmp_path: Path) -> None:
    sock = tmp_path / "gone.sock"
    sock.touch()  # the path exists (a unix socket URL) but nothing listens
    with pytest.raises(OSError):
        lean.event_handler(_config(str(sock)), {"uuid": "u"})


def test_nan_is_refused_as_requests_refuses_it(lean: ModuleType, tmp_path: Path) -> None:
    with EventSink(str(tmp_path / "n.sock")) as sink, pytest.raises(OSError):
        lean.event_handler(_config(sink.socket_path), {"x": math.nan})
