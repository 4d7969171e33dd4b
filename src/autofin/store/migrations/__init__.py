"""Alembic migrations of :mod:`autofin.store` (run with ``autofin db upgrade`` or
:func:`autofin.store.db.upgrade`)."""
