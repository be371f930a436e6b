# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny Kubernetes REST client for the modules of the mysqldatabase role.

Modules run once per task inside ansible-operator, so importing the kubernetes package (seconds of
CPU) for one GET and one PATCH would dominate a reconcile. This client speaks JSON over urllib and
imports only the standard library.
"""

from __future__ import annotations

import copy
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

# ansible-operator's proxy: no auth, the API server behind it authorizes the operator's account.
DEFAULT_API_URL = "http://localhost:8888"
DEFAULT_TIMEOUT = 30.0
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
_USER_AGENT = "external-mysql-operator"
# Error bodies are Status objects of a few hundred bytes; never read an unbounded one into a message.
_MAX_ERROR_BODY = 64 * 1024


class K8sApiError(Exception):
    """A request that the API server refused, or that never reached it (``status`` 0)."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.reason = reason


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The API server never redirects; following one would hand the bearer token to another host.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def resource_path(
    api_version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """Return the REST path of a collection or object, e.g. ``/apis/piwik.pro/v1/namespaces/ns/x/n``."""
    segments = ["api", api_version] if "/" not in api_version else ["apis", *api_version.split("/", 1)]
    if namespace:
        segments += ["namespaces", namespace]
    segments.append(plural)
    if name:
        segments.append(name)
    if subresource:
        segments.append(subresource)
    return "/" + "/".join(urllib.parse.quote(segment, safe="") for segment in segments)


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Return ``target`` with a JSON merge patch (RFC 7386) applied; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def _ssl_context(ca_cert: str | None, validate_certs: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_cert)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _error_from_body(status: int, body: bytes) -> K8sApiError:
    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        return K8sApiError(status, text.strip()[:1024] or f"HTTP status {status}")
    if isinstance(document, dict) and document.get("kind") == "Status":
        return K8sApiError(status, str(document.get("message") or ""), str(document.get("reason") or ""))
    return K8sApiError(status, text.strip()[:1024])


class K8sClient:
    """JSON requests to one API server (or ansible-operator's proxy)."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        api_key: str | None = None,
        ca_cert: str | None = None,
        validate_certs: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        scheme = urllib.parse.urlsplit(api_url).scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"api_url must be an http:// or https:// URL, not {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Accept": JSON, "User-Agent": _USER_AGENT}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        # An empty ProxyHandler: http_proxy set for the pod's egress must not catch localhost:8888.
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoRedirect()]
        if scheme == "https":
            handlers.append(urllib.request.HTTPSHandler(context=_ssl_context(ca_cert, validate_certs)))
        self._opener = urllib.request.build_opener(*handlers)

    def request(self, method: str, path: str, body: Any = None, content_type: str = JSON) -> dict:
        """Send one request and return the decoded JSON answer; raise K8sApiError on failure."""
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = content_type
        # The scheme was checked in __init__: only http and https reach urllib.
        request = urllib.request.Request(self.api_url + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as error:
            with error:
                raise _error_from_body(error.code, error.read(_MAX_ERROR_BODY)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise K8sApiError(0, f"cannot reach the Kubernetes API at {self.api_url}: {reason}") from None
        if not answer.strip():
            return {}
        try:
            return json.loads(answer)
        except ValueError:
            raise K8sApiError(0, f"{method} {path}: the answer is not JSON") from None

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def create(self, path: str, body: dict) -> dict:
        return self.request("POST", path, body)

    def merge_patch(self, path: str, patch: dict) -> dict:
        return self.request("PATCH", path, patch, content_type=MERGE_PATCH)
