"""RFC 9457 problem details: every error of the service as ``application/problem+json``.

A problem document has ``type`` (a URI reference naming the kind of problem, relative to the service),
``title`` (short, the same for every problem of that type), ``status`` (the HTTP status), ``detail``
(this occurrence, in words), ``instance`` (the request path) and, for bad input, ``errors``: one
``{field, rule, value}`` per broken rule, ``field`` a dotted path into the request body (list items as
``[k]``), or ``query.<name>`` / ``path.<name>`` / ``header.<name>`` for other parts of the request.

Unexpected errors give a 500 problem that names nothing of the code: the exception is logged with an
error id that the problem's ``detail`` repeats, so an operator can find it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from autofin.errors import AutofinError

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "Problem",
    "ProblemError",
    "install_handlers",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("autofin.api")

#: status → (type, title) of the problems the service returns.
_KINDS: dict[int, tuple[str, str]] = {
    400: ("/problems/bad-request", "Bad request"),
    401: ("/problems/unauthorized", "Authentication required"),
    403: ("/problems/forbidden", "Not allowed for this role"),
    404: ("/problems/not-found", "Not found"),
    405: ("/problems/method-not-allowed", "Method not allowed"),
    409: ("/problems/conflict", "Conflict with the stored state"),
    422: ("/problems/invalid-request", "The request is not valid"),
    429: ("/problems/rate-limited", "Too many requests"),
    500: ("/problems/internal", "Internal error"),
}


class FieldError(BaseModel):
    """One broken rule: the field (dotted path), the rule in words, the offending value (``null`` when
    the field is missing or the value is not a scalar)."""

    field: str
    rule: str
    value: Any = None


class Problem(BaseModel):
    """An RFC 9457 problem document (see the module docstring)."""

    type: str = Field(examples=["/problems/invalid-request"])
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] = Field(default_factory=list)


class ProblemError(Exception):
    """Raise to answer with a problem document of ``status`` (``headers`` e.g. ``Retry-After``)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping | list | tuple | set):
        return None  # a whole object or list says nothing more than the field path
    return str(value)


def problem_response(
    request: Request,
    status: int,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The problem document as a response with media type ``application/problem+json``."""
    kind, title = _KINDS.get(status, (f"/problems/http-{status}", "HTTP error"))
    body = Problem(
        type=kind, title=title, status=status, detail=detail, instance=request.url.path, errors=list(errors)
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
    )


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as autofin's field path: ``("body", "structure", "promotions", 1)`` →
    ``structure.promotions[1]``; query, path and header parameters keep their part as a prefix."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


def _rule(err: Mapping[str, Any]) -> str:
    if err.get("type") == "missing":
        return "is required"
    if err.get("type") == "extra_forbidden":
        return "is not a known field"
    return str(err.get("msg", "is not valid")).removeprefix("Value error, ")


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    """FastAPI's request validation errors as :class:`FieldError` rows."""
    out: list[FieldError] = []
    for err in exc.errors():
        missing = err.get("type") == "missing"
        out.append(
            FieldError(
                field=field_path(err.get("loc", ())),
                rule=_rule(err),
                value=None if missing else _scalar(err.get("input")),
            )
        )
    return out


def _detail(errors: Sequence[FieldError]) -> str:
    first = errors[0]
    where = first.field or "request"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.rule}{more}"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.status, exc.detail, exc.errors, exc.headers)


async def _on_autofin(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AutofinError)
    error = FieldError(field=exc.field, rule=exc.rule, value=_scalar(exc.value))
    return problem_response(request, 422, exc.message, [error])


async def _on_request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc) or [FieldError(field="", rule="is not valid")]
    return problem_response(request, 422, _detail(errors), errors)


#: FastAPI's 400 for a body it cannot read (not UTF-8…); the service answers it like malformed JSON.
_UNREADABLE_BODY = "There was an error parsing the body"


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNREADABLE_BODY:
        errors = [FieldError(field="", rule="is not valid JSON (UTF-8)")]
        return problem_response(request, 422, _detail(errors), errors)
    detail = exc.detail if isinstance(exc.detail, str) else _KINDS.get(exc.status_code, ("", "HTTP error"))[1]
    return problem_response(request, exc.status_code, detail, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex
    log.exception("unexpected error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, f"an unexpected error occurred (error id {error_id})")


def install_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(AutofinError, _on_autofin)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
