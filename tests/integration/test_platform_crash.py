"""Crash test: SIGKILL the REST service under load; every acknowledged application survives, exactly once.

The server is the documented factory, ``python -m uvicorn --factory autofin.api.app:app_from_env``, as a
subprocess on a free loopback port, configured through the environment (``AUTOFIN_DATABASE_URL``: a
SQLite file in ``tmp_path`` or a fresh PostgreSQL database; ``AUTOFIN_MODELS``: a registry holding the
demo application model, trained once per test session, about 5 s; a tokens file; a rate limit too high
to answer 429; ``AUTOFIN_SECRET_KEY``). Eight client threads submit distinct applications (variants of
``examples/decisions/approve.json``, each with its own ``application_id`` and ``Idempotency-Key``) and
record every key acknowledged with 201 or 200. After about 1.5 s the uvicorn process itself is killed
with SIGKILL. The server is started again on the same database, and then:

(a) every acknowledged key is stored exactly once, with exactly one decision — the decision that was
    acknowledged (same id and outcome);
(b) every key sent but not acknowledged (in flight at the kill, or refused after it) is sent again with
    the identical body and gets 201 or 200; in the end every key sent is stored exactly once with one
    decision, and nothing else is stored;
(c) the audit ledger verifies (``autofin.store.audit.verify``) and holds one ``decision`` entry per
    stored decision.

The databases come from the ``db_url`` fixture of tests/store (SQLite, and a fresh PostgreSQL database
skipped only when ``127.0.0.1:5432`` / ``AUTOFIN_TEST_POSTGRES_URL`` is unreachable).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from autofin.api.service import scoped_key
from autofin.store import audit
from autofin.store.db import make_engine, session_factory
from autofin.store.models import ApplicationRow, AuditEntry, DecisionRow
from autofin.store.repository import stored_counts
from store.conftest import db_url  # noqa: F401 - the SQLite + PostgreSQL fixture of tests/store

ROOT = Path(__file__).resolve().parents[2]
APPROVE = ROOT / "examples" / "decisions" / "approve.json"
DEALER_TOKEN = "crash-dealer-token-0123456789"
DEALER_ID = "crash-dealer"
CLIENTS = 8
KILL_AFTER_S = 1.5
PERSONAL = {"national_id": "110101199003071234", "name": "测试", "phone": "13812345678"}


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model registry with the demo application model (trained once per session)."""
    from autofin.decision.scoring import demo_scorer
    from autofin.risk.registry import Registry

    path = tmp_path_factory.mktemp("models")
    demo_scorer(Registry(path))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """One ``uvicorn --factory autofin.api.app:app_from_env`` subprocess."""

    env: dict[str, str]
    log: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "autofin.api.app:app_from_env",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                 "--no-access-log"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server not healthy after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def variant(base: dict[str, Any], key: str) -> dict[str, Any]:
    app = json.loads(json.dumps(base))
    app["application_id"] = key
    return {"application": app, "personal": PERSONAL}


