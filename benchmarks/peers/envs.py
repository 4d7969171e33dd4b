"""One virtual environment per peer library, created once under ``<repo>/.bench-envs/`` and reused.

Each peer runs in its own environment because their pins conflict with autofin's and with each other
(scorecardpy 0.1.9.7 breaks on pandas 3; toad and optbinning pull their own numpy/scikit-learn ranges).
An environment is (re)built only when its marker file is missing or records a different requirement
list, so the first ``make bench`` pays for the installs and later runs start at once.

Usage::

    .venv/bin/python -m benchmarks.peers.envs            # create / check every peer environment
    .venv/bin/python -m benchmarks.peers.envs toad       # just one

Environments are made with ``python3 -m venv`` and filled with pip from the machine's normal index.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENVS_DIR = REPO / ".bench-envs"
PEERS_DIR = Path(__file__).resolve().parent
MARKER = ".autofin-bench.json"


@dataclass(frozen=True)
class PeerEnv:
    """A peer: its environment name, the pip requirements that build it and the runner script."""

    name: str
    requirements: tuple[str, ...]
    runner: str
    versions_of: tuple[str, ...]  # distributions whose installed versions the report names

    @property
    def path(self) -> Path:
        return ENVS_DIR / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


PEERS: dict[str, PeerEnv] = {
    "optbinning": PeerEnv(
        "optbinning",
        ("optbinning==1.0.0",),
        "run_optbinning.py",
        ("optbinning", "ortools", "scikit-learn", "pandas", "numpy"),
    ),
    # scorecardpy 0.1.9.7 fails on pandas 3 (var_filter, woebin): REFERENCES.md.
    "scorecardpy": PeerEnv(
        "scorecardpy",
        ("scorecardpy==0.1.9.7", "pandas<3", "scikit-learn"),
        "run_scorecardpy.py",
        ("scorecardpy", "scikit-learn", "pandas", "numpy"),
    ),
    "toad": PeerEnv(
        "toad",
        ("toad==0.1.7", "pandas", "scikit-learn"),
        "run_toad.py",
        ("toad", "scikit-learn", "pandas", "numpy"),
    ),
    "lightgbm": PeerEnv(
        "lightgbm",
        ("lightgbm==4.7.0", "scikit-learn", "pandas"),
        "run_lightgbm.py",
        ("lightgbm", "scikit-learn", "pandas", "numpy"),
    ),
}


def _log(msg: str) -> None:
    print(f"[bench-envs] {msg}", file=sys.stderr, flush=True)


def _base_python() -> str:
    return shutil.which("python3") or getattr(sys, "_base_executable", sys.executable)


def _marker(env: PeerEnv) -> dict[str, object] | None:
    path = env.path / MARKER
    if not path.exists() or not env.python.exists():
        return None
    try:
        data: dict[str, object] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def installed_versions(env: PeerEnv) -> dict[str, str]:
    """Installed versions of the distributions the report names (from the environment's marker)."""
    data = _marker(env)
    versions = data.get("versions") if data else None
    return dict(versions) if isinstance(versions, dict) else {}


def ensure(env: PeerEnv) -> float:
    """Create ``env`` unless a matching one exists; return the seconds spent (0.0 when reused)."""
    data = _marker(env)
    if data is not None and data.get("requirements") == list(env.requirements):
        _log(f"{env.name}: reusing {env.path.relative_to(REPO)}")
        return 0.0
    start = time.perf_counter()
    if env.path.exists():
        _log(f"{env.name}: requirements changed or install incomplete; rebuilding")
        shutil.rmtree(env.path)
    ENVS_DIR.mkdir(exist_ok=True)
    _log(f"{env.name}: creating venv with {_base_python()} -m venv")
    subprocess.run([_base_python(), "-m", "venv", str(env.path)], check=True)
    pip = [str(env.python), "-m", "pip", "--disable-pip-version-check"]
    _log(f"{env.name}: pip install {' '.join(env.requirements)} (may take a minute)")
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", *env.requirements], check=True)
    out = subprocess.run([*pip, "list", "--format=json"], check=True, capture_output=True, text=True)
    listed = {d["name"].lower(): d["version"] for d in json.loads(out.stdout)}
    versions = {name: listed.get(name, "?") for name in env.versions_of}
    seconds = time.perf_counter() - start
    marker = {"requirements": list(env.requirements), "versions": versions, "install_seconds": seconds}
    (env.path / MARKER).write_text(json.dumps(marker, indent=1))
    _log(f"{env.name}: ready in {seconds:.0f} s ({', '.join(f'{k} {v}' for k, v in versions.items())})")
    return seconds


def ensure_all(names: list[str] | None = None) -> dict[str, float]:
    """Create every (or the named) peer environment; seconds spent per environment."""
    return {name: ensure(PEERS[name]) for name in (names or list(PEERS))}


def run_peer(
    env: PeerEnv,
    split_dir: Path,
    dataset: str,
    *,
    repeat: int = 1,
    budget: float = 0.0,
    variant: str | None = None,
    timeout: float = 1800.0,
) -> dict[str, object]:
    """Run ``env``'s runner on one data set's split in a subprocess; its parsed JSON result line.

    The runner fits up to ``repeat`` times, stopping early once ``budget`` seconds of fitting are spent.

    The child inherits this process's environment (so the single-thread BLAS/OpenMP pins of
    ``benchmarks.run`` apply to the peers too).
    """
    cmd = [str(env.python), str(PEERS_DIR / env.runner), str(split_dir), dataset]
    cmd += ["--repeat", str(repeat), "--budget", str(budget)]
    if variant is not None:
        cmd += ["--variant", variant]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=PEERS_DIR)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{env.name} on {dataset} exited {proc.returncode}: {' | '.join(tail)}")
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            result: dict[str, object] = json.loads(line)
            return result
    raise RuntimeError(f"{env.name} on {dataset} printed no JSON line: {proc.stdout[-300:]}")


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(PEERS)
    unknown = sorted(set(names) - set(PEERS))
    if unknown:
        print(f"unknown peer(s) {unknown}; choose from {sorted(PEERS)}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    spent = ensure_all(names)
    _log(f"done in {time.perf_counter() - start:.0f} s: {spent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
