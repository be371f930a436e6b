"""Start-up of the operator's ansible-runner and ansible-playbook processes.

On PYTHONPATH for the operator only (Dockerfile ENV, testbed/localenv/operator.py's operator_env), so Python
imports it at the start of every process the operator runs. It acts only in `ansible-playbook` and
`ansible-runner`, which live for one reconcile each, and only under the versions it was checked against
(PYTHON, ANSIBLE_CORE, ANSIBLE_RUNNER); anywhere else it does nothing (tests/unit/ansible_site/ fail when the
pins move):

- gc: no cyclic garbage collection. Most of the collector's work falls in the processes' imports, and what
  it would free is freed by their exit (make bench reports peak RSS, per process and for the operator's
  tree). Left on in every other process.
- teardown: after main() ends with an integer status (a clean exit, whatever the status), the interpreter's
  teardown (freeing every module and object) is skipped: when only the main thread is left, the atexit
  handlers run (logging, multiprocessing, ansible's temp folders), stdout and stderr are flushed, then
  os._exit(status). Anything else (other threads alive, a failed flush, an exit message) takes the normal
  way out. ansible-runner writes and closes every artifact before main() returns; ansible-playbook writes
  only to stdout, which is flushed.

ANSIBLE_SITE_DISABLE=gc,teardown (or `all`) turns them off without a rebuild. Another sitecustomize further
down sys.path (a distribution's own) still runs.
"""

# Python runs this in every process of the operator's tree (modules included): only modules that start-up
# has loaded anyway are imported here, never typing or dataclasses (each would cost every process its import).
from __future__ import annotations

import atexit
import gc
import importlib.machinery
import importlib.util
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

PYTHON = (3, 12)
ANSIBLE_CORE = "2.18.19"
ANSIBLE_RUNNER = "2.4.3"
DISABLE_ENV = "ANSIBLE_SITE_DISABLE"


class Target:
    """A program this file tunes: the module whose main() its console script calls, and its version check."""

    __slots__ = ("module", "program", "version_ok")

    def __init__(self, program: str, module: str, version_ok: Callable[[ModuleType], bool]) -> None:
        self.program, self.module, self.version_ok = program, module, version_ok


def _ansible_core_ok(_module: ModuleType) -> bool:
    release = sys.modules.get("ansible.release")
    return getattr(release, "__version__", None) == ANSIBLE_CORE


def _ansible_runner_ok(module: ModuleType) -> bool:
    # ansible_runner has no __version__; pip keeps exactly one dist-info per installed version beside it.
    site = os.path.dirname(os.path.dirname(os.path.abspath(module.__file__ or "")))
    return os.path.isdir(os.path.join(site, f"ansible_runner-{ANSIBLE_RUNNER}.dist-info"))


TARGETS = {
    "ansible-playbook": Target("ansible-playbook", "ansible.cli.playbook", _ansible_core_ok),
    "ansible-runner": Target("ansible-runner", "ansible_runner.__main__", _ansible_runner_ok),
}


def disabled(environ: dict[str, str] | os._Environ[str]) -> set[str]:
    words = {w.strip() for w in environ.get(DISABLE_ENV, "").split(",") if w.strip()}
    return {"gc", "teardown"} if "all" in words else words


def target_of(argv: list[str]) -> Target | None:
    if sys.version_info[:2] != PYTHON or not argv:
        return None
    return TARGETS.get(os.path.basename(argv[0]))


def _only_main_thread_left() -> bool:
    threading = sys.modules.get("threading")
    if threading is None:
        return True
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    # Callbacks threading runs before atexit (concurrent.futures joins its workers there).
    return not others and not getattr(threading, "_threading_atexits", None)


def exit_now(code: object) -> None:
    """Leave with `code` as sys.exit would, minus the teardown; returns when that would not be the same."""
    status = 0 if code is None else code
    if not isinstance(status, int) or not _only_main_thread_left():
        return
    atexit._run_exitfuncs()  # what Python runs next; clears them, so a return below does not run them twice
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            return  # Python's own teardown reports it and exits 120
    os._exit(status)


def without_teardown(main: Callable[..., Any]) -> Callable[..., Any]:
    """main() as the console script calls it (`sys.exit(main())`), leaving through exit_now."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = main(*args, **kwargs)
        except SystemExit as exc:
            exit_now(exc.code)
            raise
        exit_now(result)
        return result

    wrapper.__wrapped__ = main  # type: ignore[attr-defined]
    wrapper.__name__ = getattr(main, "__name__", "main")
    wrapper.__doc__ = main.__doc__
    return wrapper


class _OnImport:
    """Runs `then(module)` right after `name` is imported; in sys.meta_path until then, a no-op for others."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module, then = spec.loader.exec_module, self.then

        def exec_then(module: ModuleType) -> None:
            exec_module(module)
            then(module)

        spec.loader.exec_module = exec_then  # type: ignore[method-assign]
        return spec


def activate(target: Target, off: set[str]) -> None:
    """Collector off now (the imports are most of its cost); confirmed or undone once the version is known."""
    if "gc" not in off:
        gc.disable()

    def confirm(module: ModuleType) -> None:
        if not target.version_ok(module):
            gc.enable()
            return
        if "teardown" not in off and callable(getattr(module, "main", None)):
            module.__dict__["main"] = without_teardown(module.main)

    sys.meta_path.insert(0, _OnImport(target.module, confirm))


def _chain() -> None:
    """Run the next sitecustomize on sys.path, which this file shadows."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None and spec.origin != os.path.abspath(__file__):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def _main() -> None:
    target = target_of(sys.argv)
    off = disabled(os.environ)
    if target is not None and not {"gc", "teardown"} <= off:
        activate(target, off)
    _chain()


_main()