@dataclass
class Load:
    """What the client threads saw: keys sent, acknowledged (with the acknowledged decision), errors."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (decision id, outcome)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(base_url: str, worker: int, load: Load, stop: threading.Event, approve: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {DEALER_TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as http:
        i = 0
        while not stop.is_set():
            key = f"crash-{worker}-{i:05d}"
            i += 1
            body = variant(approve, key)
            with load.lock:
                load.sent[key] = body
            try:
                r = http.post("/v1/applications", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                return  # the server died: this key is in flight, never acknowledged
            with load.lock:
                if r.status_code in (200, 201):
                    d = r.json()["decision"]
                    load.acked[key] = (d["id"], d["outcome"])
                else:
                    load.unexpected.append(f"{key}: {r.status_code} {r.text[:300]}")
                    return


def test_sigkill_under_load_loses_nothing(db_url: str, models_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    t0 = time.monotonic()
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps({DEALER_TOKEN: {"name": DEALER_ID, "role": "dealer", "dealer_id": DEALER_ID}})
    )
    env = {
        **os.environ,
        "AUTOFIN_DATABASE_URL": db_url,
        "AUTOFIN_MODELS": str(models_dir),
        "AUTOFIN_API_TOKENS_FILE": str(tokens),
        "AUTOFIN_API_RATE": "1000000",
        "AUTOFIN_API_BURST": "1000000",
        "AUTOFIN_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    approve = json.loads(APPROVE.read_text(encoding="utf-8"))
    server = Server(env, tmp_path / "server.log")
    server.start()
    load, stop = Load(), threading.Event()
    try:
        threads = [
            threading.Thread(target=client, args=(server.base, w, load, stop, approve), daemon=True)
            for w in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        time.sleep(KILL_AFTER_S)
        server.kill()  # SIGKILL the uvicorn process itself, mid-request
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not load.unexpected, load.unexpected[:5]
        acked = dict(load.acked)
        unacked = sorted(set(load.sent) - set(acked))
        assert len(acked) >= 10, f"too little load before the kill: {len(acked)} acknowledged"

        server.start()  # the same database
        sessions_engine = make_engine(db_url)
        sessions = session_factory(sessions_engine)
        scope = f"dealer:{DEALER_ID}"
        try:
            # (a) every acknowledged application: stored once, with the one decision acknowledged
            with sessions() as s:
                rows = s.execute(select(ApplicationRow.idempotency_key, ApplicationRow.id)).all()
                by_key: dict[str, list[str]] = {}
                for k, app_id in rows:
                    by_key.setdefault(k, []).append(app_id)
                decisions: dict[str, list[tuple[str, str]]] = {}
                for app_id, dec_id, outcome in s.execute(
                    select(DecisionRow.application_id, DecisionRow.id, DecisionRow.outcome)
                ).all():
                    decisions.setdefault(app_id, []).append((dec_id, outcome))
            for key, (dec_id, outcome) in acked.items():
                ids = by_key.get(scoped_key(scope, key), [])
                assert len(ids) == 1, f"acknowledged {key} stored {len(ids)} times"
                assert decisions.get(ids[0]) == [(dec_id, outcome)], f"{key}: {decisions.get(ids[0])}"

            # (b) every key in flight, sent again: 201 (never stored) or 200 (stored before the kill)
            statuses: dict[int, int] = {}
            headers = {"Authorization": f"Bearer {DEALER_TOKEN}"}
            with httpx.Client(base_url=server.base, headers=headers, timeout=30.0) as http:
                for key in unacked:
                    r = http.post("/v1/applications", json=load.sent[key], headers={"Idempotency-Key": key})
                    assert r.status_code in (200, 201), f"{key}: {r.status_code} {r.text[:300]}"
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                for key in list(acked)[:20]:  # an acknowledged key resent: 200, the same decision
                    r = http.post("/v1/applications", json=load.sent[key], headers={"Idempotency-Key": key})
                    assert r.status_code == 200 and r.json()["decision"]["id"] == acked[key][0]
            with sessions() as s:
                per_key, per_app = stored_counts(s)
                n_apps = s.scalar(select(func.count()).select_from(ApplicationRow))
                # (c) the ledger holds, one decision entry per stored decision
                report = audit.verify(s)
                n_audit = s.scalar(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == "decision")
                )
            expected = {scoped_key(scope, k) for k in load.sent}
            assert set(per_key) == expected, "stored keys differ from the keys sent"
            assert all(c == 1 for c in per_key.values()), "a key is stored twice"
            assert n_apps == len(load.sent)
            assert len(per_app) == n_apps and all(c == 1 for c in per_app.values()), "not one decision each"
            assert report.ok, report.line()
            assert n_audit == n_apps
        finally:
            sessions_engine.dispose()
        print(
            f"\n{db_url.split(':')[0]}: {len(acked)} acknowledged before SIGKILL, {len(unacked)} in flight "
            f"resent ({statuses}), {n_apps} stored once each; {report.line()}; "
            f"{time.monotonic() - t0:.1f} s"
        )
    finally:
        stop.set()
        server.stop()
