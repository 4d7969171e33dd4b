"""Persistence: SQLAlchemy 2 models, Alembic migrations, repositories, PII encryption and the audit ledger.

I/O lives here and only here. A SQLite file (WAL mode) is the embedded default; PostgreSQL (psycopg 3)
is selected with ``AUTOFIN_DATABASE_URL``. See ``docs/platform-store.md``.

- :mod:`autofin.store.db`: URL, engine (per-connection SQLite pragmas), sessions, ``upgrade`` to head.
- :mod:`autofin.store.models`: ``applications``, ``decisions``, ``audit_log``.
- :mod:`autofin.store.crypto`: AES-GCM field encryption with key ids, masking helpers.
- :mod:`autofin.store.audit`: the hash-chained audit ledger (``append``, ``verify``).
- :mod:`autofin.store.repository`: exactly-once application submission, decisions, reads.
"""
