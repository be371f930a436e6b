"""Start, track and stop the local environment's processes by PID."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import proctree
from .config import Paths

log = logging.getLogger(__name__)


class ProcessError(RuntimeError):
    """A process died or never became ready; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str | urllib.request.Request, context: ssl.SSLContext | None = None) -> bool:
    """A readiness probe: the GET answers 200 within two seconds."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310 - loopback URL we built
            status: int = response.status  # urlopen's answer is untyped
            return status == 200
    except OSError:  # refused, timed out, or an HTTP error status (urllib's errors are OSErrors)
        return False


def log_tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def pid_of(paths: Paths, name: str) -> int | None:
    """The PID recorded for `name` when that process is still alive, else None."""
    pid_file = paths.pids / f"{name}.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().strip() or 0)
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    # A zombie or a recycled PID is not ours.
    if proctree.state_of(pid) == "Z":
        return None
    return pid


def start(
    paths: Paths, name: str, args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Start `args` in its own session (in `cwd` when given), logging to logs/<name>.log, and record its PID."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.pids.mkdir(parents=True, exist_ok=True)
    log_path = paths.logs / f"{name}.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    (paths.pids / f"{name}.pid").write_text(str(proc.pid))
    log.info("started %s (pid %d)", name, proc.pid)
    return proc.pid


def stop(paths: Paths, name: str, timeout: float = 15.0) -> bool:
    """Stop the process group recorded for `name`: SIGTERM, then SIGKILL. True if it was running."""
    pid = pid_of(paths, name)
    (paths.pids / f"{name}.pid").unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
    log.info("stopped %s (pid %d)", name, pid)
    return True


def kill_tree(paths: Paths, name: str) -> dict[int, tuple[str, ...]]:
    """SIGKILL the process recorded for `name` and every process under it at once (proctree.kill_tree), and
    forget its PID; returns each killed pid with the argv it ran when frozen (empty when none ran)."""
    pid = pid_of(paths, name)
    if pid is None:
        return {}
    killed = proctree.kill_tree(pid)
    (paths.pids / f"{name}.pid").unlink(missing_ok=True)
    return killed


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        # Reap it if it is our child, so it does not linger as a zombie.
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return proctree.state_of(pid) not in ("", "Z")


def wait_for(paths: Paths, name: str, ready: Callable[[], bool], timeout: float) -> None:
    """Poll `ready` until it holds; fail early with the log if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if pid_of(paths, name) is None:
            raise ProcessError(
                f"{name} exited during start-up; last lines of its log:\n{log_tail(paths.logs / f'{name}.log')}"
            )
        time.sleep(0.2)
    raise ProcessError(
        f"{name} not ready after {timeout:.0f}s; last lines of its log:\n{log_tail(paths.logs / f'{name}.log')}"
    )
