# Copyright (c) external-mysql-operator contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny Kubernetes REST client for the modules of the mysqldatabase and mysqlserver roles.

Modules run once per task inside ansible-operator, so importing the kubernetes package and its
dependencies for one GET and one PATCH would cost more than the requests themselves, on every reconcile.
This client speaks JSON over urllib and imports only the standard library.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

# ansible-operator's proxy: no auth, the API server behind it authorizes the operator's account.
DEFAULT_API_URL = "http://localhost:8888"
DEFAULT_TIMEOUT = 30.0
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
_USER_AGENT = "external-mysql-operator"
# Error bodies are Status objects of a few hundred bytes; never read an unbounded one into a message.
_MAX_ERROR_BODY = 64 * 1024
# The connection options of the role's Kubernetes modules and the environment variables that
# kubernetes.core reads for the same settings (ansible-operator sets K8S_AUTH_KUBECONFIG for each run).
CONNECTION_ENV = {
    "api_url": "K8S_AUTH_HOST",
    "api_key": "K8S_AUTH_API_KEY",
    "ca_cert": "K8S_AUTH_SSL_CA_CERT",
    "validate_certs": "K8S_AUTH_VERIFY_SSL",
    "kubeconfig": "K8S_AUTH_KUBECONFIG",
}


class K8sApiError(Exception):
    """A request that the API server refused, or that never reached it (``status`` 0)."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.reason = reason


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The API server never redirects; following one would hand the bearer token to another host.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
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


def connection_argument_spec(env_fallback: Any) -> dict[str, Any]:
    """The argument_spec entries of the connection options; `env_fallback` is ansible.module_utils.basic's."""
    types = {"api_url": "str", "api_key": "str", "ca_cert": "path", "validate_certs": "bool", "kubeconfig": "path"}
    spec: dict[str, dict[str, Any]] = {
        name: {"type": types[name], "fallback": (env_fallback, [env])} for name, env in CONNECTION_ENV.items()
    }
    spec["api_url"]["default"] = DEFAULT_API_URL
    spec["api_key"]["no_log"] = True
    spec["validate_certs"]["default"] = True
    return spec


def _yaml_scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def operator_credentials(kubeconfig: str | None) -> tuple[str, str] | None:
    """The basic-auth user of the kubeconfig that ansible-operator writes for one reconcile, else None.

    ansible-operator encodes the custom resource being reconciled as that user's name. Its proxy reads
    it to make the CR the owner of objects created through it, and to watch the kinds the CR owns (so a
    deleted application Secret triggers a reconcile), also after a restart when it serves a cached GET
    of an owned object. kubernetes.core sends it because it reads the kubeconfig; the role's own
    modules send it the same way. The file is ansible-operator's fixed template with exactly one user,
    so a line scan suffices; any other kubeconfig (several users, a token, none) yields None.
    """
    if not kubeconfig:
        return None
    try:
        with open(kubeconfig, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    found: dict[str, list[str]] = {"username": [], "password": []}
    for line in lines:
        key, sep, value = line.strip().partition(":")
        if sep and key in found:
            found[key].append(_yaml_scalar(value))
    if len(found["username"]) != 1 or len(found["password"]) != 1 or not found["username"][0]:
        return None
    return found["username"][0], found["password"][0]


def client_from_params(params: dict[str, Any]) -> K8sClient:
    """A client for a module's connection options (see connection_argument_spec)."""
    credentials = None if params.get("api_key") else operator_credentials(params.get("kubeconfig"))
    username, password = credentials or (None, None)
    return K8sClient(
        params["api_url"],
        params.get("api_key"),
        params.get("ca_cert"),
        params["validate_certs"],
        username=username,
        password=password,
    )


@contextlib.contextmanager
def module_client(module: AnsibleModule, reason: str, doing: str) -> Iterator[K8sClient]:
    """A client for the module's connection options; what the work with it raises fails the module.

    The failure carries `reason`, a `msg` and the request's `status_code`; `doing` says what the module
    was doing when the API refused ("write the Secret"). A client that cannot be set up (a bad api_url,
    an unreadable CA file) fails with status_code 0.
    """
    try:
        yield client_from_params(module.params)
    except (ValueError, OSError) as error:
        module.fail_json(msg=f"cannot set up the Kubernetes client: {error}", reason=reason, status_code=0)
    except K8sApiError as error:
        module.fail_json(msg=f"{doing}: {error}", reason=reason, status_code=error.status)


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
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        scheme = urllib.parse.urlsplit(api_url).scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"api_url must be an http:// or https:// URL, not {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Accept": JSON, "User-Agent": _USER_AGENT}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        elif username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        # Built by hand, not with build_opener: that adds an HTTPS handler whose default context loads the
        # system CA bundle on every module run, even for the operator's http:// proxy, and ftp:// and
        # file:// handlers nothing here needs. An empty ProxyHandler: http_proxy set for
        # the pod's egress must not catch localhost:8888.
        self._opener = urllib.request.OpenerDirector()
        handlers: list[urllib.request.BaseHandler] = [
            urllib.request.ProxyHandler({}),
            urllib.request.UnknownHandler(),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            _NoRedirect(),
            urllib.request.HTTPErrorProcessor(),
        ]
        if scheme == "https":
            handlers.append(urllib.request.HTTPSHandler(context=_ssl_context(ca_cert, validate_certs)))
        for handler in handlers:
            self._opener.add_handler(handler)

    def request(self, method: str, path: str, body: Any = None, content_type: str = JSON) -> dict[str, Any]:
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
            decoded: dict[str, Any] = json.loads(answer)
        except ValueError:
            raise K8sApiError(0, f"{method} {path}: the answer is not JSON") from None
        return decoded

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body)

    def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, patch, content_type=MERGE_PATCH)

    def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", path, body)
