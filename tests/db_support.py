"""Shared by the tests that run on both databases (store, analytics): a SQLite file, or a fresh
PostgreSQL database that is dropped afterwards.

PostgreSQL: ``127.0.0.1:5432``, user ``postgres``, trust auth, an existing database ``test`` to connect to
for ``CREATE DATABASE`` (override with ``AUTOFIN_TEST_POSTGRES_URL``). The PostgreSQL parameter is
skipped, with the reason, only when that server cannot be reached.

Importable from any test module because pyproject.toml puts ``tests`` on pytest's ``pythonpath``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN = os.environ.get("AUTOFIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_unreachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN}: {str(exc).strip().splitlines()[0]}"


PG_SKIP = _pg_unreachable()

#: ``params`` of a ``db_url`` fixture: ``"sqlite"`` and ``"postgresql"`` (skipped when unreachable).
DB_PARAMS: list[Any] = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(PG_SKIP is not None, reason=PG_SKIP or "")),
]


@contextmanager
def database_url(kind: str, sqlite_file: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind``: ``sqlite_file`` for ``"sqlite"``, else a uniquely
    named PostgreSQL database, dropped on exit."""
    if kind == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    import psycopg

    name = f"autofin_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
