"""A directory-backed model registry: versioned credit-risk models stored as data, never as pickles.

Layout (``root`` is ``$AUTOFIN_MODELS`` or ``./models`` unless given)::

    <root>/<name>/roles.json                 {"champion": 3, "challenger": 4, "audit": [...]}
    <root>/<name>/<version>/model.json       the model's own ``to_json()`` (scorecard, challenger, behaviour)
    <root>/<name>/<version>/meta.json        :class:`ModelMeta`: kind, version, created, training-data
                                             SHA-256, features, target, metrics, parents, model SHA-256

* **Versions** are 1, 2, 3, … per name and never overwritten: a version is written in full into a
  temporary directory beside its final place and renamed into place in one step (``os.rename`` of a
  directory is atomic on POSIX and fails when the target is a non-empty directory), so a reader never
  sees half a model, and two writers racing for the same number cannot both win.
* **Data, not code**: ``register`` accepts a model with ``to_json()`` (or its JSON text) and refuses
  anything else, pickles included; ``load`` checks the stored file's SHA-256 against ``meta.json``,
  parses the JSON and rebuilds the model with its class's ``from_json``.
* **Roles** (champion, challenger) live in ``roles.json``, rewritten atomically (temp file +
  ``os.replace``); every promotion appends an audit entry (UTC timestamp, role, version, previous
  version, who), so "which model decided on date D" can be answered later.

Every decision should carry ``f"{name}:{version}"`` of the models it used (see DESIGN.md).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from autofin.errors import ValidationError, from_pydantic

__all__ = [
    "KINDS",
    "ROLES",
    "ModelMeta",
    "Registry",
    "RegistryEntry",
    "default_root",
    "frame_sha256",
    "parents_of",
]

Kind = Literal["scorecard", "challenger", "behaviour"]
Role = Literal["champion", "challenger"]
KINDS: Final[tuple[str, ...]] = ("scorecard", "challenger", "behaviour")
ROLES: Final[tuple[str, ...]] = ("champion", "challenger")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
#: Leading bytes of a pickle stream (protocol 2+ starts with 0x80) — refused outright.
_PICKLE_MAGIC: Final = b"\x80"


class JsonModel(Protocol):
    """What the registry stores: anything that writes itself as JSON text."""

    def to_json(self) -> str: ...


class ModelMeta(BaseModel):
    """Metadata stored beside every model version (``meta.json``).

    ``version``, ``created`` and ``model_sha256`` are filled in by :meth:`Registry.register`; the rest
    comes from the trainer. ``training_data_sha256`` is :func:`frame_sha256` of the training frame
    (features and target), so the exact data a model was fitted on can be identified later.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    features: tuple[str, ...] = Field(min_length=1)
    target: str = Field(min_length=1, description="the target definition in words")
    training_data_sha256: str
    metrics: dict[str, float | int | str | None] = Field(default_factory=dict)
    parents: tuple[str, ...] = Field(default=(), description="'name:version' of models this one derives from")
    description: str = ""
    data: dict[str, Any] = Field(default_factory=dict, description="where the training data came from")
    version: int | None = Field(default=None, ge=1)
    created: dt.datetime | None = None
    model_sha256: str | None = None
    code_version: str | None = None

    @field_validator("training_data_sha256")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not _SHA256.match(value):
            raise ValueError("must be 64 lowercase hex digits (a SHA-256)")
        return value

    @field_validator("parents")
    @classmethod
    def _parents(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for p in value:
            name, _, version = p.rpartition(":")
            if not _NAME.match(name) or not version.isdigit():
                raise ValueError(f"{p!r} must be 'name:version'")
        return value


class RegistryEntry(BaseModel):
    """One row of :meth:`Registry.list`."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    kind: str
    created: dt.datetime
    roles: tuple[str, ...]
    metrics: dict[str, float | int | str | None]


def default_root() -> Path:
    """``$AUTOFIN_MODELS`` if set, else ``./models``."""
    return Path(os.environ.get("AUTOFIN_MODELS") or "models")


def frame_sha256(frame: pl.DataFrame) -> str:
    """SHA-256 of a frame's content: column names, dtypes and values in row order.

    Numbers are hashed as their little-endian float64/int64 bytes with a null mask, everything else as
    UTF-8 text, so the hash depends on the data only — not on the parquet writer or polars version.
    """
    h = hashlib.sha256()
    h.update(f"{frame.height}\x1e".encode())
    for name in frame.columns:
        s = frame.get_column(name)
        h.update(f"{name}\x1f{s.dtype}\x1e".encode())
        h.update(np.asarray(s.is_null().to_numpy(), dtype=np.uint8).tobytes())
        if s.dtype.is_integer() or s.dtype == pl.Boolean:
            h.update(s.cast(pl.Int64).fill_null(0).to_numpy().astype("<i8").tobytes())
        elif s.dtype.is_float():
            h.update(s.cast(pl.Float64).fill_null(0.0).to_numpy().astype("<f8").tobytes())
        else:
            h.update("\x1f".join(s.cast(pl.String).fill_null("").to_list()).encode())
    return h.hexdigest()


def _model_class(kind: str) -> Any:
    if kind == "scorecard":
        from autofin.risk.scorecard import Scorecard

        return Scorecard
    if kind == "challenger":
        from autofin.risk.challenger import Challenger

        return Challenger
    if kind == "behaviour":
        from autofin.risk.behaviour import BehaviourModel

        return BehaviourModel
    raise ValidationError("kind", kind, f"must be one of {', '.join(KINDS)}")


def _model_text(model: JsonModel | str) -> str:
    if isinstance(model, bytes | bytearray | memoryview):
        what = "a pickle" if bytes(model[:1]) == _PICKLE_MAGIC else "bytes"
        raise ValidationError(
            "model", what, "must be JSON text or a model with to_json(); pickles are refused"
        )
    if isinstance(model, str):
        text = model
    else:
        to_json = getattr(model, "to_json", None)
        if not callable(to_json):
            raise ValidationError(
                "model",
                type(model).__name__,
                "must have to_json() (models are stored as data, never pickled)",
            )
        text = to_json()
        if not isinstance(text, str):
            raise ValidationError("model.to_json()", type(text).__name__, "must return JSON text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("model", text[:40], f"is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValidationError("model", type(data).__name__, "must be a JSON object")
    return text


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Registry:
    """Versioned models on disk. See the module docstring for the layout and guarantees.

    >>> reg = Registry("models")
    >>> v = reg.register("auto_pd", scorecard, meta)      # -> 1, 2, …
    >>> reg.promote("auto_pd", v)                         # champion
    >>> model = reg.load("auto_pd", "champion")
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # --- paths and checks -----------------------------------------------------------------------------

    @staticmethod
    def _check_name(name: str) -> str:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(
                "name",
                name,
                "must be 1–100 letters, digits, '_', '-' or '.', starting with a letter or digit",
            )
        return name

    def _dir(self, name: str) -> Path:
        return self.root / self._check_name(name)

    def versions(self, name: str) -> list[int]:
        """Registered versions of ``name``, ascending (empty if none)."""
        folder = self._dir(name)
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())

    def names(self) -> list[str]:
        """Every model name with at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _NAME.match(p.name) and self.versions(p.name)
        )

    def _resolve(self, name: str, version: int | str) -> int:
        if isinstance(version, str) and version in ROLES:
            roles = self.roles(name)
            v = roles.get(version)
            if v is None:
                raise ValidationError("version", version, f"no {version} is set for model {name!r}")
            return int(v)
        if isinstance(version, str) and version.isdigit():
            version = int(version)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValidationError("version", version, "must be a version number, 'champion' or 'challenger'")
        if version not in self.versions(name):
            known = self.versions(name)
            raise ValidationError(
                "version", version, f"is not registered for {name!r} (versions: {known or 'none'})"
            )
        return version

    # --- writing --------------------------------------------------------------------------------------

    def register(self, name: str, model: JsonModel | str, meta: ModelMeta | Mapping[str, Any]) -> int:
        """Store ``model`` (its ``to_json()``) with ``meta`` as the next version of ``name``; return it.

        The model is checked to be JSON (pickles and other bytes are refused) and must be loadable by
        its kind's ``from_json``; ``version``, ``created``, ``model_sha256`` and ``code_version`` are set
        here. Nothing is overwritten: a new number is taken if another writer got there first.
        """
        folder = self._dir(name)
        text = _model_text(model)
        try:
            base = meta if isinstance(meta, ModelMeta) else ModelMeta.model_validate(dict(meta))
        except PydanticValidationError as exc:
            err = from_pydantic(exc)
            raise ValidationError(f"meta.{err.field}", err.value, err.rule) from None
        _model_class(base.kind).from_json(text)  # refuse what cannot be loaded back
        from autofin import __version__

        folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(100):
            version = (self.versions(name) or [0])[-1] + 1
            full = base.model_copy(
                update={
                    "version": version,
                    "created": dt.datetime.now(dt.UTC).replace(microsecond=0),
                    "model_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    "code_version": __version__,
                }
            )
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=folder))
            try:
                (tmp / "model.json").write_text(text, encoding="utf-8")
                (tmp / "meta.json").write_text(full.model_dump_json(indent=2) + "\n", encoding="utf-8")
                final = folder / str(version)
                if final.exists():
                    continue
                os.rename(tmp, final)
                return version
            except OSError:
                if (folder / str(version)).exists():
                    continue
                raise
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        raise ValidationError(
            "name", name, "could not take a new version number (too many concurrent writers)"
        )

    def roles(self, name: str) -> dict[str, Any]:
        """``{"champion": v | None, "challenger": v | None, "audit": [...]}`` of ``name``."""
        path = self._dir(name) / "roles.json"
        if not path.exists():
            return {"champion": None, "challenger": None, "audit": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{name}/roles.json", "text", f"is not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not isinstance(data.get("audit", []), list):
            raise ValidationError(
                f"{name}/roles.json", type(data).__name__, "must be an object with an audit list"
            )
        return {
            "champion": data.get("champion"),
            "challenger": data.get("challenger"),
            "audit": data.get("audit", []),
        }

    def promote(
        self, name: str, version: int | str, role: str = "champion", *, by: str | None = None
    ) -> None:
        """Give ``version`` the ``role`` (champion or challenger) and log it in the audit list.

        A version holds at most one role: promoting the current challenger to champion clears the
        challenger role.
        """
        if role not in ROLES:
            raise ValidationError("role", role, f"must be one of {', '.join(ROLES)}")
        v = self._resolve(name, version)
        roles = self.roles(name)
        previous = roles.get(role)
        roles[role] = v
        other = "challenger" if role == "champion" else "champion"
        if roles.get(other) == v:
            roles[other] = None
        try:
            who = by or getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        roles["audit"].append(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "role": role,
                "version": v,
                "previous": previous,
                "by": who,
            }
        )
        _atomic_write(self._dir(name) / "roles.json", json.dumps(roles, indent=2) + "\n")

    def audit(self, name: str) -> list[dict[str, Any]]:
        """Every promotion of ``name``, oldest first."""
        return list(self.roles(name)["audit"])

    # --- reading --------------------------------------------------------------------------------------

    def meta(self, name: str, version: int | str = "champion") -> ModelMeta:
        """The validated ``meta.json`` of a version (a number, ``"champion"`` or ``"challenger"``)."""
        v = self._resolve(name, version)
        path = self._dir(name) / str(v) / "meta.json"
        try:
            return ModelMeta.model_validate_json(path.read_text(encoding="utf-8"))
        except PydanticValidationError as exc:
            err = from_pydantic(exc)
            raise ValidationError(f"{name}/{v}/meta.json.{err.field}", err.value, err.rule) from None
        except OSError as exc:
            raise ValidationError(
                f"{name}/{v}/meta.json", str(path), f"cannot be read ({exc.strerror})"
            ) from None

    def model_json(self, name: str, version: int | str = "champion") -> str:
        """The stored model text, checked against the SHA-256 recorded at registration."""
        v = self._resolve(name, version)
        meta = self.meta(name, v)
        path = self._dir(name) / str(v) / "model.json"
        raw = path.read_bytes()
        if raw[:1] == _PICKLE_MAGIC:
            raise ValidationError(f"{name}/{v}/model.json", "a pickle", "pickles are refused")
        if meta.model_sha256 is not None and hashlib.sha256(raw).hexdigest() != meta.model_sha256:
            raise ValidationError(
                f"{name}/{v}/model.json", "SHA-256", "does not match meta.json (file changed)"
            )
        text = raw.decode("utf-8")
        return _model_text(text)

    def load(self, name: str, version: int | str = "champion") -> Any:
        """Rebuild a stored model with its kind's ``from_json`` (Scorecard, Challenger, BehaviourModel)."""
        v = self._resolve(name, version)
        meta = self.meta(name, v)
        return _model_class(meta.kind).from_json(self.model_json(name, v))

    def list(self, name: str | None = None) -> list[RegistryEntry]:
        """Every version (of ``name``, or of every model), with its kind, creation time and roles."""
        out: list[RegistryEntry] = []
        for n in [self._check_name(name)] if name is not None else self.names():
            roles = self.roles(n)
            for v in self.versions(n):
                m = self.meta(n, v)
                held = tuple(r for r in ROLES if roles.get(r) == v)
                created = m.created or dt.datetime.fromtimestamp(0, dt.UTC)
                out.append(
                    RegistryEntry(
                        name=n, version=v, kind=m.kind, created=created, roles=held, metrics=m.metrics
                    )
                )
        return out


def parents_of(entries: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    """``[("auto_pd", 3)]`` → ``("auto_pd:3",)`` for :attr:`ModelMeta.parents`."""
    return tuple(f"{n}:{v}" for n, v in entries)
