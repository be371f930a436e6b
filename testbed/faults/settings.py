"""What a run of the suite does: profile sizes, seed, output and state folder, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..localenv.config import DEFAULT_SERVER, HARDENED_SERVER, REPO_ROOT


@dataclass(frozen=True)
class Profile:
    """How hard each case pushes; `full` for the published figures, `ci` for every pull request."""

    name: str
    kill_crs: int  # CRs created while the operator is killed
    kills: int  # SIGKILLs of the operator tree while they are created
    delete_kills: int  # SIGKILLs while a deletionPolicy: Delete CR is finalized
    outage_crs: int  # CRs Ready before MariaDB stops
    outages: int  # MariaDB stop/start cycles (every second one is a SIGKILL crash)
    outage_new_crs: int  # CRs created while MariaDB is down
    api_crs: int  # CRs Ready before the control plane restarts
    api_restarts: int  # kube-apiserver + etcd restarts
    api_new_crs: int  # CRs created after each restart
    admin_crs: int  # CRs Ready before the admin Secret goes wrong
    admin_flips: int  # wrong admin password (then wrong user) and back
    burst_crs: int  # CRs created at once
    race_pairs: int  # pairs of CRs in two namespaces racing for the same database and user
    deletion_faults: int  # faults a Delete-policy CR is deleted under: server stopped, wrong admin password, crashed
    deletions_per_fault: int  # CRs deleted under each of them
    deletion_hold_seconds: float  # how long the finalizer must hold (and drop nothing) while the fault lasts
    failover_crs: int  # CRs created at once while the leader of two replicas is SIGKILLed
    max_concurrent_reconciles: int = 4
    verbose_every: int = 4  # every n-th CR carries the verbosity-7 annotation
    settle_seconds: float = 420.0  # how long a case waits for everything to become healthy


PROFILES = {
    "full": Profile(
        name="full",
        kill_crs=20,
        kills=6,
        delete_kills=3,
        outage_crs=8,
        outages=2,
        outage_new_crs=2,
        api_crs=5,
        api_restarts=2,
        api_new_crs=3,
        admin_crs=5,
        admin_flips=2,
        burst_crs=50,
        race_pairs=4,
        deletion_faults=3,
        deletions_per_fault=2,
        deletion_hold_seconds=45.0,
        failover_crs=20,
    ),
    "ci": Profile(
        name="ci",
        kill_crs=8,
        kills=2,
        delete_kills=1,
        outage_crs=3,
        outages=1,
        outage_new_crs=1,
        api_crs=2,
        api_restarts=1,
        api_new_crs=1,
        admin_crs=2,
        admin_flips=1,
        burst_crs=12,
        race_pairs=2,
        deletion_faults=2,
        deletions_per_fault=1,
        deletion_hold_seconds=20.0,
        failover_crs=10,
        settle_seconds=300.0,
    ),
}


# The MySQLServers of the local environment the suite can aim at (localenv/cluster.py makes both).
SERVERS = (DEFAULT_SERVER, HARDENED_SERVER)


@dataclass(frozen=True)
class Settings:
    """From the environment:

    - `FAULTS_PROFILE`: `full` (default) or `ci`;
    - `FAULTS_SEED`: integer seed of every random choice (default 1);
    - `FAULTS_OUT`: file for the JSON report (default: stdout);
    - `FAULTS_STATE_DIR`: the suite's own local environment (default `.cache/faults-localenv`, wiped first);
    - `FAULTS_CASES`: comma-separated subset of cases to run (default: all, in order);
    - `FAULTS_SERVER`: the server profile under test, `default` (stock MariaDB, plain TCP) or `hardened`
      (password-policy plugins, TLS only, an admin without SUPER: localenv/hardened.py). Every CR of the
      suite, every MySQLServer it adds, its health and orphan checks and the faults that break a server
      (stop, crash, wrong admin credentials) aim at that server (default `default`).
    """

    profile: Profile
    seed: int
    out: Path | None
    state_dir: Path
    cases: tuple[str, ...] = field(default_factory=tuple)
    server: str = DEFAULT_SERVER

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        name = env.get("FAULTS_PROFILE", "full")
        if name not in PROFILES:
            raise ValueError(f"FAULTS_PROFILE must be one of {', '.join(PROFILES)}, not {name!r}")
        seed_text = env.get("FAULTS_SEED", "1")
        if not seed_text.lstrip("-").isdigit():
            raise ValueError(f"FAULTS_SEED must be an integer, not {seed_text!r}")
        out = env.get("FAULTS_OUT")
        state = env.get("FAULTS_STATE_DIR") or str(REPO_ROOT / ".cache" / "faults-localenv")
        cases = tuple(c.strip() for c in env.get("FAULTS_CASES", "").split(",") if c.strip())
        server = env.get("FAULTS_SERVER") or DEFAULT_SERVER
        if server not in SERVERS:
            raise ValueError(f"FAULTS_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")
        return cls(
            profile=PROFILES[name],
            seed=int(seed_text),
            out=Path(out) if out else None,
            state_dir=Path(state).resolve(),
            cases=cases,
            server=server,
        )
