"""autofin's REST service (FastAPI): products, quotes, decisions and versions under ``/v1``.

:func:`create_app` builds the application from :class:`ApiSettings` (the decision engine factory, the
API tokens and the rate limit). Errors are RFC 9457 ``application/problem+json`` documents naming the
field, the value and the rule broken. See docs/platform-api.md.
"""

from __future__ import annotations

from autofin.api.app import create_app
from autofin.api.auth import Principal, Role
from autofin.api.settings import ApiSettings

__all__ = ["ApiSettings", "Principal", "Role", "create_app"]
