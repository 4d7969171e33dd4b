"""Champion/challenger decision strategies, deterministic traffic assignment and version stamps.

A :class:`Strategy` pins *everything a decision depends on* apart from the application itself: the
catalogue version, the policy tables (name → version and SHA-256), the risk model (``name:version`` in
the model registry), the rate sheet / pricing assumptions and the segment scheme. A
:class:`StrategySet` is one champion plus zero or more challengers, each with a traffic share, and a
*salt*. :func:`assign` sends an application to a strategy by hashing ``salt`` and the application key —
no randomness and no state, so the same key lands on the same strategy on every machine, forever.

Bucket layout (why shrinking or adding a challenger never moves a champion key)::

    0 ─────────── champion ───────────┬── challenger n ──┬ … ┬── challenger 1 ── 1
                                      1 − Σ shares                 1 − share₁

The champion owns ``[0, champion share)``; challengers take slices from the *top* of ``[0, 1)`` in the
order they are listed (the first challenger owns the topmost slice). Therefore

* reducing any challenger's share only grows the champion's interval — a key that was in the champion
  stays in the champion (keys of that challenger, and of challengers listed *after* it, may move);
* appending a new challenger takes its slice from the top of the champion's interval — only champion
  keys move, and only into the new challenger;
* changing the salt reshuffles every key (use it to start a fresh, independent experiment).

A :class:`VersionStamp` is what a decision carries so that it can be replayed bit-for-bit (DESIGN.md):
the exact versions of catalogue, policy tables, models, pricing, segments and code, with a canonical
JSON form and a SHA-256 digest over it. :func:`stamp_for` makes one from a strategy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation, localcontext
from functools import cached_property
from importlib import metadata
from types import MappingProxyType
from typing import Any, Final

from autofin.decision.policy import TableVersion
from autofin.errors import ValidationError

__all__ = [
    "COMMIT_ENV",
    "STAMP_SCHEMA",
    "CodeVersion",
    "ModelRef",
    "PolicyTableRef",
    "Strategy",
    "StrategySet",
    "VersionStamp",
    "assign",
    "bucket",
    "code_version",
    "stamp_for",
]

#: Environment variable a deployment sets to the git commit it was built from (read, never computed).
COMMIT_ENV: Final = "AUTOFIN_GIT_COMMIT"
#: Version of the :class:`VersionStamp` JSON layout; part of the digest.
STAMP_SCHEMA: Final = 1

_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
_SHA256_16: Final = re.compile(r"^[0-9a-f]{16}$")
_COMMIT: Final = re.compile(r"^[0-9a-f]{7,64}$")
#: Buckets are the first 64 bits of the SHA-256, i.e. integers in ``[0, 2**64)``.
_SPACE: Final = 1 << 64


def _name(field_name: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError(
            field_name,
            value,
            "must be 1-100 characters of letters, digits, '_', '.', '-', starting alphanumeric",
        )
    return value


def _text(field_name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field_name, value, "must be a non-empty string")
    return value


def _share(field_name: str, value: object) -> Decimal:
    """A traffic share in ``(0, 1]`` as an exact Decimal (floats go through ``str`` so 0.1 is 0.1)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ValidationError(field_name, value, "must be a number in (0, 1]")
    try:
        share = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValidationError(field_name, value, "must be a number in (0, 1]") from None
    if not share.is_finite() or not Decimal(0) < share <= Decimal(1):
        raise ValidationError(field_name, value, "must be a number in (0, 1]")
    return share


