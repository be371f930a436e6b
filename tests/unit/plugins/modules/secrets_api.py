"""A small fake Kubernetes API for the Kubernetes modules' unit tests.

Serves core/v1 Secrets (GET one, POST, PUT), and Namespaces, MySQLServers (cluster-scoped) and
MySQLDatabases as objects kept by their REST path (GET one, GET a list, merge PATCH). Lists of a
namespaced kind are served per namespace and across all namespaces, as the real API server does.
"""

from __future__ import annotations

import copy
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from ansible.module_utils import basic
from ansible.module_utils.mysqldatabase_k8s import apply_merge_patch

NOT_FOUND = {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}
GROUP = "/apis/piwik.pro/v1"


class SecretsApi(ThreadingHTTPServer):
    """Keeps Secrets by (namespace, name) and the other objects by path; records every request.

    `errors[method, path]` makes a request fail with the given status and body.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), JsonHandler)
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.errors: dict[tuple[str, str], tuple[int, dict]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, namespace: str, name: str, labels: dict[str, str] | None = None, **fields: Any) -> dict:
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}
        secret["metadata"]["labels"] = labels or {}
        secret.update(fields)
        self.secrets[namespace, name] = secret
        return secret

    def add_namespace(self, name: str, labels: dict[str, str] | None = None) -> dict:
        metadata = {"name": name, "labels": labels or {}}
        return self._keep(f"/api/v1/namespaces/{name}", {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})

    def add_server(self, name: str, spec: dict, status: dict | None = None, generation: int = 1) -> dict:
        metadata = {"name": name, "uid": f"uid-{name}", "generation": generation}
        body = {"apiVersion": "piwik.pro/v1", "kind": "MySQLServer", "metadata": metadata, "spec": spec}
        return self._keep(f"{GROUP}/mysqlservers/{name}", {**body, "status": status or {}})

    def add_database(self, namespace: str, name: str, spec: dict | None = None, **metadata: Any) -> dict:
        body = {
            "apiVersion": "piwik.pro/v1",
            "kind": "MySQLDatabase",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}", **metadata},
            "spec": spec or {},
            "status": {},
        }
        return self._keep(f"{GROUP}/namespaces/{namespace}/mysqldatabases/{name}", body)

    def _keep(self, path: str, obj: dict) -> dict:
        obj["metadata"]["resourceVersion"] = "1"
        self.objects[path] = obj
        return obj

    def writes(self) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["method"] != "GET"]

    def answer(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        path = urllib.parse.urlsplit(url).path
        if (method, path) in self.errors:
            return self.errors[method, path]
        parts = path.strip("/").split("/")
        # /api/v1/namespaces/<ns>/secrets[/<name>]
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) in (5, 6) and parts[4] == "secrets":
            return self._secret(method, parts, body)
        if method == "GET" and path in self.objects:
            return 200, self.objects[path]
        if method == "PATCH" and path in self.objects:
            patched = apply_merge_patch(self.objects[path], body)
            patched["metadata"]["resourceVersion"] = str(int(patched["metadata"]["resourceVersion"]) + 1)
            self.objects[path] = patched
            return 200, patched
        if method == "GET":
            items = [obj for key, obj in sorted(self.objects.items()) if path in _collections(key)]
            if items or path.endswith(("/mysqldatabases", "/mysqlservers")):
                return 200, {"kind": "List", "items": items}
        return 404, NOT_FOUND

    def _secret(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        namespace = parts[3]
        if len(parts) == 5 and method == "POST":
            key = (namespace, body["metadata"]["name"])
            if key in self.secrets:
                return 409, {"kind": "Status", "code": 409, "reason": "AlreadyExists", "message": "exists"}
            self.secrets[key] = {**body, "metadata": {**body["metadata"], "uid": "uid-new", "resourceVersion": "1"}}
            return 201, self.secrets[key]
        key = (namespace, parts[-1])
        if len(parts) == 5 or key not in self.secrets:
            return 404, NOT_FOUND
        if method == "PUT":
            self.secrets[key] = {**body, "metadata": {**body["metadata"], "resourceVersion": "2"}}
        if method == "PATCH":
            self.secrets[key] = apply_merge_patch(self.secrets[key], body)
        return 200, self.secrets[key]


def _collections(path: str) -> set[str]:
    """The list paths an object at `path` appears in: its own collection and, when namespaced, the
    collection across all namespaces (/apis/g/v/namespaces/ns/kind/name -> /apis/g/v/kind)."""
    parts = path.strip("/").split("/")
    found = {"/" + "/".join(parts[:-1])}
    if len(parts) >= 5 and parts[-4] == "namespaces":
        found.add("/" + "/".join([*parts[:-4], parts[-2]]))
    return found


class JsonHandler(BaseHTTPRequestHandler):
    """Records each request in the server's `requests` and answers with its `answer(method, path, body)`.

    An answer of bytes is sent as it is (a body that is not JSON); a dict answer with a `Location` also
    sends that header (a redirect).
    """

    server: Any

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        code, answer = self.server.answer(self.command, self.path, copy.deepcopy(body))
        payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(code)
        if isinstance(answer, dict) and "Location" in answer:
            self.send_header("Location", answer["Location"])
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = _serve

    def log_message(self, fmt: str, *args: Any) -> None:
        pass


@contextmanager
def serving[Server: ThreadingHTTPServer](make: Callable[[], Server] = SecretsApi) -> Iterator[Server]:
    """A fake API server (a SecretsApi unless `make` builds another) answering in a thread."""
    server = make()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def module_runner(
    main: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **defaults: Any,
) -> Callable[..., dict[str, Any]]:
    """Run a module's main() in-process as Ansible would, with the options of a call over `defaults`;
    return its JSON result. An option given as None is left out."""
    # A kubeconfig of the environment must not change which user the modules under test send.
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)

    def run(check_mode: bool = False, diff: bool = False, **params: Any) -> dict[str, Any]:
        args = {key: value for key, value in {**defaults, **params}.items() if value is not None}
        args["_ansible_check_mode"] = check_mode
        args["_ansible_diff"] = diff
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
        with pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)

    return run
