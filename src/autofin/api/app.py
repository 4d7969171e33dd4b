"""The FastAPI application: :func:`create_app`.

The decision engine is built once, when the application starts (lifespan), from
:class:`~autofin.api.settings.ApiSettings`; so is the store: the database at ``settings.database_url`` is
migrated to the newest schema, and its engine, session factory and key ring (for personal data) are
kept. The settings, the engine, the store and the rate limiter live on ``app.state``. OpenAPI at
``/openapi.json``, interactive docs at ``/docs``.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from autofin.api.applications import router as applications_router
from autofin.api.auth import RateLimiter
from autofin.api.contracts import router as contracts_router
from autofin.api.docs_ui import install_docs
from autofin.api.problems import PROBLEM_JSON, install_handlers
from autofin.api.reviews import router as reviews_router
from autofin.api.routes import router
from autofin.api.settings import ApiSettings
from autofin.decision.application import Application
from autofin.store.contracts import record_versions
from autofin.store.crypto import KeyRing, load_keyring
from autofin.store.db import make_engine, session_factory, sqlite_path, upgrade
from autofin.store.repository import json_text

API_VERSION = "1.0.0"
#: Threads running endpoint functions at once, per server process (the rest wait in arrival order).
THREADS = 8


def app_from_env() -> FastAPI:
    """The service configured by the environment (:meth:`ApiSettings.from_env`), for
    ``uvicorn --factory autofin.api.app:app_from_env``."""
    return create_app(ApiSettings.from_env())


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The REST service. ``settings`` default: no tokens (every authenticated endpoint answers 401)
    and the demo decision engine."""
    settings = settings if settings is not None else ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = settings.build_engine()
        db = await run_in_threadpool(open_store, settings.database_url)
        app.state.db, app.state.sessions, app.state.keys = db, session_factory(db), keyring_for_url(db.url)
        await run_in_threadpool(audit_versions, app.state.sessions, app.state.engine.stamp.to_dict())
        # Everything loaded so far (engine, catalogue, models, modules) lives as long as the process: keep
        # it out of the cyclic garbage collector's full passes, which would otherwise walk it again and
        # again under load.
        gc.collect()
        gc.freeze()
        # Endpoints are plain functions run in the thread pool; under load they are CPU-bound and share
        # one GIL. Many threads at once only slice each request thinner (latency grows for all, the
        # unluckiest wait for seconds): a few threads, fed first come first served, keep latency even.
        to_thread.current_default_thread_limiter().total_tokens = THREADS
        try:
            yield
        finally:
            db.dispose()

    app = FastAPI(
        title="autofin",
        version=API_VERSION,
        summary="Auto finance: products, quotes and credit decisions.",
        description="Money as strings in major units; rates as annual decimals. Errors are RFC 9457 "
        "`application/problem+json` documents naming the field, the rule and the value.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.rate_per_second, settings.burst, settings.clock)
    install_handlers(app)
    app.include_router(router)
    app.include_router(applications_router)
    app.include_router(contracts_router)
    app.include_router(reviews_router)
    from autofin.web import mount_web  # here: autofin.web imports autofin.api's auth and routes

    mount_web(app)
    install_docs(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            # The decision body is read as raw JSON so that the engine names the field of a bad
            # application; its schema is the Application model's.
            schema = Application.model_json_schema(
                ref_template="#/components/schemas/{model}", mode="validation"
            )
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, sub in schema.pop("$defs", {}).items():
                schemas.setdefault(name, sub)
            schemas["Application"] = schema
            body = doc["paths"]["/v1/decisions"]["post"]["requestBody"]
            body["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Application"}
            submission = schemas["ApplicationSubmission"]["properties"]
            submission["application"] = {
                "$ref": "#/components/schemas/Application",
                "description": submission["application"].get("description", ""),
            }
            _problem_responses(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def open_store(url: str | URL) -> Engine:
    """Migrate the database at ``url`` to the newest schema and return an engine on it (pooled for the
    server's thread pool). JSON columns are written with :func:`autofin.store.repository.json_text`
    (a decision record's canonical text is made once, for its digest and its column)."""
    upgrade(url)
    return make_engine(url, pool_size=10, max_overflow=30, json_serializer=json_text)


def audit_versions(sessions: sessionmaker[Session], stamp: Mapping[str, Any]) -> int:
    """Append an audit entry for each component of the engine's version ``stamp`` that differs from the
    last one recorded (:func:`autofin.store.contracts.record_versions`); returns how many were added."""
    with sessions() as session:
        return len(record_versions(session, stamp))


def keyring_for_url(url: str | URL) -> KeyRing:
    """The key ring of the store at ``url``: ``AUTOFIN_SECRET_KEY``, else the SQLite key file."""
    return load_keyring(sqlite_path(url))


def _problem_responses(doc: dict[str, Any]) -> None:
    """Every error response of the document is ``application/problem+json`` with the Problem schema
    (FastAPI's default 422 body is replaced), and every operation may answer 500."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for ops in doc["paths"].values():
        for op in ops.values():
            responses = op.setdefault("responses", {})
            responses.setdefault("500", {"description": "unexpected error (nothing internal is shown)"})
            for status, response in responses.items():
                if int(status) >= 400:
                    response["content"] = problem
                    if status == "422":
                        response["description"] = "the request is not valid; `errors` names each field"
    schemas = doc["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