# --------------------------------------------------------------------------------------------- refs


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model in the registry (:mod:`autofin.risk.registry`): its name, integer version (1, 2, …) and,
    when known, ``sha256``: the first 16 hex digits of the SHA-256 of its artefact (the registry's
    ``model_sha256``), so that two different models registered under the same number never share a
    reference. Written ``name:version`` or ``name:version@sha256``."""

    name: str
    version: int
    sha256: str | None = None

    def __post_init__(self) -> None:
        _name("risk_model.name", self.name)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValidationError("risk_model.version", self.version, "must be an integer version >= 1")
        if self.sha256 is not None and not (isinstance(self.sha256, str) and _SHA256_16.match(self.sha256)):
            raise ValidationError("risk_model.sha256", self.sha256, "must be 16 lower-case hex digits")

    def __str__(self) -> str:
        ref = f"{self.name}:{self.version}"
        return ref if self.sha256 is None else f"{ref}@{self.sha256}"

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """``"pd-scorecard:3"`` → ``ModelRef("pd-scorecard", 3)``; ``"pd-scorecard:3@0123456789abcdef"``
        also pins the artefact's content."""
        ref, at, sha = str(text).partition("@")
        name, sep, version = ref.rpartition(":")
        if not sep or not version.isdigit() or (at and not sha):
            raise ValidationError(
                "risk_model", text, "must be 'name:version' or 'name:version@sha256', e.g. 'pd-scorecard:3'"
            )
        return cls(name, int(version), sha or None)

    def pins(self, other: ModelRef) -> bool:
        """Whether ``other`` is the model this reference names: the same name and version, and the same
        content when this reference gives one."""
        return (
            self.name == other.name
            and self.version == other.version
            and (self.sha256 is None or self.sha256 == other.sha256)
        )


@dataclass(frozen=True, slots=True)
class PolicyTableRef:
    """A policy table's version as declared in its file name, and optionally the file's SHA-256.

    With ``sha256`` set, the strategy pins the exact bytes (see :meth:`Strategy.verify_policy`).
    """

    version: str
    sha256: str | None = None

    def __post_init__(self) -> None:
        _text("policy_tables.version", self.version)
        if self.sha256 is not None and not (isinstance(self.sha256, str) and _SHA256.match(self.sha256)):
            raise ValidationError("policy_tables.sha256", self.sha256, "must be 64 lower-case hex digits")

    @classmethod
    def of(cls, table: TableVersion) -> PolicyTableRef:
        """The reference that pins ``table`` exactly (version and bytes)."""
        return cls(table.version, table.sha256)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> PolicyTableRef:
        """From ``{"version": …, "sha256": …}`` or a bare version string."""
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, Mapping) or "version" not in data:
            raise ValidationError("policy_tables", data, "must be a version string or {version, sha256}")
        return cls(data["version"], data.get("sha256"))


def _policy_tables(value: object) -> Mapping[str, PolicyTableRef]:
    if not isinstance(value, Mapping):
        raise ValidationError("policy_tables", value, "must map table name to a version")
    out: dict[str, PolicyTableRef] = {}
    for key in sorted(value):
        _name("policy_tables", key)
        ref = value[key]
        if isinstance(ref, TableVersion):
            ref = PolicyTableRef.of(ref)
        elif not isinstance(ref, PolicyTableRef):
            ref = PolicyTableRef.from_dict(ref)
        out[key] = ref
    return MappingProxyType(out)


# ----------------------------------------------------------------------------------------- strategy


