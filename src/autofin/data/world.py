"""The world file: every parameter of the synthetic auto-finance world, in one versioned YAML file.

Layout (see docs/data.md)::

    world:       name, version, currency, start_date, application_months
    population:  the true segments and, per segment, the distributions of applicants, bureau
                 attributes and vehicles (autofin.data.population.PopulationWorld)
    credit:      offers, take-up, approval, the latent default model, delinquency, prepayment,
                 recovery, macro factors and realism targets (autofin.data.credit.CreditWorld)

The default world ships with the package (``worlds/default.yaml``); pass another file to use your own.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from autofin.data.credit import CreditWorld
from autofin.data.population import PopulationWorld
from autofin.errors import ValidationError, from_pydantic
from autofin.money import currency


class WorldHeader(BaseModel):
    """Identity of a world: its name and version are recorded with every data set generated from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    currency: str = "CNY"
    start_date: dt.date
    application_months: Annotated[int, Field(ge=1, le=120)] = 12


class World(BaseModel):
    """A whole world file, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    world: WorldHeader
    population: PopulationWorld
    credit: CreditWorld


DEFAULT_WORLD = "default.yaml"


def default_world_path() -> Path:
    """The world file that ships with autofin."""
    return Path(str(resources.files("autofin.data") / "worlds" / DEFAULT_WORLD))


def load_world(path: str | Path | None = None) -> World:
    """Read and validate a world file (the packaged default when ``path`` is None).

    Raises :class:`autofin.errors.ValidationError` naming the first bad field (dotted path).
    """
    file = Path(path) if path is not None else default_world_path()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError("world", str(file), f"cannot be read ({exc.strerror})") from None
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError("world", str(file), f"is not valid YAML: {exc}") from None
    return parse_world(data)


def parse_world(data: Any) -> World:
    """Validate an already-parsed world mapping."""
    if not isinstance(data, dict):
        raise ValidationError(
            "world", type(data).__name__, "must be a mapping with world, population, credit"
        )
    try:
        world = World.model_validate(data)
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None
    currency(world.world.currency)
    return world


def dump_world(world: World) -> str:
    """The world as YAML (written beside every generated data set)."""
    return yaml.safe_dump(world.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
