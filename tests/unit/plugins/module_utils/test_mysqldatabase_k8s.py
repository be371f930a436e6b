"""Unit tests for the tiny Kubernetes client (plugins/module_utils/mysqldatabase_k8s.py)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.mysqldatabase_k8s import (
    MERGE_PATCH,
    K8sApiError,
    K8sClient,
    apply_merge_patch,
    client_from_params,
    connection_argument_spec,
    module_client,
    operator_credentials,
    resource_path,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.unit.plugins.modules.secrets_api import JsonHandler, serving

CR_PATH = "/apis/piwik.pro/v1/namespaces/team-a/mysqldatabases/app"


class FakeApi(ThreadingHTTPServer):
    """An HTTP server that records each request and answers from ``routes``: (method, path) -> (code, body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), JsonHandler)
        self.routes: dict[tuple[str, str], tuple[int, Any]] = {}
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        return self.routes.get((method, path), (404, {"kind": "Status", "code": 404}))


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with serving(FakeApi) as server:
        yield server


@pytest.fixture
def client(api: FakeApi) -> K8sClient:
    return K8sClient(api.url, timeout=5)


def test_core_and_group_paths() -> None:
    assert resource_path("v1", "events", "team-a") == "/api/v1/namespaces/team-a/events"
    assert resource_path("piwik.pro/v1", "mysqldatabases", "team-a", "app", "status") == CR_PATH + "/status"
    assert resource_path("piwik.pro/v1", "mysqldatabases") == "/apis/piwik.pro/v1/mysqldatabases"