@dataclass(frozen=True, slots=True)
class Strategy:
    """One way of deciding: the versions it runs and the share of traffic it receives.

    Attributes:
        name: identifier (``"champion-2026q3"``); unique within a :class:`StrategySet`.
        description: what differs and why, in words for the risk committee.
        catalogue_version: ``version`` of the catalogue's ``catalogue.yaml``.
        policy_tables: policy table name → :class:`PolicyTableRef` (a bare version string, a
            ``{"version", "sha256"}`` dict or a :class:`~autofin.decision.policy.TableVersion` is
            accepted and converted). Kept sorted by name.
        risk_model: the PD model, ``ModelRef`` or ``"name:version"``.
        pricing_version: the rate sheet / pricing assumptions version (e.g. ``"cn-2026h2:4"``).
        segment_scheme_version: ``version`` of the rule-segment scheme.
        share: traffic share in ``(0, 1]``, exact (``Decimal``; floats are read via ``str``).
    """

    name: str
    description: str
    catalogue_version: str
    policy_tables: Mapping[str, PolicyTableRef]
    risk_model: ModelRef
    pricing_version: str
    segment_scheme_version: str
    share: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        _name("name", self.name)
        if not isinstance(self.description, str):
            raise ValidationError("description", self.description, "must be a string")
        _text("catalogue_version", self.catalogue_version)
        object.__setattr__(self, "policy_tables", _policy_tables(self.policy_tables))
        model: object = self.risk_model
        if isinstance(model, str):
            model = ModelRef.parse(model)
        if not isinstance(model, ModelRef):
            raise ValidationError("risk_model", model, "must be a ModelRef or 'name:version'")
        object.__setattr__(self, "risk_model", model)
        _text("pricing_version", self.pricing_version)
        _text("segment_scheme_version", self.segment_scheme_version)
        object.__setattr__(self, "share", _share("share", self.share))

    def __hash__(self) -> int:
        return hash((self.name, self.to_json()))

    def with_share(self, share: Decimal | float | str) -> Strategy:
        """The same strategy with another traffic share."""
        return replace(self, share=_share("share", share))

    def verify_policy(self, versions: Mapping[str, TableVersion]) -> None:
        """Raise unless the tables a policy engine loaded (``PolicyEngine.versions``) are the pinned ones.

        Every pinned table must be present with the same version (and the same SHA-256 where pinned);
        tables loaded but not pinned are refused too, so nothing unversioned can sneak into a decision.
        """
        for name, ref in self.policy_tables.items():
            got = versions.get(name)
            if got is None:
                raise ValidationError(
                    f"policy_tables.{name}", None, f"strategy {self.name!r} pins it, not loaded"
                )
            if got.version != ref.version or (ref.sha256 is not None and got.sha256 != ref.sha256):
                raise ValidationError(
                    f"policy_tables.{name}",
                    f"{got.version}@{got.sha256[:12]}",
                    f"strategy {self.name!r} pins {ref.version}"
                    + (f"@{ref.sha256[:12]}" if ref.sha256 else ""),
                )
        extra = sorted(set(versions) - set(self.policy_tables))
        if extra:
            raise ValidationError("policy_tables", extra, f"loaded but not pinned by strategy {self.name!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``share`` as a string so it round-trips exactly."""
        return {
            "name": self.name,
            "description": self.description,
            "catalogue_version": self.catalogue_version,
            "policy_tables": {k: v.to_dict() for k, v in self.policy_tables.items()},
            "risk_model": str(self.risk_model),
            "pricing_version": self.pricing_version,
            "segment_scheme_version": self.segment_scheme_version,
            "share": str(self.share),
        }

    def to_json(self) -> str:
        return _canonical(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Strategy:
        """Inverse of :meth:`to_dict`; missing or unknown keys are errors naming the key."""
        keys = {
            "name",
            "description",
            "catalogue_version",
            "policy_tables",
            "risk_model",
            "pricing_version",
            "segment_scheme_version",
            "share",
        }
        _check_keys("strategy", data, required=keys - {"description", "share"}, allowed=keys)
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            catalogue_version=data["catalogue_version"],
            policy_tables=data["policy_tables"],
            risk_model=data["risk_model"],
            pricing_version=data["pricing_version"],
            segment_scheme_version=data["segment_scheme_version"],
            share=data.get("share", Decimal(1)),
        )


@dataclass(frozen=True, slots=True)
class StrategySet:
    """A champion and its challengers, splitting traffic by exact shares that sum to 1.

    ``salt`` names the experiment: the same salt keeps every key on the same strategy; a new salt
    reshuffles them all. See the module docstring for the bucket layout.
    """

    champion: Strategy
    challengers: tuple[Strategy, ...] = ()
    salt: str = "autofin"
    #: ``(upper bound in [0, 2**64], strategy)`` in ascending order; derived, not part of equality.
    _bounds: tuple[tuple[int, Strategy], ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if not isinstance(self.champion, Strategy):
            raise ValidationError("champion", self.champion, "must be a Strategy")
        challengers = tuple(self.challengers)
        for i, c in enumerate(challengers):
            if not isinstance(c, Strategy):
                raise ValidationError(f"challengers[{i}]", c, "must be a Strategy")
        object.__setattr__(self, "challengers", challengers)
        if not isinstance(self.salt, str) or not self.salt or "\x00" in self.salt:
            raise ValidationError("salt", self.salt, "must be a non-empty string without NUL characters")
        names = [s.name for s in self.strategies]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValidationError("name", dupes, "strategy names must be unique within a set")
        total = sum((s.share for s in self.strategies), Decimal(0))
        if total != 1:
            parts = " + ".join(f"{s.name} {s.share}" for s in self.strategies)
            raise ValidationError("share", str(total), f"shares must sum to exactly 1 ({parts})")
        # Integer bounds over the 64-bit bucket space, so assignment is exact integer comparison.
        with localcontext() as ctx:
            ctx.prec = 80
            bounds = sorted((int(high * _SPACE), s) for s, _, high in self.intervals())
        object.__setattr__(self, "_bounds", tuple(bounds))

    @property
    def strategies(self) -> tuple[Strategy, ...]:
        """Champion first, then the challengers in the order given."""
        return (self.champion, *self.challengers)

    def get(self, name: str) -> Strategy:
        """The strategy called ``name``."""
        for s in self.strategies:
            if s.name == name:
                return s
        raise ValidationError("name", name, f"no such strategy (have {[s.name for s in self.strategies]})")

    def intervals(self) -> tuple[tuple[Strategy, Decimal, Decimal], ...]:
        """``(strategy, low, high)`` per strategy: it receives the keys whose bucket is in ``[low, high)``."""
        out = [(self.champion, Decimal(0), self.champion.share)]
        top = Decimal(1)
        for c in self.challengers:
            out.append((c, top - c.share, top))
            top -= c.share
        return tuple(out)

    def assign(self, application_key: str) -> Strategy:
        """The strategy for ``application_key`` (same as :func:`assign`)."""
        return assign(application_key, self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "salt": self.salt,
            "champion": self.champion.to_dict(),
            "challengers": [c.to_dict() for c in self.challengers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StrategySet:
        _check_keys("strategy_set", data, required={"champion"}, allowed={"champion", "challengers", "salt"})
        return cls(
            champion=Strategy.from_dict(data["champion"]),
            challengers=tuple(Strategy.from_dict(c) for c in data.get("challengers", ())),
            salt=data.get("salt", "autofin"),
        )


# --------------------------------------------------------------------------------------- assignment


def _bucket_int(application_key: str, salt: str) -> int:
    # NUL separates salt and key so ("ab", "c") and ("a", "bc") cannot collide; salts may not hold NUL.
    digest = hashlib.sha256(f"{salt}\x00{application_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def bucket(application_key: str, salt: str) -> float:
    """Where ``application_key`` falls in ``[0, 1)`` under ``salt``: the first 64 bits of
    ``SHA-256(salt + NUL + key)`` (UTF-8) divided by 2**64. For display and analysis; :func:`assign`
    compares the exact integer."""
    return _bucket_int(application_key, salt) / _SPACE


def assign(application_key: str, strategies: StrategySet) -> Strategy:
    """The strategy that decides the application identified by ``application_key``.

    Deterministic and stateless: a pure function of the key, the salt, the order of the strategies and
    their shares. Use a key that is stable for the applicant's case (application id, or a hash of the
    applicant's identity if re-applications must meet the same strategy) — never a timestamp.
    """
    if not isinstance(application_key, str) or not application_key:
        raise ValidationError("application_key", application_key, "must be a non-empty string")
    u = _bucket_int(application_key, strategies.salt)
    for high, strategy in strategies._bounds:
        if u < high:
            return strategy
    return strategies._bounds[-1][1]  # unreachable: the top bound is 2**64


# ------------------------------------------------------------------------------------ version stamp


@dataclass(frozen=True, slots=True)
class CodeVersion:
    """The code that decided: autofin's package version and, when the build recorded it, the git commit."""

    package: str
    commit: str | None = None

    def __post_init__(self) -> None:
        _text("code.package", self.package)
        if self.commit is not None and not (isinstance(self.commit, str) and _COMMIT.match(self.commit)):
            raise ValidationError("code.commit", self.commit, "must be 7-64 lower-case hex digits")

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "commit": self.commit}


def code_version(commit: str | None = None, *, environ: Mapping[str, str] | None = None) -> CodeVersion:
    """This process's :class:`CodeVersion`.

    The package version comes from ``importlib.metadata`` (falling back to ``autofin.__version__`` when
    running from a source tree that is not installed). The commit is ``commit`` if given, else the
    :data:`COMMIT_ENV` environment variable (set by the build or deployment), else ``None``. Library
    code never runs ``git``.
    """
    try:
        package = metadata.version("autofin")
    except metadata.PackageNotFoundError:
        from autofin import __version__ as package
    env = os.environ if environ is None else environ
    raw = commit if commit is not None else env.get(COMMIT_ENV)
    return CodeVersion(package, raw.strip().lower() if raw and raw.strip() else None)


@dataclass(frozen=True)
class VersionStamp:
    """Everything a decision needs, besides its inputs, to be replayed bit-for-bit.

    Equality and hashing follow the canonical JSON (:meth:`canonical_json`), whose SHA-256 is
    :attr:`digest`. ``models`` is a tuple of :class:`ModelRef` sorted by name; ``policy_tables`` is
    sorted by table name — so the order a caller builds them in never changes the stamp.
    """

    strategy: str
    catalogue: str
    policy_tables: Mapping[str, PolicyTableRef]
    models: tuple[ModelRef, ...]
    pricing: str
    segments: str
    code: CodeVersion

    def __post_init__(self) -> None:
        _name("strategy", self.strategy)
        _text("catalogue", self.catalogue)
        object.__setattr__(self, "policy_tables", _policy_tables(self.policy_tables))
        models = tuple(ModelRef.parse(m) if isinstance(m, str) else m for m in self.models)
        for m in models:
            if not isinstance(m, ModelRef):
                raise ValidationError("models", m, "must be ModelRef or 'name:version'")
        names = [m.name for m in models]
        if len(set(names)) != len(names):
            raise ValidationError("models", [str(m) for m in models], "each model name may appear once")
        object.__setattr__(self, "models", tuple(sorted(models, key=lambda m: m.name)))
        _text("pricing", self.pricing)
        _text("segments", self.segments)
        if not isinstance(self.code, CodeVersion):
            raise ValidationError("code", self.code, "must be a CodeVersion")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``schema`` (:data:`STAMP_SCHEMA`) first."""
        return {
            "schema": STAMP_SCHEMA,
            "strategy": self.strategy,
            "catalogue": self.catalogue,
            "policy_tables": {k: v.to_dict() for k, v in self.policy_tables.items()},
            "models": [str(m) for m in self.models],
            "pricing": self.pricing,
            "segments": self.segments,
            "code": self.code.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionStamp:
        """Inverse of :meth:`to_dict`; refuses an unknown ``schema`` and unknown or missing keys."""
        keys = {"schema", "strategy", "catalogue", "policy_tables", "models", "pricing", "segments", "code"}
        _check_keys("version_stamp", data, required=keys, allowed=keys)
        if data["schema"] != STAMP_SCHEMA:
            raise ValidationError(
                "schema", data["schema"], f"this autofin reads version stamps of schema {STAMP_SCHEMA}"
            )
        models = data["models"]
        if isinstance(models, str) or not isinstance(models, Sequence):
            raise ValidationError("models", models, "must be a list of 'name:version'")
        code = data["code"]
        if not isinstance(code, Mapping):
            raise ValidationError("code", code, "must be {package, commit}")
        return cls(
            strategy=data["strategy"],
            catalogue=data["catalogue"],
            policy_tables=data["policy_tables"],
            models=tuple(ModelRef.parse(m) for m in models),
            pricing=data["pricing"],
            segments=data["segments"],
            code=CodeVersion(code.get("package", ""), code.get("commit")),
        )

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, ASCII only: the same stamp always gives the same bytes."""
        return _canonical(self.to_dict())

    @cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json` — a short, stable identity for the versions used."""
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VersionStamp):
            return NotImplemented
        return self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)


def stamp_for(
    strategy: Strategy, code_version: CodeVersion, *, extra_models: Iterable[ModelRef] = ()
) -> VersionStamp:
    """The :class:`VersionStamp` of a decision taken by ``strategy`` with ``code_version``.

    ``extra_models``: further models the decision used (e.g. a take-up model), stamped beside the PD model.
    """
    return VersionStamp(
        strategy=strategy.name,
        catalogue=strategy.catalogue_version,
        policy_tables=strategy.policy_tables,
        models=(strategy.risk_model, *extra_models),
        pricing=strategy.pricing_version,
        segments=strategy.segment_scheme_version,
        code=code_version,
    )


# -------------------------------------------------------------------------------------------- helpers


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _check_keys(what: str, data: object, *, required: set[str], allowed: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise ValidationError(what, data, "must be a mapping")
    missing = sorted(required - set(data))
    if missing:
        raise ValidationError(f"{what}.{missing[0]}", None, "is required")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            f"{what}.{unknown[0]}", data[unknown[0]], f"is not a known key ({sorted(allowed)})"
        )
