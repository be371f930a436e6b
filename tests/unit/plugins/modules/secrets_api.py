"""A small fake Kubernetes API serving core/v1 Secrets, for the Secret modules' unit tests."""

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

NOT_FOUND = {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}


class SecretsApi(ThreadingHTTPServer):
    """Keeps Secrets by (namespace, name); answers GET (one or a label-selected list), POST and PUT."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), JsonHandler)
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
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

    def writes(self) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["method"] != "GET"]

    def answer(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        parsed = urllib.parse.urlsplit(url)
        if (method, parsed.path) in self.errors:
            return self.errors[method, parsed.path]
        parts = parsed.path.strip("/").split("/")
        # /api/v1/namespaces/<ns>/secrets[/<name>]
        if parts[:3] != ["api", "v1", "namespaces"] or len(parts) not in (5, 6) or parts[4] != "secrets":
            return 404, NOT_FOUND
        namespace = parts[3]
        if len(parts) == 5 and method == "GET":
            return 200, {"kind": "SecretList", "items": self._select(namespace, parsed.query)}
        if len(parts) == 5 and method == "POST":
            key = (namespace, body["metadata"]["name"])
            if key in self.secrets:
                return 409, {"kind": "Status", "code": 409, "reason": "AlreadyExists", "message": "exists"}
            self.secrets[key] = {**body, "metadata": {**body["metadata"], "uid": "uid-new", "resourceVersion": "1"}}
            return 201, self.secrets[key]
        key = (namespace, parts[5])
        if key not in self.secrets:
            return 404, NOT_FOUND
        if method == "PUT":
            self.secrets[key] = {**body, "metadata": {**body["metadata"], "resourceVersion": "2"}}
        return 200, self.secrets[key]

    def _select(self, namespace: str, query: str) -> list[dict]:
        selector = urllib.parse.parse_qs(query).get("labelSelector", [""])[0]
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        return [
            secret
            for (ns, _), secret in sorted(self.secrets.items())
            if ns == namespace and wanted.items() <= secret["metadata"].get("labels", {}).items()
        ]


class JsonHandler(BaseHTTPRequestHandler):
    """Records each request and answers with the server's `answer(method, path, body)`."""

    server: Any

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        code, answer = self.server.answer(self.command, self.path, copy.deepcopy(body))
        payload = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = _serve

    def log_message(self, fmt: str, *args: Any) -> None:
        pass


@contextmanager
def serving() -> Iterator[SecretsApi]:
    server = SecretsApi()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def module_runner(
    main: Callable[[], None], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., dict[str, Any]]:
    """Run a module's main() in-process as Ansible would; return its JSON result."""

    def run(check_mode: bool = False, **params: Any) -> dict[str, Any]:
        args = {key: value for key, value in params.items() if value is not None}
        args["_ansible_check_mode"] = check_mode
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
        with pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)

    return run
