"""Settings of the REST service: the decision engine factory, the API tokens and the rate limit.

Tokens are given as a mapping ``token → Principal``; the settings keep only the SHA-256 digest of each
token (the plain token is never stored), and :meth:`ApiSettings.principal_for` compares digests with
:func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from autofin.api.auth import Principal
from autofin.errors import ValidationError, from_pydantic
from autofin.store.db import database_url as default_database_url

if TYPE_CHECKING:
    from autofin.decision.engine import DecisionEngine

#: The shortest token accepted (characters): shorter ones are guessable.
MIN_TOKEN_LENGTH = 16
#: Environment variables read by :meth:`ApiSettings.from_env`.
TOKENS_FILE_ENV = "AUTOFIN_API_TOKENS_FILE"
RATE_ENV = "AUTOFIN_API_RATE"
BURST_ENV = "AUTOFIN_API_BURST"
MODELS_ENV = "AUTOFIN_MODELS"
DATABASE_URL_ENV = "AUTOFIN_DATABASE_URL"

_TOKENS = TypeAdapter(dict[str, Principal])


def token_digest(token: str) -> bytes:
    """SHA-256 of the token's UTF-8 bytes (the only form in which a token is kept in memory)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass
class ApiSettings:
    """What :func:`autofin.api.create_app` needs.

    ``tokens``: bearer token → :class:`Principal` (init only; digests are kept, see the module docstring;
    each token at least :data:`MIN_TOKEN_LENGTH` characters). ``engine_factory``: builds the decision
    engine once, at startup (default: the demo engine of ``autofin decide`` with the model registry in
    ``models_dir``, trained on first use). ``rate_per_second``: requests a principal may make per second
    on average (tokens refilled per second); ``burst``: the bucket size (requests in a burst).
    ``clock``: monotonic seconds (injectable for tests). ``database_url``: the store (default
    :func:`autofin.store.db.database_url`: ``AUTOFIN_DATABASE_URL``, else ``./autofin.db``), migrated to
    the newest schema when the app starts.
    """

    tokens: InitVar[Mapping[str, Principal] | None] = None
    engine_factory: Callable[[], DecisionEngine] | None = None
    models_dir: Path | None = None
    rate_per_second: float = 20.0
    burst: int = 40
    clock: Callable[[], float] = time.monotonic
    database_url: str = field(default_factory=default_database_url)
    token_digests: tuple[tuple[bytes, Principal], ...] = field(init=False, default=(), repr=False)

    def __post_init__(self, tokens: Mapping[str, Principal] | None) -> None:
        if not self.rate_per_second > 0:
            raise ValidationError("rate_per_second", self.rate_per_second, "must be > 0")
        if self.burst < 1:
            raise ValidationError("burst", self.burst, "must be >= 1")
        digests: list[tuple[bytes, Principal]] = []
        for token, principal in (tokens or {}).items():
            if len(token) < MIN_TOKEN_LENGTH:
                raise ValidationError(
                    f"tokens[{principal.name}]", "…", f"must be at least {MIN_TOKEN_LENGTH} characters"
                )
            digests.append((token_digest(token), principal))
        self.token_digests = tuple(digests)

    def principal_for(self, token: str) -> Principal | None:
        """The principal of a bearer token, or ``None``. Every digest is compared (constant time each),
        so the time taken does not depend on which token matched."""
        given = token_digest(token)
        found: Principal | None = None
        for digest, principal in self.token_digests:
            if hmac.compare_digest(given, digest):
                found = principal
        return found

    def build_engine(self) -> DecisionEngine:
        """The decision engine (``engine_factory`` or the demo engine); called once per app start."""
        if self.engine_factory is not None:
            return self.engine_factory()
        from autofin.cli.decide import build_engine
        from autofin.decision.engine import DecisionEngine

        return cast(DecisionEngine, build_engine(self.models_dir))

    @staticmethod
    def tokens_from_file(path: Path, source: str = TOKENS_FILE_ENV) -> dict[str, Principal]:
        """The tokens of a JSON file ``{"<token>": {"name": …, "role": …, "dealer_id": …}}``; errors
        name ``source`` and never echo a token."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError(source, str(path), f"must name a readable JSON file ({exc})") from None
        try:
            return _TOKENS.validate_python(raw)
        except PydanticValidationError as exc:
            err = from_pydantic(exc)
            # the location starts with the token itself: never echo it
            where = ".".join(err.field.split(".")[1:])
            raise ValidationError(f"{source}: {where}", "…", err.rule) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """Settings from the environment: ``AUTOFIN_API_TOKENS_FILE`` (a JSON file
        ``{"<token>": {"name": …, "role": …, "dealer_id": …}}``; no tokens when unset),
        ``AUTOFIN_API_RATE`` (requests per second), ``AUTOFIN_API_BURST`` (requests),
        ``AUTOFIN_MODELS`` (the model registry of the demo engine) and ``AUTOFIN_DATABASE_URL`` (the
        store; else ``./autofin.db``)."""
        env = os.environ if environ is None else environ
        path = env.get(TOKENS_FILE_ENV)
        tokens = cls.tokens_from_file(Path(path), source=TOKENS_FILE_ENV) if path else {}
        opts: dict[str, float | int] = {}
        for name, key, kind in ((RATE_ENV, "rate_per_second", float), (BURST_ENV, "burst", int)):
            if env.get(name):
                try:
                    opts[key] = kind(env[name])
                except ValueError:
                    raise ValidationError(name, env[name], f"must be a number ({kind.__name__})") from None
        models = env.get(MODELS_ENV)
        url = env.get(DATABASE_URL_ENV, "").strip()
        return cls(
            database_url=url or default_database_url(),
            tokens=tokens,
            models_dir=Path(models) if models else None,
            rate_per_second=float(opts.get("rate_per_second", 20.0)),
            burst=int(opts.get("burst", 40)),
        )
