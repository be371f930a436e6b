"""The Dockerfile is complete: what it puts on the ansible-operator base image runs the operator.

No image can be built here, so the test plays the build. It reads the Dockerfile and the base image's own
Dockerfile (images/ansible-operator/Dockerfile of the ansible-operator-plugins module that bin/ansible-operator
is built from), stages exactly what each COPY copies, filtered by .dockerignore, into a fresh folder standing
in for the image's HOME (/opt/ansible), applies the ENV lines and the manager Deployment's env, and starts
bin/ansible-operator from there with the base image's ENTRYPOINT arguments. The sample must become Ready.

Stand-ins for what only the image has, each checked against what the image would hold:
- the base image's /usr/local/bin/ansible-operator: bin/ansible-operator, of the version the FROM tag names;
- its Python with ansible-core, ansible-runner and the kubernetes client: .venv, pinned to the base image's
  Pipfile (pyproject.toml); what a `RUN pip3 install` adds must be installed there at the same version;
- `ansible-galaxy collection install -r requirements.yml`: the collections it names, copied from
  .cache/collections (`make collections`) at the same versions (today none: the staged operator runs
  without any collection, as the image's does);
- the Pod's service account and namespace: the local stack's kubeconfig and the operator namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import (
    Stack,
    app_login,
    database_exists,
    get_cr,
    secret_values,
    user_exists,
    wait_gone,
    wait_ready,
    wait_until,
)

from testbed.localenv import process
from testbed.localenv.config import OPERATOR_NAMESPACE, REPO_ROOT
from testbed.localenv.operator import check_fixed_ports, ports_free

DOCKERFILE = REPO_ROOT / "Dockerfile"
BASE_IMAGE = "quay.io/operator-framework/ansible-operator"
PLUGINS_MODULE = "github.com/operator-framework/ansible-operator-plugins"
TOOL_DIR = REPO_ROOT / "hack" / "tools" / "ansible-operator"
VENV = REPO_ROOT / ".venv"
COLLECTIONS = REPO_ROOT / ".cache" / "collections" / "ansible_collections"
SAMPLE = REPO_ROOT / "config" / "samples" / "piwik.pro_v1_mysqldatabase.yaml"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions, logical = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        keyword, _, args = (logical + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        logical = ""
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The last stage, preceded by the stages it is built FROM, beginning with the external FROM."""
    stages: list[tuple[str | None, list[Instruction]]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            stages.append((words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None, []))
        stages[-1][1].append(ins)
    named = {name: stage for name, stage in stages if name}
    chain = stages[-1][1]
    while (parent := _from_image(chain[0]).lower()) in named:
        chain = named[parent] + chain[1:]
    return chain


def _from_image(ins: Instruction) -> str:
    return next(w for w in ins.args.split() if not w.startswith("--"))


def expand(value: str, env: dict[str, str]) -> str:
    """Dockerfile variable substitution ($NAME, ${NAME}); an unknown variable fails the test."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env[m.group(1) or m.group(2)], value)


def env_pairs(args: str, env: dict[str, str]) -> dict[str, str]:
    words = shlex.split(args)
    if "=" not in words[0]:  # legacy `ENV NAME value`
        return {words[0]: expand(" ".join(words[1:]), env)}
    pairs = {}
    for word in words:
        name, _, value = word.partition("=")
        pairs[name] = expand(value, env | pairs)
    return pairs


def dockerignore() -> list[tuple[re.Pattern[str], bool]]:
    """(pattern, re-include) pairs of .dockerignore, as Docker's patternmatcher reads them."""
    path = REPO_ROOT / ".dockerignore"
    rules = []
    for line in path.read_text().splitlines() if path.exists() else []:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        regex = re.sub(
            r"\*\*/|\*\*|\*|\?|[^*?]+",
            lambda m: {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(m.group(0), re.escape(m.group(0))),
            pattern,
        )
        rules.append((re.compile(regex), negate))
    return rules


def excluded(relative: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    """The last pattern matching the path or one of its parent folders decides."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for regex, negate in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            verdict = not negate
    return verdict


def cached_collections() -> dict[str, tuple[str, Path]]:
    found = {}
    for manifest in sorted(COLLECTIONS.glob("*/*/MANIFEST.json")):
        info = json.loads(manifest.read_text())["collection_info"]
        found[f"{info['namespace']}.{info['name']}"] = (info["version"], manifest.parent)
    return found


def required_collections(requirements: Path) -> dict[str, str]:
    return {c["name"]: str(c["version"]) for c in yaml.safe_load(requirements.read_text())["collections"]}


def ansible_operator_version() -> str:
    """The ansible-operator-plugins version hack/tools/ansible-operator/go.mod pins (what `make tools` built)."""
    match = re.search(rf"^require {re.escape(PLUGINS_MODULE)} (v\S+)$", (TOOL_DIR / "go.mod").read_text(), re.M)
    assert match, f"{TOOL_DIR / 'go.mod'} does not require {PLUGINS_MODULE}"
    return match.group(1)


def base_image_dockerfile() -> Path:
    """images/ansible-operator/Dockerfile of the pinned module, from the Go module cache `make tools` filled."""
    result = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", PLUGINS_MODULE], cwd=TOOL_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, f"`go list -m {PLUGINS_MODULE}` failed (run `make tools`): {result.stderr}"
    return Path(result.stdout.strip()) / "images" / "ansible-operator" / "Dockerfile"


@dataclass
class StagedImage:
    """The image's HOME as a folder, and how its ENTRYPOINT would start in it."""

    image_home: str
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = ""
    entrypoint: list[str] = field(default_factory=list)

    def host_path(self, image_path: str) -> Path:
        assert image_path == self.image_home or image_path.startswith(self.image_home + "/"), (
            f"{image_path} is outside the image's HOME {self.image_home}; the staging only models HOME"
        )
        return self.home / image_path[len(self.image_home) :].lstrip("/")

    def host_value(self, value: str) -> str:
        """An env value with image paths (also in :-separated lists) turned into staged paths."""
        return ":".join(
            str(self.host_path(part)) if part.startswith(self.image_home) else part for part in value.split(":")
        )

    def copy(self, args: str) -> None:
        words = [expand(w, self.env) for w in shlex.split(args)]
        assert not any(w.startswith("--from") for w in words), f"COPY {args}: copying from a stage is not modelled"
        *sources, dest = [w for w in words if not w.startswith("--")]
        rules = dockerignore()
        for source in sources:
            assert not set("*?[") & set(source), f"COPY {source}: wildcards are not modelled"
            src = REPO_ROOT / source.rstrip("/")
            files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
            files = [f for f in files if not excluded(str(f.relative_to(REPO_ROOT)), rules)]
            assert files, f"COPY {source}: nothing in the build context (missing, or excluded by .dockerignore)"
            assert not [f for f in files if f.suffix == ".pyc"], ".dockerignore keeps the host's bytecode out"
            for file in files:
                if src.is_dir():
                    target = self.host_path(dest.rstrip("/")) / file.relative_to(src)
                elif dest.endswith("/") or len(sources) > 1:
                    target = self.host_path(dest.rstrip("/")) / file.name
                else:
                    target = self.host_path(dest)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target, follow_symlinks=False)  # COPY keeps symlinks as symlinks

    def run(self, command: str) -> None:
        """What each `RUN` step leaves in the image, from its stand-in; an unknown step fails the test."""
        for step in expand(command, self.env).split("&&"):
            words = shlex.split(step)
            if words[:2] == ["pip3", "install"]:
                for requirement in (w for w in words[2:] if not w.startswith("-")):
                    name, _, version = requirement.partition("==")
                    assert version, f"RUN {step}: pin {requirement} to a version"
                    name, _, extras = name.partition("[")
                    assert _venv_version(name) == version, f"the image installs {requirement}; .venv must have it too"
                    for extra in filter(None, extras.rstrip("]").split(",")):
                        assert _venv_extra_installed(name, extra), f"{requirement}: .venv lacks what [{extra}] needs"
            elif words[:3] == ["ansible-galaxy", "collection", "install"] and "-r" in words:
                requirements = self.host_path(words[words.index("-r") + 1])
                wanted, cached = required_collections(requirements), cached_collections()
                collections_path = self.env.get("ANSIBLE_COLLECTIONS_PATH", f"{self.image_home}/.ansible/collections")
                target = self.host_path(collections_path.split(":")[0]) / "ansible_collections"
                target.mkdir(parents=True, exist_ok=True)
                for name, version in wanted.items():
                    assert cached.get(name, ("none",))[0] == version, f"{name} {version} is not in {COLLECTIONS}"
                    shutil.copytree(cached[name][1], target.joinpath(*name.split(".")))
            elif words[:3] == ["python3", "-m", "compileall"]:
                targets = [self.host_value(w) for w in words[3:] if not w.startswith("-")]
                subprocess.run([str(VENV / "bin" / "python"), "-m", "compileall", "-q", *targets], check=True)
            elif words[0] not in ("chmod", "chown"):  # file modes: the test runs as one user
                pytest.fail(f"RUN {step}: the staging does not know what this step adds to the image; teach it")


def _venv_extra_installed(distribution: str, extra: str) -> bool:
    """Whether .venv holds every distribution the extra of `distribution` requires."""
    code = (
        "import importlib.metadata as m, sys, re\n"
        "needs = [r for r in m.requires(sys.argv[1]) or [] if re.search(r'extra *== *.' + sys.argv[2] + '.', r)]\n"
        "[m.version(re.match(r'[A-Za-z0-9_.-]+', r).group()) for r in needs]\n"
        "print(len(needs))"
    )
    result = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", code, distribution, extra], capture_output=True, text=True
    )
    return result.returncode == 0 and result.stdout.strip() not in ("", "0")


def _venv_version(distribution: str) -> str:
    code = "import importlib.metadata, sys; print(importlib.metadata.version(sys.argv[1]))"
    result = subprocess.run([str(VENV / "bin" / "python"), "-c", code, distribution], capture_output=True, text=True)
    return result.stdout.strip()


def stage_image(home: Path) -> StagedImage:
    base = final_stage(parse_dockerfile(base_image_dockerfile().read_text()))
    env: dict[str, str] = {}
    image = StagedImage(image_home="", home=home)
    for ins in base:
        if ins.keyword == "ENV":
            env |= env_pairs(ins.args, env)
        elif ins.keyword == "WORKDIR":
            image.workdir = expand(ins.args, env)
        elif ins.keyword == "ENTRYPOINT":
            image.entrypoint = json.loads(ins.args)
    image.image_home, image.env = env["HOME"], env
    ours = parse_dockerfile(DOCKERFILE.read_text())
    assert [i.keyword for i in ours].count("FROM") == 1, "the staging models a single-stage Dockerfile"
    for ins in ours[1:]:
        if ins.keyword == "ENV":
            image.env |= env_pairs(ins.args, image.env)
        elif ins.keyword == "COPY":
            image.copy(ins.args)
        elif ins.keyword == "RUN":
            image.run(ins.args)
        elif ins.keyword == "WORKDIR":
            image.workdir = expand(ins.args, image.env)
        elif ins.keyword == "ENTRYPOINT":
            image.entrypoint = json.loads(ins.args)
        else:
            assert ins.keyword in ("USER", "LABEL", "ARG"), f"{ins.keyword} {ins.args}: not modelled by the staging"
    return image


def manager_env(namespace: str) -> dict[str, str]:
    """The manager container's env, as `make deploy` gives it (config/default), in the given namespace."""
    built = subprocess.run(
        [str(REPO_ROOT / "bin" / "kustomize"), "build", str(REPO_ROOT / "config" / "default")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (deployment,) = [d for d in yaml.safe_load_all(built) if d and d["kind"] == "Deployment"]
    assert deployment["metadata"]["namespace"] == namespace
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "manager"]
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            assert var["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}, var
            env[var["name"]] = namespace
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the operator's whole process group (it forks ansible-runner and ansible-playbook)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
            return


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL we built
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> StagedImage:
    return stage_image(tmp_path_factory.mktemp("image") / "home")


@pytest.fixture(scope="module")
def staged_operator(stack: Stack, image: StagedImage, request: pytest.FixtureRequest) -> Iterator[Path]:
    """bin/ansible-operator started like the image's ENTRYPOINT in the staged HOME; yields its log.

    ansible-operator binds the fixed ports 8888 and 5050, so the session's operator (when it runs) is stopped
    while this one runs, and started again afterwards.
    """
    paused = None
    if process.pid_of(stack.paths, "ansible-operator") is not None:
        paused = request.getfixturevalue("running_operator")
        paused.stop()
    health = process.free_port()
    # ENTRYPOINT ["/tini", "--", "/usr/local/bin/ansible-operator", ...]: tini only reaps and forwards signals.
    init, separator, program, *args = image.entrypoint
    assert (init, separator, Path(program).name) == ("/tini", "--", "ansible-operator"), image.entrypoint
    argv = [str(REPO_ROOT / "bin" / "ansible-operator"), *args]
    argv += [f"--health-probe-bind-address=127.0.0.1:{health}", "--metrics-bind-address=0"]
    env = {name: image.host_value(value) for name, value in (image.env | manager_env(OPERATOR_NAMESPACE)).items()}
    env |= {"PATH": f"{VENV / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin", "KUBECONFIG": str(stack.paths.kubeconfig)}
    leaks = {k: v for k, v in env.items() if k not in ("PATH", "KUBECONFIG") and str(REPO_ROOT) in v}
    assert not leaks, f"the staged operator must not see the repository: {leaks}"
    log = image.home.parent / "ansible-operator.log"
    check_fixed_ports()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=image.host_path(image.workdir),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"the staged operator exited:\n{process.log_tail(log)}"
            return _http_ok(f"http://127.0.0.1:{health}/readyz")

        wait_until(ready, 60, "the staged operator's /readyz")
        yield log
    finally:
        _stop(proc)
        wait_until(ports_free, 30, "ports 8888 and 5050 to be free after the staged operator stopped")
        if paused is not None:
            paused.start()


def test_from_tag_is_the_ansible_operator_that_bin_runs() -> None:
    (base,) = [i for i in parse_dockerfile(DOCKERFILE.read_text()) if i.keyword == "FROM"]
    name, _, tag = _from_image(base).partition(":")
    assert (name, tag) == (BASE_IMAGE, ansible_operator_version())
    version = subprocess.run(
        [str(REPO_ROOT / "bin" / "ansible-operator"), "version"], capture_output=True, text=True, check=True
    ).stdout
    assert f'ansible-operator version: "{tag}"' in version


def test_molecule_requirements_name_exactly_the_cached_collections() -> None:
    cached = {name: version for name, (version, _) in cached_collections().items()}
    assert cached, f"no collections in {COLLECTIONS}: run `make collections`"
    assert required_collections(REPO_ROOT / "molecule" / "requirements.yml") == cached


def _modules_called(tasks: Any) -> Iterator[str]:
    """The module (or action) name of every task in a task list or play list, blocks included."""
    for task in tasks or []:
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from _modules_called(task.get(key))
        yield from (key for key in task if "." in key or key in MODULES_OF_OURS)


MODULES_OF_OURS = {path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("*.py")}


def test_the_image_installs_no_collection_since_the_roles_use_none() -> None:
    assert required_collections(REPO_ROOT / "requirements.yml") == {}
    task_files = [*REPO_ROOT.glob("roles/*/tasks/*.yml"), *REPO_ROOT.glob("playbooks/*.yml")]
    called = {name for path in task_files for name in _modules_called(yaml.safe_load(path.read_text()))}
    assert called, "no task found in roles/ and playbooks/"
    foreign = {name for name in called if name not in MODULES_OF_OURS and not name.startswith("ansible.builtin.")}
    assert not foreign, f"the roles call {sorted(foreign)}: list their collections in requirements.yml"


def test_staged_home_holds_what_the_image_runs(image: StagedImage) -> None:
    watches = yaml.safe_load(image.host_path(f"{image.image_home}/watches.yaml").read_text())
    finalizers = [w["finalizer"] for w in watches if "finalizer" in w]
    for role in {w["role"] for w in watches} | {f["role"] for f in finalizers if "role" in f}:
        assert (image.home / "roles" / role / "tasks" / "main.yml").is_file(), role
    # Playbook paths are relative to the operator's working directory, the base image's WORKDIR.
    for playbook in {f["playbook"] for f in finalizers if "playbook" in f}:
        assert (image.host_path(image.workdir) / playbook).is_file(), playbook
    assert Path(image.host_value(image.env["ANSIBLE_CONFIG"])).is_file()
    # Compiled at build (the operator's user cannot write next to the root-owned files): every module,
    # module_utils, filter and action plugin and ansible_site has its bytecode, so no reconcile compiles them again.
    sources = sorted((image.home / "plugins").rglob("*.py"))
    # The start-up of ansible-runner and ansible-playbook (sitecustomize, event plugin), on PYTHONPATH.
    site = Path(image.host_value(image.env["PYTHONPATH"]))
    assert (site / "sitecustomize.py").is_file() and (site / "ansible_runner_http" / "__init__.py").is_file()
    sources += sorted(site.rglob("*.py"))
    assert sources
    for source in sources:
        assert (source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc").is_file(), source


def test_sample_becomes_ready_under_the_staged_image(stack: Stack, namespace: str, staged_operator: Path) -> None:
    sample: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    # Its own name and Delete: other tests' Retain-ed `the-database-name` may be on the shared server already.
    name = f"image-{os.urandom(3).hex()}"
    sample["metadata"]["name"] = name
    sample["spec"]["deletionPolicy"] = "Delete"
    stack.custom.create_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", sample)
    try:
        # A fresh HOME has no Kubernetes discovery cache yet, so the first reconcile is the slowest.
        wait_ready(stack, namespace, name, timeout=180)
    except AssertionError as err:
        raise AssertionError(f"{err}\nstaged operator log:\n{process.log_tail(staged_operator, 40)}") from err
    conn = app_login(stack, secret_values(stack, namespace, name))
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE(), CURRENT_USER()")
        assert cur.fetchone() == (name, f"{name}@%")
    conn.close()
    # The finalizer runs from the staged image too.
    assert get_cr(stack, namespace, name)["metadata"]["finalizers"] == ["piwik.pro/finalizer"]
    stack.custom.delete_namespaced_custom_object("piwik.pro", "v1", namespace, "mysqldatabases", name)
    wait_gone(stack, namespace, name, timeout=180)
    assert not database_exists(stack, name) and not user_exists(stack, name)
