"""``autofin serve``: the REST service on uvicorn, with demo tokens and demo applications on first start.

On start: the database (``--database``, else ``AUTOFIN_DATABASE_URL``, else ``./autofin.db``) is migrated
to the newest schema; the tokens come from ``--tokens`` (else ``AUTOFIN_API_TOKENS_FILE``), or a demo
tokens file ``autofin-tokens.json`` is created beside the SQLite database (in the current directory for
other databases) with random tokens for dealers ``dealer-001`` and ``dealer-002``, an underwriter, an
analyst and an admin; when the database holds no application yet, the example applications of
``examples/decisions`` are submitted and decided through the same exactly-once path as the API
(:func:`seed_demo`, fixed idempotency keys: seeding twice stores nothing new; ``--no-seed`` skips it).
The URL and the tokens are printed, then uvicorn serves until interrupted: in this process, or with
``--workers N`` (N > 1) in N worker processes, each running
:func:`autofin.api.app.app_from_env` with the database, tokens file and model registry passed through
the environment (the engine is built, and the demo model trained if absent, once before they start).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from autofin.cli.io import run_or_exit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from autofin.api.auth import Principal
    from autofin.decision.engine import DecisionEngine
    from autofin.store.crypto import KeyRing

#: File name of the demo tokens file.
TOKENS_FILE = "autofin-tokens.json"
#: The example applications seeded on first start (``examples/decisions/<name>.json``) and their dealer.
SEED_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("approve", "dealer-001"),
    ("counter_offer", "dealer-001"),
    ("prime", "dealer-002"),
    ("decline", "dealer-002"),
)
#: (name, role, dealer id) of the demo principals.
DEMO_PRINCIPALS: tuple[tuple[str, str, str | None], ...] = (
    ("dealer-001", "dealer", "dealer-001"),
    ("dealer-002", "dealer", "dealer-002"),
    ("underwriter", "underwriter", None),
    ("analyst", "analyst", None),
    ("admin", "admin", None),
)


def examples_dir() -> Path:
    """``examples/decisions`` of the source tree (the demo applications; absent from an installed
    wheel, where nothing is seeded)."""
    return Path(__file__).resolve().parents[3] / "examples" / "decisions"


def default_tokens_path(database_url: str) -> Path:
    """``autofin-tokens.json`` beside the SQLite database, else in the current directory."""
    from autofin.store.db import sqlite_path

    db = sqlite_path(database_url)
    return (db.parent if db is not None else Path.cwd()) / TOKENS_FILE


def ensure_demo_tokens(path: Path) -> tuple[dict[str, Principal], bool]:
    """The tokens in ``path`` (the ``AUTOFIN_API_TOKENS_FILE`` format); when it does not exist, a new file
    (mode 0600) with a random token for each of :data:`DEMO_PRINCIPALS`. Returns (tokens, created)."""
    from autofin.api.settings import ApiSettings

    created = False
    if not path.exists():
        body = {
            secrets.token_urlsafe(24): {"name": name, "role": role, "dealer_id": dealer}
            for name, role, dealer in DEMO_PRINCIPALS
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".autofin-tokens-", dir=path.parent)  # created 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
        created = True
    return ApiSettings.tokens_from_file(path, source=str(path)), created


@dataclass(frozen=True)
class SeedReport:
    """What :func:`seed_demo` did: applications it stored (``created``) and ones already there."""

    created: int
    existing: int


def demo_personal(name: str) -> Any:
    """Synthetic personal data for the demo application ``name`` (no real person)."""
    from autofin.store.crypto import IncomeDocument, PersonalData

    n = sum(name.encode()) % 10_000
    return PersonalData(
        national_id=f"11010119900307{n:04d}",
        name=f"Demo {name.replace('_', ' ').title()}",
        phone=f"1380000{n:04d}",
        income_documents=(IncomeDocument(kind="payslip", issuer="Demo Employer Co."),),
    )


def seed_demo(
    sessions: sessionmaker[Session], engine: DecisionEngine, keys: KeyRing, source: Path | None = None
) -> SeedReport:
    """Submit and decide the demo applications (:data:`SEED_EXAMPLES`) with fixed idempotency keys
    (``seed:<name>``, scoped to the dealer as the API does): running it again stores nothing new."""
    from autofin.api.service import scoped_key, submit_and_decide

    folder = source if source is not None else examples_dir()
    created = existing = 0
    for name, dealer in SEED_EXAMPLES:
        data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        result = submit_and_decide(
            sessions,
            engine,
            keys,
            idempotency_key=scoped_key(f"dealer:{dealer}", f"seed:{name}"),
            dealer_id=dealer,
            application=data,
            personal=demo_personal(name),
        )
        if result.created:
            created += 1
        else:
            existing += 1
    return SeedReport(created, existing)


def count_applications(sessions: sessionmaker[Session]) -> int:
    from sqlalchemy import func, select

    from autofin.store.models import ApplicationRow

    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ApplicationRow)) or 0)


def serve_command(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8000,
    database: Annotated[
        str | None,
        typer.Option("--database", help="database URL (default: $AUTOFIN_DATABASE_URL, else ./autofin.db)"),
    ] = None,
    models: Annotated[
        Path | None, typer.Option("--models", help="model registry (default: $AUTOFIN_MODELS, else ./models)")
    ] = None,
    tokens: Annotated[
        Path | None,
        typer.Option(
            "--tokens",
            help="API tokens JSON file (default: $AUTOFIN_API_TOKENS_FILE, else a demo file "
            "autofin-tokens.json beside the database, created on first start)",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="uvicorn worker processes (PostgreSQL for more than 1)")
    ] = 1,
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="submit the demo applications into an empty database")
    ] = True,
) -> None:
    """Serve the REST API (uvicorn); seeds demo tokens and applications on first start."""

    def action() -> None:
        import uvicorn

        from autofin.api import ApiSettings, create_app
        from autofin.api.app import keyring_for_url, open_store
        from autofin.api.settings import TOKENS_FILE_ENV
        from autofin.cli.decide import build_engine
        from autofin.store.db import database_url, session_factory

        url = database or database_url()
        tokens_path = tokens or (
            Path(os.environ[TOKENS_FILE_ENV]) if os.environ.get(TOKENS_FILE_ENV) else None
        )
        demo = tokens_path is None
        if tokens_path is None:
            tokens_path = default_tokens_path(url)
            principals, made = ensure_demo_tokens(tokens_path)
        else:
            principals, made = ApiSettings.tokens_from_file(tokens_path, source="--tokens"), False
        env_models = os.environ.get("AUTOFIN_MODELS")
        models_dir = models or (Path(env_models) if env_models else None)
        engine = build_engine(models_dir)
        db = open_store(url)
        try:
            sessions = session_factory(db)
            if seed and count_applications(sessions) == 0 and examples_dir().is_dir():
                report = seed_demo(sessions, engine, keyring_for_url(db.url))
                sys.stdout.write(f"seeded {report.created} demo applications\n")
                from autofin.demo_history import seed_history

                history = seed_history(sessions, engine, keyring_for_url(db.url))
                sys.stdout.write(f"seeded {history.summary()}\n")
        finally:
            db.dispose()
        base = f"http://{host}:{port}"
        sys.stdout.write(
            f"autofin serving at {base}/  (sign in at {base}/login with a token below; "
            f"API docs {base}/docs, health {base}/v1/health)\n"
            f"tokens: {tokens_path}{' (created)' if made else ''}\n"
        )
        for token, p in principals.items() if demo else ():
            who = f"{p.role} {p.dealer_id}" if p.dealer_id else p.role
            sys.stdout.write(f"  {p.name:<14} {who:<22} {token}\n")
        sys.stdout.flush()
        if workers > 1:
            from autofin.api.settings import DATABASE_URL_ENV, MODELS_ENV

            os.environ[DATABASE_URL_ENV] = url
            os.environ[TOKENS_FILE_ENV] = str(tokens_path.resolve())
            if models_dir is not None:
                os.environ[MODELS_ENV] = str(models_dir.resolve())
            uvicorn.run("autofin.api.app:app_from_env", factory=True, host=host, port=port, workers=workers)
            return
        settings = ApiSettings(tokens=principals, engine_factory=lambda: engine, database_url=url)
        uvicorn.run(create_app(settings), host=host, port=port)

    run_or_exit(action)
