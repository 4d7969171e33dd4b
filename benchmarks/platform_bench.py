"""(j) The platform under load: full decisions over HTTP on loopback, and the in-process reference.

The server is ``python -m uvicorn --factory autofin.api.app:app_from_env --workers N`` (uvloop, httptools,
no access log) as a subprocess on a free loopback port, with the demo engine (the demo application model,
trained into a temporary registry first — not timed), a rate limit too high to answer 429, and a fresh
database per row: a SQLite file (WAL) in a temporary folder, and a fresh PostgreSQL database on
``127.0.0.1:5432`` when it is reachable (``AUTOFIN_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``; dropped afterwards). Workers: 1 and 2 (the machine's
cores).

The load: 50 concurrent clients (asyncio tasks sharing one ``httpx.AsyncClient`` with 50 connections, in
this process) submit full applications — variants of ``examples/decisions/approve.json`` with their own
``application_id`` and ``Idempotency-Key`` and synthetic personal data — to ``POST /v1/applications``,
back to back, for a warm-up (not counted) and then a fixed duration. A connection error or a timeout is
retried with the identical request and the same key (up to 5 attempts); a request's latency runs from its
first attempt to its acknowledgement (201, or 200 for a retry that finds it stored). Throughput is the
applications acknowledged during the timed window per second; p50 / p99 are over those.

Afterwards the database is read directly: every acknowledged key must be stored exactly once (lost =
acknowledged but not stored; duplicated = a key stored more than once), no application may have more than
one decision (duplicate decisions: a retry landing on another worker while the first attempt is still
running must find the first one's decision — the store transaction of ``repository.submit_decided``
arbitrates, see ``autofin.api.service``), and the stored applications must equal the distinct keys sent
(none stored without being sent).

The reference: the same applications decided in process on one core (``DecisionEngine.decide``), and
stored and decided in process through the API's exactly-once path (``submit_and_decide``) on a SQLite
file: the difference to the HTTP rows is the cost of HTTP, JSON and the server.

Targets (issue 9): ≥ 500 full decisions per second over HTTP, p99 ≤ 100 ms, zero lost or duplicated.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.run import Row, Timing

ROOT = Path(__file__).resolve().parents[1]
APPROVE = ROOT / "examples" / "decisions" / "approve.json"
PG_URL = os.environ.get("AUTOFIN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "bench-dealer-token-0123456789"
DEALER = "bench-dealer"
CLIENTS = 50
ATTEMPTS = 5
PERSONAL = {"national_id": "110101199003071234", "name": "压测", "phone": "13812345678"}
TARGET_RATE, TARGET_P99 = 500.0, 0.100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pg_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


@dataclass
class LoadResult:
    sent: set[str] = field(default_factory=set)
    acked: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)  # acknowledged in the timed window
    retries: int = 0
    failed: list[str] = field(default_factory=list)  # gave up or got an unexpected status
    window: float = 0.0


async def _load(base: str, base_app: dict[str, Any], warmup: float, duration: float) -> LoadResult:
    import httpx

    res = LoadResult()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    loop = asyncio.get_running_loop()
    t_start = loop.time()
    t_measure, t_end = t_start + warmup, t_start + warmup + duration

    async def one_client(http: httpx.AsyncClient) -> None:
        while loop.time() < t_end:
            key = uuid.uuid4().hex
            app = dict(base_app, application_id=f"bench-{key[:20]}")
            body = json.dumps({"application": app, "personal": PERSONAL}).encode()
            res.sent.add(key)
            t0 = loop.time()
            for attempt in range(ATTEMPTS):
                try:
                    r = await http.post("/v1/applications", content=body, headers={"Idempotency-Key": key})
                except (httpx.TransportError, httpx.TimeoutException):
                    res.retries += 1
                    await asyncio.sleep(0.05 * (attempt + 1))
                    continue
                if r.status_code in (200, 201):
                    res.acked.add(key)
                    if t0 >= t_measure and loop.time() <= t_end:
                        res.latencies.append(loop.time() - t0)
                else:
                    res.failed.append(f"{r.status_code} {r.text[:200]}")
                break
            else:
                res.failed.append(f"{key}: no answer after {ATTEMPTS} attempts")

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10.0) as http:
        await asyncio.gather(*(one_client(http) for _ in range(CLIENTS)))
    res.window = duration
    return res


def _start(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "autofin.api.app:app_from_env", "--host",
           "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log"]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        raise RuntimeError(f"server not healthy: {log.read_text()[-2000:]}")
    time.sleep(1.0 if workers > 1 else 0.2)  # the other workers finish loading their engines
    return proc, base


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _check_store(url: str, res: LoadResult) -> dict[str, int]:
    from autofin.api.service import scoped_key
    from autofin.store.db import make_engine, session_factory
    from autofin.store.repository import stored_counts

    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            per_key, per_app = stored_counts(s)
    finally:
        engine.dispose()
    stored = sum(per_key.values())
    scope = f"dealer:{DEALER}"
    acked = {scoped_key(scope, k) for k in res.acked}
    sent = {scoped_key(scope, k) for k in res.sent}
    return {
        "stored": stored,
        "lost": sum(1 for k in acked if per_key.get(k, 0) == 0),
        "duplicated": sum(c - 1 for c in per_key.values() if c > 1),
        "undecided": stored - len(per_app),
        "duplicate_decisions": sum(c - 1 for c in per_app.values() if c > 1),
        "not_sent": sum(1 for k in per_key if k not in sent),
    }


def _http_row(
    label: str, url: str, workers: int, env: dict[str, str], root: Path, warmup: float, duration: float
) -> Row:
    base_app = json.loads(APPROVE.read_text(encoding="utf-8"))
    proc, base = _start({**env, "AUTOFIN_DATABASE_URL": url}, workers, root / f"server-{label}-{workers}.log")
    try:
        res = asyncio.run(_load(base, base_app, warmup, duration))
    finally:
        _stop(proc)
    check = _check_store(url, res)
    n = len(res.latencies)
    rate = n / res.window
    p50 = statistics.median(res.latencies) if n else float("nan")
    p99 = _pct(res.latencies, 0.99) if n else float("nan")
    ok_rate, ok_p99 = rate >= TARGET_RATE, p99 <= TARGET_P99
    clean = check["lost"] == check["duplicated"] == check["duplicate_decisions"] == check["not_sent"] == 0
    clean = clean and check["undecided"] == 0 and check["stored"] == len(res.sent) and not res.failed
    note = (
        f"**{rate:,.0f} decisions/s** (target ≥ 500: {'met' if ok_rate else 'NOT met'}); p50 "
        f"{p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms (target ≤ 100 ms: {'met' if ok_p99 else 'NOT met'}); "
        f"{CLIENTS} clients, {duration:.0f} s after {warmup:.0f} s warm-up; {len(res.acked):,} acknowledged, "
        f"{res.retries} retries, {len(res.failed)} failed; store: {check['stored']:,} stored = "
        f"{len(res.sent):,} keys sent, lost {check['lost']}, duplicated {check['duplicated']}, duplicate "
        f"decisions {check['duplicate_decisions']}, undecided {check['undecided']} "
        f"({'zero lost or duplicated' if clean else 'NOT clean'})"
    )
    if res.failed:
        note += f"; first failure: {res.failed[0][:120]}"
    per = 1.0 / rate if rate > 0 else float("nan")
    return Row("j", f"POST /v1/applications over HTTP, {label}, {workers} worker{'s' * (workers > 1)}",
               "decision", Timing(per, per), note, ratio=f"p99 {p99 * 1e3:.1f} ms")  # fmt: skip


def _in_process(scorer: Any, root: Path, n: int) -> list[Row]:
    from autofin.api.app import keyring_for_url, open_store
    from autofin.api.service import scoped_key, submit_and_decide
    from autofin.decision.engine import DecisionEngine
    from autofin.store.crypto import PersonalData
    from autofin.store.db import session_factory

    base_app = json.loads(APPROVE.read_text(encoding="utf-8"))
    engine = DecisionEngine.load(scorer)
    apps = [dict(base_app, application_id=f"ref-{i:06d}") for i in range(n)]
    for a in apps[:20]:
        engine.decide(engine.parse(a))
    times: list[float] = []
    for a in apps:
        t0 = time.perf_counter()
        engine.decide(engine.parse(a))
        times.append(time.perf_counter() - t0)
    p50, p99 = statistics.median(times), _pct(times, 0.99)
    rows = [Row("j", "reference: parse + DecisionEngine.decide in process, one core", "decision",
                Timing(statistics.mean(times), min(times)),
                f"{1 / statistics.mean(times):,.0f} decisions/s; p50 {p50 * 1e3:.2f} ms, "
                f"p99 {p99 * 1e3:.2f} ms; the same approve.json variants")]  # fmt: skip
    url = f"sqlite:///{root / 'inproc.db'}"
    db = open_store(url)
    try:
        sessions, keys = session_factory(db), keyring_for_url(db.url)
        personal = PersonalData.model_validate(PERSONAL)
        store_times: list[float] = []
        for i, a in enumerate(apps):
            t0 = time.perf_counter()
            submit_and_decide(
                sessions, engine, keys, idempotency_key=scoped_key("ref", str(i)), dealer_id=DEALER,
                application=a, personal=personal,
            )  # fmt: skip
            store_times.append(time.perf_counter() - t0)
    finally:
        db.dispose()
    mean = statistics.mean(store_times)
    rows.append(Row("j", "reference: submit_and_decide in process (store + decide + audit), SQLite, one core",
                    "decision", Timing(mean, min(store_times)),
                    f"{1 / mean:,.0f} decisions/s; p50 {statistics.median(store_times) * 1e3:.2f} ms, "
                    f"p99 {_pct(store_times, 0.99) * 1e3:.2f} ms"))  # fmt: skip
    return rows


def bench_platform(quick: bool) -> list[Row]:
    from autofin.decision.scoring import demo_scorer
    from autofin.risk.registry import Registry

    warmup, duration = (1.0, 3.0) if quick else (3.0, 10.0)
    rows: list[Row] = []
    root = Path(tempfile.mkdtemp(prefix="autofin-bench-j-"))
    try:
        scorer = demo_scorer(Registry(root / "models"))
        tokens = root / "tokens.json"
        tokens.write_text(json.dumps({TOKEN: {"name": DEALER, "role": "dealer", "dealer_id": DEALER}}))
        env = {
            **os.environ,
            "AUTOFIN_MODELS": str(root / "models"),
            "AUTOFIN_API_TOKENS_FILE": str(tokens),
            "AUTOFIN_API_RATE": "1000000",
            "AUTOFIN_API_BURST": "1000000",
            "AUTOFIN_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        }
        rows += _in_process(scorer, root, 300 if quick else 1_000)
        for workers in (1, 2):
            url = f"sqlite:///{root / f'bench-{workers}.db'}"
            rows.append(_http_row("SQLite", url, workers, env, root, warmup, duration))
        if _pg_reachable():
            import psycopg

            for workers in (1, 2):
                name = f"autofin_bench_{uuid.uuid4().hex[:12]}"
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                try:
                    url = PG_URL.rsplit("/", 1)[0] + "/" + name
                    rows.append(_http_row("PostgreSQL", url, workers, env, root, warmup, duration))
                finally:
                    with psycopg.connect(PG_URL, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            rows.append(Row("j", "POST /v1/applications over HTTP, PostgreSQL", "decision", None,
                            f"skipped: PostgreSQL not reachable at {PG_URL}"))  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ref = rows[0].timing
    for r in rows[2:]:
        if ref is not None and r.timing is not None and r.timing.median == r.timing.median:
            r.ratio += f"; {r.timing.median / ref.median:.1f}× in-process time"
    return rows
