"""Authentication, roles and rate limiting.

Every ``/v1`` endpoint except ``/v1/health`` needs ``Authorization: Bearer <token>``; the token maps to
a :class:`Principal` (see :class:`autofin.api.settings.ApiSettings`). :func:`require` is the dependency
that checks the token (401 when missing or unknown), the role (403) and the principal's rate limit
(429 with ``Retry-After`` in whole seconds).

The rate limit is a token bucket per principal, in process: ``burst`` requests at once, refilled at
``rate_per_second``. A service with several processes limits per process.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from autofin.api.problems import ProblemError

if TYPE_CHECKING:
    from autofin.api.settings import ApiSettings

Role = Literal["dealer", "customer", "underwriter", "analyst", "admin"]
#: Every role, for endpoints open to any authenticated principal.
ALL_ROLES: tuple[Role, ...] = ("dealer", "customer", "underwriter", "analyst", "admin")


class Principal(BaseModel):
    """Who is calling: a name (unique per token, used for rate limiting and logs), a role and, for a
    dealer, the dealer's id (a dealer sees only its own applications)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1)]
    role: Role
    dealer_id: str | None = None

    @model_validator(mode="after")
    def _dealer_has_id(self) -> Self:
        if self.role == "dealer" and not self.dealer_id:
            raise ValueError("a dealer principal needs a dealer_id")
        if self.role != "dealer" and self.dealer_id is not None:
            raise ValueError("only a dealer principal has a dealer_id")
        return self


class RateLimiter:
    """Token buckets per principal name: each holds at most ``burst`` tokens and gains
    ``rate_per_second`` tokens per second of ``clock`` (monotonic seconds); a request takes one."""

    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate_per_second, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name → (tokens, at)
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Take one token for ``name``: 0.0 when allowed, else the seconds until a token is available."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / self.rate


_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`.")


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The principal of the request's bearer token; a 401 problem when it is missing or unknown."""
    settings: ApiSettings = request.app.state.settings
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ProblemError(401, "send an API token: Authorization: Bearer <token>", headers=challenge)
    principal = settings.principal_for(credentials.credentials)
    if principal is None:
        raise ProblemError(401, "the API token is not known", headers=challenge)
    return principal


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency giving the authenticated :class:`Principal` when its role is one of ``roles``
    (any role when none are given); 401, 403 or 429 problems otherwise."""
    allowed = frozenset(roles or ALL_ROLES)

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = authenticate(request, credentials)
        if principal.role not in allowed:
            raise ProblemError(
                403, f"role {principal.role} may not do this; allowed: {', '.join(sorted(allowed))}"
            )
        limiter: RateLimiter = request.app.state.limiter
        wait = limiter.take(principal.name)
        if wait > 0:
            raise ProblemError(
                429,
                f"rate limit of {limiter.rate:g} requests per second exceeded; retry in {wait:.2f} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return principal

    return dependency
