"""The OLM bundle: generated from config/ and never stale, valid for OperatorHub, renderable into a valid
file-based catalog, and granting the operator exactly the rules of config/rbac.

Needs only the pinned tools in bin/ (operator-sdk, kustomize, opm), no cluster. The Makefile's own recipes
run (`make bundle`, `make bundle-validate`), on copies or into temporary folders, so the tests prove the
targets users run; `-o go-tools` skips rebuilding the tools, which the suite's `make tools` already did.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.localenv.config import REPO_ROOT

BIN = REPO_ROOT / "bin"
BUNDLE = REPO_ROOT / "bundle"
PACKAGE = "external-mysql-operator"
CSV_PATH = BUNDLE / "manifests" / f"{PACKAGE}.clusterserviceversion.yaml"
# Generated, not stale: everything but the moment of generation.
CREATED_AT = re.compile(r"^\s+createdAt: .*\n", re.MULTILINE)


def _run(args: list[str], cwd: Path) -> str:
    missing = [tool for tool in ("operator-sdk", "kustomize", "opm") if not (BIN / tool).exists()]
    assert not missing, f"missing {', '.join(missing)} in {BIN}: run `make tools` first"
    result = subprocess.run(args, cwd=cwd, text=True, capture_output=True, check=False)
    assert result.returncode == 0, f"`{' '.join(args)}` failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _make(cwd: Path, *args: str) -> str:
    """A target of the repository's Makefile, run in `cwd` with the repository's tools."""
    return _run(
        ["make", "--no-print-directory", "-C", str(cwd), "-f", str(REPO_ROOT / "Makefile"), "-o", "go-tools",
         f"LOCALBIN={BIN}", *args],
        cwd,
    )  # fmt: skip


def _kustomize(folder: str) -> list[dict[str, Any]]:
    built = _run([str(BIN / "kustomize"), "build", str(REPO_ROOT / "config" / folder)], REPO_ROOT)
    return [doc for doc in yaml.safe_load_all(built) if doc]


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make bundle` on a copy of PROJECT and config/: what the committed bundle/ must be."""
    work = tmp_path_factory.mktemp("make-bundle")
    shutil.copy2(REPO_ROOT / "PROJECT", work / "PROJECT")
    shutil.copytree(REPO_ROOT / "config", work / "config")
    _make(work, "bundle")
    return work


@pytest.fixture(scope="module")
def csv() -> dict[str, Any]:
    return yaml.safe_load(CSV_PATH.read_text())


def test_committed_bundle_is_what_make_bundle_generates(regenerated: Path) -> None:
    want = _files(regenerated / "bundle") | {"../bundle.Dockerfile": (regenerated / "bundle.Dockerfile").read_text()}
    have = _files(BUNDLE) | {"../bundle.Dockerfile": (REPO_ROOT / "bundle.Dockerfile").read_text()}
    assert sorted(have) == sorted(want), "bundle/ holds other files than `make bundle` writes: run `make bundle`"
    stale = {
        name: "".join(
            difflib.unified_diff(
                CREATED_AT.sub("", have[name]).splitlines(keepends=True),
                CREATED_AT.sub("", want[name]).splitlines(keepends=True),
                f"committed/{name}",
                f"generated/{name}",
            )
        )
        for name in want
    }
    stale = {name: diff for name, diff in stale.items() if diff}
    assert not stale, "bundle/ is stale against config/: run `make bundle`\n" + "\n".join(stale.values())


def test_make_bundle_leaves_config_as_committed(regenerated: Path) -> None:
    """`make bundle` rewrites the CSV base and config/manager with its tools; committed, they stay unchanged."""
    changed = [
        f"config/{name}"
        for name, text in _files(regenerated / "config").items()
        if text != (REPO_ROOT / "config" / name).read_text()
    ]
    assert not changed, f"`make bundle` rewrites {changed}: run it and commit the result"


def test_bundle_passes_operatorframework_validation() -> None:
    out = _run(
        [str(BIN / "operator-sdk"), "bundle", "validate", "./bundle", "--select-optional", "suite=operatorframework",
         "--output", "json-alpha1"],
        REPO_ROOT,
    )  # fmt: skip
    result = json.loads(out[out.index("{") :])
    assert result["passed"], result
    findings = [o for o in result["outputs"] or [] if o["type"] in ("error", "warning")]
    assert not findings, findings


def test_catalog_rendered_from_bundle_passes_opm_validate(tmp_path: Path, csv: dict[str, Any]) -> None:
    out = _make(REPO_ROOT, "bundle-validate", f"CATALOG_DIR={tmp_path}")
    assert "opm validate: the file-based catalog" in out
    blobs = [doc for f in sorted((tmp_path / "validate").rglob("*.yaml")) for doc in yaml.safe_load_all(f.read_text())]
    by_schema = {doc["schema"]: doc for doc in blobs}
    assert sorted(by_schema) == ["olm.bundle", "olm.channel", "olm.package"]
    bundle, channel = by_schema["olm.bundle"], by_schema["olm.channel"]
    assert bundle["name"] == csv["metadata"]["name"] == f"{PACKAGE}.v{csv['spec']['version']}"
    assert by_schema["olm.package"]["defaultChannel"] == channel["name"]
    assert channel["entries"] == [{"name": bundle["name"]}]
    gvks = [p["value"] for p in bundle["properties"] if p["type"] == "olm.gvk"]
    assert gvks == [{"group": "piwik.pro", "kind": kind, "version": "v1"} for kind in ("MySQLDatabase", "MySQLServer")]