def test_path_segments_are_quoted() -> None:
    assert resource_path("v1", "secrets", "ns", "../../x?y") == "/api/v1/namespaces/ns/secrets/..%2F..%2Fx%3Fy"


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": {"b": "c", "d": "e"}}, {"a": {"b": None, "f": 1}}, {"a": {"d": "e", "f": 1}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": "b"}, {"a": {"c": None}}, {"a": {}}),
        (None, {"a": 1}, {"a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    assert apply_merge_patch(target, patch) == result


def test_merge_patch_leaves_its_arguments_alone() -> None:
    target, patch = {"a": {"b": [1]}}, {"a": {"c": [2]}}
    merged = apply_merge_patch(target, patch)
    merged["a"]["b"].append(9)
    merged["a"]["c"].append(9)
    assert target == {"a": {"b": [1]}}
    assert patch == {"a": {"c": [2]}}


def test_get_returns_the_decoded_object(api: FakeApi, client: K8sClient) -> None:
    api.routes["GET", CR_PATH] = (200, {"metadata": {"name": "app"}})
    assert client.get(CR_PATH) == {"metadata": {"name": "app"}}
    assert api.requests[0]["headers"]["Accept"] == "application/json"
    assert "Authorization" not in api.requests[0]["headers"]


def test_bearer_token_is_sent_when_given(api: FakeApi) -> None:
    api.routes["GET", CR_PATH] = (200, {})
    K8sClient(api.url, api_key="t0ken").get(CR_PATH)
    assert api.requests[0]["headers"]["Authorization"] == "Bearer t0ken"


def test_merge_patch_sends_its_content_type(api: FakeApi, client: K8sClient) -> None:
    api.routes["PATCH", CR_PATH + "/status"] = (200, {"status": {"x": 1}})
    assert client.merge_patch(CR_PATH + "/status", {"status": {"x": 1}}) == {"status": {"x": 1}}
    request = api.requests[0]
    assert request["headers"]["Content-Type"] == MERGE_PATCH
    assert request["body"] == {"status": {"x": 1}}


def test_create_posts_json(api: FakeApi, client: K8sClient) -> None:
    api.routes["POST", "/api/v1/namespaces/team-a/events"] = (201, {"metadata": {"name": "app.1"}})
    assert client.create("/api/v1/namespaces/team-a/events", {"kind": "Event"})["metadata"]["name"] == "app.1"
    assert api.requests[0]["headers"]["Content-Type"] == "application/json"


def test_replace_puts_json(api: FakeApi, client: K8sClient) -> None:
    api.routes["PUT", "/api/v1/namespaces/team-a/secrets/app"] = (200, {"metadata": {"resourceVersion": "2"}})
    assert client.replace("/api/v1/namespaces/team-a/secrets/app", {"kind": "Secret"})["metadata"] == {
        "resourceVersion": "2"
    }
    assert api.requests[0]["method"] == "PUT"
    assert api.requests[0]["body"] == {"kind": "Secret"}


def test_basic_auth_is_sent_for_a_username(api: FakeApi) -> None:
    api.routes["GET", CR_PATH] = (200, {})
    K8sClient(api.url, username="b3duZXI=", password="unused").get(CR_PATH)
    assert api.requests[0]["headers"]["Authorization"] == "Basic YjNkdVpYST06dW51c2Vk"


# ansible-operator's kubeconfig template (internal/ansible/proxy/kubeconfig) as it writes it for a run.
OPERATOR_KUBECONFIG = """---
apiVersion: v1
kind: Config
clusters:
- cluster:
    insecure-skip-tls-verify: true
    server: http://eyJvd25lciI6MX0=@localhost:8888
  name: proxy-server
contexts:
- context:
    cluster: proxy-server
    user: admin/proxy-server
  name: team-a/proxy-server
current-context: team-a/proxy-server
preferences: {}
users:
- name: admin/proxy-server
  user:
    username: eyJvd25lciI6MX0=
    password: unused
"""


def test_operator_kubeconfig_yields_its_owner_user(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(OPERATOR_KUBECONFIG)
    assert operator_credentials(str(kubeconfig)) == ("eyJvd25lciI6MX0=", "unused")


@pytest.mark.parametrize(
    "text",
    [
        "users:\n- name: a\n  user:\n    token: abc\n",
        OPERATOR_KUBECONFIG + "- name: b\n  user:\n    username: other\n    password: x\n",
        "",
    ],
    ids=["token-user", "two-users", "empty"],
)
def test_other_kubeconfigs_yield_no_credentials(tmp_path: Path, text: str) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    assert operator_credentials(str(kubeconfig)) is None


def test_missing_kubeconfig_yields_no_credentials(tmp_path: Path) -> None:
    assert operator_credentials(str(tmp_path / "absent")) is None
    assert operator_credentials(None) is None


def test_client_from_params_sends_the_operator_user(api: FakeApi, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(OPERATOR_KUBECONFIG)
    api.routes["GET", CR_PATH] = (200, {})
    params = {
        "api_url": api.url,
        "api_key": None,
        "ca_cert": None,
        "validate_certs": True,
        "kubeconfig": str(kubeconfig),
    }
    client_from_params(params).get(CR_PATH)
    client_from_params({**params, "api_key": "t0ken"}).get(CR_PATH)
    assert api.requests[0]["headers"]["Authorization"].startswith("Basic ")
    assert api.requests[1]["headers"]["Authorization"] == "Bearer t0ken"


def test_connection_options_fall_back_to_kubernetes_core_variables() -> None:
    def fallback() -> None:
        pass

    spec = connection_argument_spec(fallback)
    assert {name: option["fallback"][1] for name, option in spec.items()} == {
        "api_url": ["K8S_AUTH_HOST"],
        "api_key": ["K8S_AUTH_API_KEY"],
        "ca_cert": ["K8S_AUTH_SSL_CA_CERT"],
        "validate_certs": ["K8S_AUTH_VERIFY_SSL"],
        "kubeconfig": ["K8S_AUTH_KUBECONFIG"],
    }
    assert spec["api_key"]["no_log"] is True


class FailingModule:
    """What module_client needs of an AnsibleModule: its params, and fail_json that ends the run."""

    def __init__(self, **params: Any) -> None:
        self.params = {"api_key": None, "ca_cert": None, "validate_certs": True, "kubeconfig": None, **params}
        self.failure: dict[str, Any] = {}

    def fail_json(self, **result: Any) -> None:
        self.failure = result
        raise SystemExit(1)


def test_module_client_fails_an_api_refusal_with_what_the_module_was_doing(api: FakeApi) -> None:
    api.routes["GET", CR_PATH] = (403, {"kind": "Status", "code": 403, "message": "forbidden"})
    module = FailingModule(api_url=api.url)
    with pytest.raises(SystemExit), module_client(module, "ReadFailed", "read the app") as client:
        client.get(CR_PATH)
    assert module.failure == {"msg": "read the app: HTTP 403: forbidden", "reason": "ReadFailed", "status_code": 403}


def test_module_client_that_cannot_be_set_up_fails_with_status_code_zero() -> None:
    module = FailingModule(api_url="ftp://host/")
    with pytest.raises(SystemExit), module_client(module, "ReadFailed", "read the app"):
        pass
    assert module.failure["msg"].startswith("cannot set up the Kubernetes client: api_url must be")
    assert (module.failure["reason"], module.failure["status_code"]) == ("ReadFailed", 0)


def test_module_client_lets_other_errors_through(api: FakeApi) -> None:
    module = FailingModule(api_url=api.url)
    with pytest.raises(KeyError), module_client(module, "ReadFailed", "read the app"):
        raise KeyError("a refusal of the module's own")
    assert module.failure == {}


def test_api_status_errors_carry_code_message_and_reason(api: FakeApi, client: K8sClient) -> None:
    status = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "mysqldatabases is forbidden"}
    api.routes["GET", CR_PATH] = (403, status)
    with pytest.raises(K8sApiError) as caught:
        client.get(CR_PATH)
    assert (caught.value.status, caught.value.reason) == (403, "Forbidden")
    assert caught.value.message == "mysqldatabases is forbidden"
    assert str(caught.value) == "HTTP 403: mysqldatabases is forbidden"


def test_non_json_error_body_becomes_the_message(api: FakeApi, client: K8sClient) -> None:
    api.routes["GET", CR_PATH] = (502, b"bad gateway\n")
    with pytest.raises(K8sApiError, match="HTTP 502: bad gateway"):
        client.get(CR_PATH)


def test_non_json_answer_is_an_error(api: FakeApi, client: K8sClient) -> None:
    api.routes["GET", CR_PATH] = (200, b"<html>")
    with pytest.raises(K8sApiError, match="not JSON"):
        client.get(CR_PATH)


def test_redirects_are_not_followed(api: FakeApi) -> None:
    api.routes["GET", CR_PATH] = (302, {"Location": "http://example.invalid/steal"})
    with pytest.raises(K8sApiError) as caught:
        K8sClient(api.url, api_key="t0ken").get(CR_PATH)
    assert caught.value.status == 302
    assert len(api.requests) == 1


def test_unreachable_api_is_status_zero() -> None:
    with pytest.raises(K8sApiError) as caught:
        K8sClient("http://127.0.0.1:9", timeout=2).get(CR_PATH)
    assert caught.value.status == 0
    assert "cannot reach the Kubernetes API at http://127.0.0.1:9" in caught.value.message


def test_proxy_environment_is_ignored(api: FakeApi, client: K8sClient, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    api.routes["GET", CR_PATH] = (200, {"ok": True})
    assert K8sClient(api.url).get(CR_PATH) == {"ok": True}


def test_plain_http_loads_no_tls_context(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    # Loading the system CA bundle costs tens of milliseconds in every module run; the operator's
    # proxy is plain http and needs none.
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a TLS context was created for an http:// URL")

    monkeypatch.setattr(ssl, "create_default_context", refuse)
    monkeypatch.setattr(ssl, "_create_default_https_context", refuse)
    api.routes["GET", CR_PATH] = (200, {"ok": True})
    assert K8sClient(api.url).get(CR_PATH) == {"ok": True}


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/", "localhost:8888"])
def test_only_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        K8sClient(url)


def test_client_imports_no_kubernetes_package() -> None:
    code = (
        "import sys, ansible.module_utils as m; m.__path__.append(sys.argv[1]);"
        "import ansible.module_utils.mysqldatabase_k8s;"
        "assert not [n for n in sys.modules if n.split('.')[0] in ('kubernetes', 'urllib3', 'requests')], sys.modules"
    )
    module_utils = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
    subprocess.run([sys.executable, "-c", code, str(module_utils)], check=True)


# --- https ---


@pytest.fixture
def tls_api(api: FakeApi, tmp_path: Path) -> tuple[FakeApi, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-apiserver")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "ca.crt", tmp_path / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    api.socket = context.wrap_socket(api.socket, server_side=True)
    api.routes["GET", CR_PATH] = (200, {"tls": True})
    return api, cert_file


def test_https_with_the_ca_cert(tls_api: tuple[FakeApi, Path]) -> None:
    api, ca_cert = tls_api
    url = api.url.replace("http://", "https://")
    assert K8sClient(url, ca_cert=str(ca_cert), timeout=5).get(CR_PATH) == {"tls": True}


def test_https_refuses_an_unknown_ca(tls_api: tuple[FakeApi, Path]) -> None:
    api, _ = tls_api
    with pytest.raises(K8sApiError, match="CERTIFICATE_VERIFY_FAILED"):
        K8sClient(api.url.replace("http://", "https://"), timeout=5).get(CR_PATH)


def test_https_without_validation(tls_api: tuple[FakeApi, Path]) -> None:
    api, _ = tls_api
    url = api.url.replace("http://", "https://")
    assert K8sClient(url, validate_certs=False, timeout=5).get(CR_PATH) == {"tls": True}
