"""``autofin db`` and ``autofin audit``: schema upgrades and the audit ledger check.

Both take ``--url`` (default: ``AUTOFIN_DATABASE_URL``, else ``sqlite:///./autofin.db``). Errors print one
line and exit 2; ``audit verify`` exits 1 with one line naming the first broken ``seq`` on tampering.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from autofin.cli.io import run_or_exit
from autofin.errors import ValidationError

db_app = typer.Typer(no_args_is_help=True, help="Database: create or upgrade the schema.")
audit_app = typer.Typer(no_args_is_help=True, help="Audit ledger: check the hash chain.")

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="database URL (default: $AUTOFIN_DATABASE_URL, else ./autofin.db)"),
]


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Turn a driver or migration failure into autofin's one-line error naming ``--url``."""
    from alembic.util.exc import CommandError

    try:
        yield
    except (SQLAlchemyError, CommandError) as exc:
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise ValidationError("--url", _shown(url), f"database cannot be used: {first}") from None


@db_app.command("upgrade")
def db_upgrade(url: UrlOption = None) -> None:
    """Migrate the database to the newest schema (creates it when empty)."""
    from autofin.store.db import database_url, upgrade

    def action() -> None:
        target = url or database_url()
        with _database_errors(target):
            revision = upgrade(target)
        sys.stdout.write(f"database {_shown(target)} at revision {revision}\n")

    run_or_exit(action)


@audit_app.command("verify")
def audit_verify(url: UrlOption = None) -> None:
    """Check every link of the audit hash chain; exit 1 naming the first broken entry."""
    from autofin.store import audit
    from autofin.store.db import database_url, make_engine, session_factory

    report: list[audit.VerifyReport] = []

    def action() -> None:
        target = url or database_url()
        with _database_errors(target):
            engine = make_engine(target)
            try:
                with session_factory(engine)() as session:
                    report.append(audit.verify(session))
            finally:
                engine.dispose()

    run_or_exit(action)
    sys.stdout.write(report[0].line() + "\n")
    if not report[0].ok:
        raise typer.Exit(1)
