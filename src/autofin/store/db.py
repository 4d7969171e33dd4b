"""Database URL, engine, sessions and schema upgrades.

The URL comes from the environment variable ``AUTOFIN_DATABASE_URL``; without it the embedded default is
a SQLite file ``autofin.db`` in the current working directory (resolved to an absolute path when
:func:`database_url` is called). ``postgresql://`` and ``postgres://`` URLs are taken to mean psycopg 3
(``postgresql+psycopg://``).

SQLite connections are configured on every connect: ``journal_mode=WAL`` (readers never block the
writer), ``foreign_keys=ON``, ``busy_timeout`` (milliseconds a writer waits for the write lock before
failing, :data:`SQLITE_BUSY_TIMEOUT_MS`) and ``synchronous=NORMAL`` (in WAL mode a committed transaction
survives a crash or SIGKILL of the process; only an operating-system crash or power loss can lose the
last commits). Transactions are begun by SQLAlchemy, not by the driver, so that a unit of work that
writes can take SQLite's write lock up front (``BEGIN IMMEDIATE``, see :func:`write_connection`) and
read-then-write sequences are serialised instead of failing with "database is locked" half-way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

#: Environment variable holding the database URL.
DATABASE_URL_ENV = "AUTOFIN_DATABASE_URL"
#: File name of the embedded default database (in the current directory).
DEFAULT_SQLITE_FILE = "autofin.db"
#: Milliseconds a SQLite connection waits for a lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option asking for SQLite's write lock when the transaction begins (``BEGIN IMMEDIATE``).
WRITE_OPTION = "autofin_write"


def database_url() -> str:
    """``AUTOFIN_DATABASE_URL`` if set (and not blank), else ``sqlite:///<cwd>/autofin.db``."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return url
    return f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}"


def normalise_url(url: str | URL) -> URL:
    """The URL with PostgreSQL pointed at psycopg 3 (``postgresql+psycopg``)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL (``None`` for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default :func:`database_url`); SQLite gets its pragmas on every connection
    and SQLAlchemy-controlled ``BEGIN``; PostgreSQL uses psycopg 3. ``kwargs`` go to ``create_engine``."""
    parsed = normalise_url(database_url() if url is None else url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions on its own: SQLAlchemy's "begin" event does (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for the repositories: objects stay readable after commit (``expire_on_commit=False``),
    so reading a returned row never opens a transaction behind the caller's back."""
    return sessionmaker(engine, expire_on_commit=False)


def write_connection(session: Session) -> Connection:
    """Bind the session's transaction to a connection that holds the write lock from the start on SQLite
    (``BEGIN IMMEDIATE``); on PostgreSQL an ordinary connection (row locks and constraints serialise).
    Call first thing inside ``with session.begin():``."""
    return session.connection(execution_options={WRITE_OPTION: True})


def alembic_config(url: str | URL) -> Any:
    """An Alembic :class:`~alembic.config.Config` built in code: scripts inside the package, ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["url"] = normalise_url(url)
    return cfg


def upgrade(url: str | URL | None = None, revision: str = "head") -> str | None:
    """Run Alembic ``upgrade`` to ``revision`` (default head) on ``url`` (default :func:`database_url`);
    returns the revision the database is at afterwards."""
    from alembic import command

    target = normalise_url(database_url() if url is None else url)
    cfg = alembic_config(target)
    command.upgrade(cfg, revision)
    return current_revision(target)


def current_revision(url: str | URL) -> str | None:
    """The Alembic revision the database is at (``None`` before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
