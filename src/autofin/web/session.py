"""Who is looking at a page: sign-in with an API token, kept in a cookie.

A person signs in at ``/login`` with the same token the REST API takes (``Authorization: Bearer``); the
token is checked against the service's tokens (:meth:`autofin.api.settings.ApiSettings.principal_for`)
and kept in the ``autofin_session`` cookie: ``HttpOnly`` (no script can read it), ``SameSite=Strict``
(no other site's page can send it, so a form on another site cannot act for the user), ``Secure`` when
the page was served over HTTPS, and scoped to ``/``. Sign-out deletes it. Every page request resolves the
cookie again, so a token removed from the service stops working at once, and the API's rate limit
applies per principal exactly as for API calls.

State-changing pages are ``POST`` forms; besides ``SameSite=Strict``, :func:`check_same_origin` refuses
a ``POST`` whose ``Origin`` header names another site (defence in depth for older browsers).

Pages that need a role use :func:`page_principal`: no or unknown cookie → :class:`SignInRequiredError` (the
site answers with a redirect to ``/login?next=…``); a role not allowed → :class:`ForbiddenError` (a 403 page).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from fastapi import Request

from autofin.api.auth import Principal, RateLimiter, Role

if TYPE_CHECKING:
    from autofin.api.settings import ApiSettings

SESSION_COOKIE: Final = "autofin_session"


class SignInRequiredError(Exception):
    """The page needs a signed-in principal and there is none."""


class ForbiddenError(Exception):
    """The signed-in principal's role may not open the page."""

    def __init__(self, role: Role, allowed: frozenset[Role]) -> None:
        super().__init__(f"role {role} may not open this page; allowed: {', '.join(sorted(allowed))}")
        self.role, self.allowed = role, allowed


class TooManyRequestsError(Exception):
    """The principal's rate limit is exhausted; ``retry_after`` whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after} s")
        self.retry_after = retry_after


def token_principal(request: Request, token: str | None) -> Principal | None:
    """The principal of ``token`` under the service's settings, or ``None``."""
    if not token:
        return None
    settings: ApiSettings = request.app.state.settings
    return settings.principal_for(token)


def current_principal(request: Request) -> Principal | None:
    """The signed-in principal of the request's session cookie, or ``None``."""
    return token_principal(request, request.cookies.get(SESSION_COOKIE))


def page_principal(request: Request, *roles: Role) -> Principal:
    """The signed-in principal when its role is one of ``roles`` (any when none), after taking one
    request from its rate limit; raises :class:`SignInRequiredError`, :class:`ForbiddenError` or
    :class:`TooManyRequestsError`."""
    principal = current_principal(request)
    if principal is None:
        raise SignInRequiredError()
    allowed: frozenset[Role] = frozenset(roles) if roles else frozenset(principal_roles())
    if principal.role not in allowed:
        raise ForbiddenError(principal.role, allowed)
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.take(principal.name)
    if wait > 0:
        raise TooManyRequestsError(max(1, math.ceil(wait)))
    return principal


def principal_roles() -> tuple[Role, ...]:
    from autofin.api.auth import ALL_ROLES

    return ALL_ROLES


def check_same_origin(request: Request) -> bool:
    """``False`` when the request carries an ``Origin`` (or, lacking it, a ``Referer``) of another host
    than the one it was sent to."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin != "null"
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after sign-in: ``target`` when it is a path on this site (``/dealer``),
    else ``default`` (never an absolute or protocol-relative URL: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def home_of(role: Role) -> str:
    """The page a principal of ``role`` lands on after sign-in."""
    return {
        "dealer": "/dealer",
        "customer": "/customer/calculator",
        "underwriter": "/underwriter",
        "analyst": "/analyst",
        "admin": "/analyst",
    }[role]