def test_opm_validate_rejects_a_broken_catalog(tmp_path: Path) -> None:
    """The catalog check has teeth: a channel naming a bundle the catalog lacks fails `opm validate`."""
    _make(REPO_ROOT, "bundle-validate", f"CATALOG_DIR={tmp_path}")
    channel = tmp_path / "validate" / PACKAGE / "channel.yaml"
    channel.write_text(channel.read_text().replace(f"name: {PACKAGE}.v", f"name: {PACKAGE}.v9"))
    result = subprocess.run([str(BIN / "opm"), "validate", str(tmp_path / "validate")], capture_output=True, text=True)
    assert result.returncode != 0 and "not found in any channel entries" in result.stderr, result.stderr


def _rules_bound_to(docs: list[dict[str, Any]], account: str, namespace: str) -> dict[str, list[dict[str, Any]]]:
    """Rules a ServiceAccount gets: RoleBindings give namespaced permissions, ClusterRoleBindings cluster ones."""
    roles = {(d["kind"], d["metadata"]["name"]): d.get("rules", []) for d in docs if d["kind"].endswith("Role")}
    bound: dict[str, list[dict[str, Any]]] = {"permissions": [], "clusterPermissions": []}
    for doc in docs:
        if doc["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
        if subject in doc["subjects"]:
            scope = "clusterPermissions" if doc["kind"] == "ClusterRoleBinding" else "permissions"
            bound[scope] += roles[(doc["roleRef"]["kind"], doc["roleRef"]["name"])]
    return bound


def _canonical(rules: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(rule, sort_keys=True) for rule in rules)


def test_csv_grants_exactly_the_rules_of_config_rbac(csv: dict[str, Any]) -> None:
    docs = _kustomize("default")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    namespace = deployment["metadata"]["namespace"]
    expected = _rules_bound_to(docs, account, namespace)
    assert expected["clusterPermissions"] and expected["permissions"], expected
    install = csv["spec"]["install"]["spec"]
    assert [d["spec"]["template"]["spec"]["serviceAccountName"] for d in install["deployments"]] == [account]
    for scope, rules in expected.items():
        entries = install.get(scope) or []
        assert [e["serviceAccountName"] for e in entries] == [account], f"{scope}: {entries}"
        assert _canonical(entries[0]["rules"]) == _canonical(rules), f"{scope} of the CSV differ from config/rbac"


def test_csv_carries_the_metadata_operatorhub_shows(csv: dict[str, Any]) -> None:
    spec, annotations = csv["spec"], csv["metadata"]["annotations"]
    for field in ("description", "displayName", "keywords", "maintainers", "links", "provider", "icon"):
        assert spec.get(field), f"the CSV has no {field}"
    assert spec["minKubeVersion"]
    assert {m["type"]: m["supported"] for m in spec["installModes"]}["AllNamespaces"] is True
    # The server's sample lives apart (config/samples/server), but OperatorHub offers an example of each kind.
    assert json.loads(annotations["alm-examples"]) == _kustomize("samples") + _kustomize("samples/server")
    assert annotations["containerImage"] and annotations["capabilities"]


def test_owned_crd_descriptors_cover_every_spec_and_status_field(csv: dict[str, Any]) -> None:
    crds = {d["metadata"]["name"]: d for d in _kustomize("crd") if d["kind"] == "CustomResourceDefinition"}
    owned = {o["name"]: o for o in csv["spec"]["customresourcedefinitions"]["owned"]}
    assert sorted(owned) == sorted(crds), "the CSV owns other CRDs than config/crd defines"
    for name, crd in crds.items():
        kind = crd["spec"]["names"]["kind"]
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
        assert (owned[name]["version"], owned[name]["kind"]) == ("v1", kind)
        spec_paths = {d["path"] for d in owned[name]["specDescriptors"]}
        status_paths = {d["path"] for d in owned[name]["statusDescriptors"]}
        assert set(schema["spec"]["properties"]) <= spec_paths, f"{kind}: spec fields without a descriptor"
        # ansibleResult is only written when ansible-operator manages status, which watches.yaml turns off.
        unwritten = {"ansibleResult"} if kind == "MySQLDatabase" else set()
        assert set(schema["status"]["properties"]) - unwritten <= status_paths, f"{kind}: status without a descriptor"
        for descriptor in owned[name]["specDescriptors"] + owned[name]["statusDescriptors"]:
            assert descriptor.get("displayName") and descriptor.get("description"), (kind, descriptor)


def test_bundle_metadata_and_scorecard_config() -> None:
    annotations = yaml.safe_load((BUNDLE / "metadata" / "annotations.yaml").read_text())["annotations"]
    assert annotations["operators.operatorframework.io.bundle.package.v1"] == PACKAGE
    assert annotations["operators.operatorframework.io.bundle.channel.default.v1"] in (
        annotations["operators.operatorframework.io.bundle.channels.v1"].split(",")
    )
    scorecard = yaml.safe_load((BUNDLE / "tests" / "scorecard" / "config.yaml").read_text())
    tests = {t["labels"]["test"] for stage in scorecard["stages"] for t in stage["tests"]}
    assert {"basic-check-spec-test", "olm-bundle-validation-test", "olm-spec-descriptors-test"} <= tests
