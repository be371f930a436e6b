"""ansible-runner's `http` event plugin, posting with http.client instead of requests.

ansible-operator gives every ansible-runner a unix socket (env/settings: runner_http_url, runner_http_path)
and reads each job event from a POST to it. ansible-runner loads the plugin through the entry point
`http = ansible_runner_http` of the base image's ansible-operator-http-events (ansible-runner-http on PyPI);
this package sits earlier on PYTHONPATH (Dockerfile ENV, testbed/localenv/operator.py), so that entry point imports
it instead. The installed package stays where it is.

Same behaviour as the installed events.py (EVENTS_SHA256 pins the exact file): the settings and the
RUNNER_HTTP_URL/RUNNER_HTTP_PATH overrides are read the same way, the body is the event as JSON
(application/json), the response status is not looked at, and what requests raises as an OSError (its
ConnectionError, its InvalidJSONError for NaN) raises an OSError here too, which ansible-runner's event
callback catches alike. What it leaves out is the import of requests and urllib3 and a session per event
(the README's `make bench` figures, under Tests).

Falls back to the installed package (the stock plugin, requests and all) when that package's events.py or
ansible-runner's version is not the one checked, when the URL is not a unix socket, or with
ANSIBLE_SITE_DISABLE=events (or `all`).
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import importlib.machinery
import importlib.util
import json
import logging
import os
import socket
import sys
from types import ModuleType
from typing import Any

# sha256 of ansible_runner_http/events.py in ansible-operator-http-events 1.0.0 (the base image's
# images/ansible-operator/ansible_runner_http) and ansible-runner-http 1.0.0 (PyPI): the same file.
EVENTS_SHA256 = "366a1796ae6aa164e56cb2f08a0764e83690b69ac58cc6c8edaad83da85e0b01"
ANSIBLE_RUNNER = "2.4.3"
DISABLE_ENV = "ANSIBLE_SITE_DISABLE"
NAME = "ansible_runner_http"  # the entry point's module, which this package shadows

logger = logging.getLogger("ansible-runner")
_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def installed_spec() -> importlib.machinery.ModuleSpec | None:
    """The installed ansible_runner_http, which this package shadows."""
    rest = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    return importlib.machinery.PathFinder.find_spec(NAME, rest)


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return ""


def _runner_version_ok() -> bool:
    runner = sys.modules.get("ansible_runner")
    site = os.path.dirname(os.path.dirname(os.path.abspath(getattr(runner, "__file__", None) or "")))
    return os.path.isdir(os.path.join(site, f"ansible_runner-{ANSIBLE_RUNNER}.dist-info"))


def replaceable(spec: importlib.machinery.ModuleSpec | None, environ: Any = os.environ) -> bool:
    words = {w.strip() for w in environ.get(DISABLE_ENV, "").split(",")}
    if words & {"events", "all"} or spec is None or not spec.submodule_search_locations:
        return False
    events = os.path.join(next(iter(spec.submodule_search_locations)), "events.py")
    return _sha256(events) == EVENTS_SHA256 and _runner_version_ok()


def load_installed(spec: importlib.machinery.ModuleSpec) -> ModuleType:
    """Import the installed package under its own name, in place of this one."""
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    if spec.loader is None:
        raise ImportError(f"no loader for the installed {spec.name}", name=spec.name)
    spec.loader.exec_module(module)
    return module


class InvalidJSONError(OSError, ValueError):
    """An event JSON cannot carry (NaN); an OSError as requests' InvalidJSONError, so ansible-runner skips it."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str) -> None:
        super().__init__("localhost")
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def post_unix(socket_path: str, urlpath: str | None, data: Any, headers: dict[str, str] | None) -> int:
    """POST `data` as JSON to `urlpath` over the unix socket; the response status."""
    try:
        body = json.dumps(data, allow_nan=False).encode("utf-8")
    except ValueError as err:
        raise InvalidJSONError(str(err)) from err
    conn = _UnixConnection(socket_path)
    try:
        conn.request("POST", urlpath or "/", body, {"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.status
    except http.client.HTTPException as err:
        raise ConnectionError(f"event POST to {socket_path}: {err!r}") from err
    finally:
        conn.close()


def get_configuration(runner_config: Any) -> dict[str, Any]:
    runner_url = runner_config.settings.get("runner_http_url", None)
    runner_url = os.getenv("RUNNER_HTTP_URL", runner_url)
    runner_path = runner_config.settings.get("runner_http_path", None)
    runner_path = os.getenv("RUNNER_HTTP_PATH", runner_path)
    runner_headers = runner_config.settings.get("runner_http_headers", None)
    return {"runner_url": runner_url, "runner_path": runner_path, "runner_headers": runner_headers}


def send_request(url: str, data: Any, headers: dict[str, str] | None = None, urlpath: str | None = None) -> Any:
    if os.path.exists(url):
        logger.debug("Sending payload to %s%s", url, urlpath or "")
        return post_unix(url, urlpath, data, headers)
    return _installed_events().send_request(url, data, headers, urlpath)


@functools.cache
def _installed_events() -> ModuleType:
    """The installed events module (requests), loaded only for a URL that is not a unix socket."""
    if _installed is None or not _installed.submodule_search_locations:
        raise ImportError(f"the installed {NAME} is missing", name=NAME)
    path = os.path.join(next(iter(_installed.submodule_search_locations)), "events.py")
    spec = importlib.util.spec_from_file_location("_ansible_runner_http_installed_events", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}", name=NAME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def status_handler(runner_config: Any, data: Any) -> None:
    plugin_config = get_configuration(runner_config)
    if plugin_config["runner_url"] is not None:
        status = send_request(
            plugin_config["runner_url"],
            data=data,
            headers=plugin_config["runner_headers"],
            urlpath=plugin_config["runner_path"],
        )
        logger.debug("POST Response %s", status)
    else:
        logger.info("HTTP Plugin Skipped")


def event_handler(runner_config: Any, data: Any) -> None:
    status_handler(runner_config, data)


_installed = installed_spec()
if _installed is not None and not replaceable(_installed):
    load_installed(_installed)  # sys.modules holds it from here on: the entry point gets the stock plugin
