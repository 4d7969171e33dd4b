"""Read a catalogue directory from disk into typed models, with every error pointing at file and line.

Layout (see docs/catalogue-checks.md)::

    catalog/
      catalogue.yaml        version, and optional residual_limits, known_models, segments, rate_caps
      rate_tables/*.yaml    one RateTable per file
      products/*.yaml       one Product per file
      services/*.yaml       one Service per file
      promotions/*.yaml     one Promotion per file
      jurisdictions/*.yaml  one JurisdictionPack per file, named by its code (CN.yaml, US.yaml)
      segments/*.yaml       segmentation schemes: not read here, owned by :mod:`autofin.segments.rules`

Each item's ``id`` must equal its file name without ``.yaml``. A missing sub-directory is an empty
section. ``catalogue.yaml`` keys besides ``version`` are *settings* that the checker reads; they are
not part of :class:`~autofin.catalog.models.Catalogue` and are returned as :class:`CatalogueExtras`:

* ``residual_limits``: the maximum balloon (and closed-end lease residual) as a fraction of the vehicle
  price, by condition and term: ``{new: {36: 0.55, 48: 0.45}, used: {36: 0.40}}``;
* ``known_models``: brand → model names, to check vehicle filters of products, services, promotions;
* ``segments``: the segment names products and promotions may refer to;
* ``rate_caps``: the catalogue-wide ceiling on the all-in annual rate by jurisdiction,
  ``{CN: 0.24, US: 0.36}`` (the jurisdiction packs' legal caps apply on top; docs/pricing-caps.md);
* ``dealer_markup``: the default dealer-markup policy by jurisdiction (caps by term, participation,
  channels) and ``rate_lock_days``, how long a quote's buy rate is honoured at contract time. These two
  are part of :class:`~autofin.catalog.models.Catalogue` (quoting needs them).

Every problem raises :class:`CatalogueError` (an :class:`autofin.errors.ValidationError`) whose message
reads ``products/green-nev.yaml:14: terms.2: Input should be less than or equal to 120 (got 150)``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from autofin.catalog.models import (
    Catalogue,
    DealerMarkupPolicy,
    JurisdictionPack,
    Product,
    Promotion,
    RateTable,
    Service,
)
from autofin.errors import AutofinError, ValidationError

__all__ = [
    "OWNED_ELSEWHERE",
    "SECTIONS",
    "CatalogueError",
    "CatalogueExtras",
    "LineIndex",
    "default_catalogue_dir",
    "load_catalogue",
    "load_catalogue_with_extras",
]

CATALOGUE_FILE = "catalogue.yaml"

#: sub-directory → (source kind used in ``Catalogue.sources`` keys, model)
SECTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    "rate_tables": ("rate_table", RateTable),
    "products": ("product", Product),
    "services": ("service", Service),
    "promotions": ("promotion", Promotion),
    "jurisdictions": ("jurisdiction", JurisdictionPack),
}

#: sub-directories of a catalogue directory that other packages read (the loader skips them):
#: directory → the module that owns it.
OWNED_ELSEWHERE: dict[str, str] = {
    "segments": "autofin.segments.rules",
    "pricing": "autofin.pricing.spec",
    "policy": "autofin.decision.policy",
}
_EXPECTED_DIRS = ", ".join([*SECTIONS, *OWNED_ELSEWHERE])

Path_ = tuple[str, ...]
"""A key path inside one YAML document: mapping keys and list indices, all as strings."""


class CatalogueError(ValidationError):
    """A catalogue file is unreadable, malformed or invalid.

    Attributes (besides ``field``, ``value``, ``rule``): ``file``, the path relative to the catalogue
    directory (``products/green-nev.yaml``), and ``line``, 1-based.
    """

    def __init__(self, file: str, line: int, field: str, value: Any, rule: str) -> None:
        self.file = file
        self.line = line
        super().__init__(field, value, rule)

    @property
    def message(self) -> str:
        where = self.field or "input"
        return f"{self.file}:{self.line}: {where}: {self.rule} (got {_short(self.value)})"


class _Missing:
    """The value of a required key that is absent (prints as ``nothing``)."""

    def __repr__(self) -> str:
        return "nothing"

    __str__ = __repr__


MISSING: Any = _Missing()


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class LineIndex:
    """Where each key of one YAML file is: key path → 1-based line."""

    file: str
    lines: dict[Path_, int]

    def line(self, *path: object) -> int:
        """The line of the longest prefix of ``path`` present in the file (1 if none)."""
        parts = tuple(str(p) for p in path)
        while parts:
            found = self.lines.get(parts)
            if found is not None:
                return found
            parts = parts[:-1]
        return self.lines.get((), 1)


@dataclass(frozen=True)
class CatalogueExtras:
    """What ``catalogue.yaml`` says besides ``version``, and where every key of every file is.

    ``residual_limits`` maps condition → term → maximum balloon as a fraction of price; ``rate_caps``
    maps jurisdiction → maximum annual rate (decimal); ``segments`` is ``None`` when not given (no
    segment check). ``index`` maps a source key (``"product:<id>"``, ``"catalogue"``) to its
    :class:`LineIndex`.
    """

    root: Path | None = None
    residual_limits: dict[str, dict[int, Decimal]] = field(default_factory=dict)
    known_models: dict[str, list[str]] = field(default_factory=dict)
    segments: list[str] | None = None
    rate_caps: dict[str, Decimal] = field(default_factory=dict)
    index: dict[str, LineIndex] = field(default_factory=dict)


class _Settings(BaseModel):
    """``catalogue.yaml``: validated here, not in models.py, because only the loader and checker use it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[str, Field(min_length=1)]
    residual_limits: dict[
        Literal["new", "used"],
        dict[Annotated[int, Field(ge=1, le=120)], Annotated[Decimal, Field(ge=0, le=1)]],
    ] = Field(default_factory=dict)
    known_models: dict[str, list[str]] = Field(default_factory=dict)
    segments: list[str] | None = None
    rate_caps: dict[str, Annotated[Decimal, Field(gt=0, lt=1)]] = Field(default_factory=dict)
    dealer_markup: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], DealerMarkupPolicy] = Field(
        default_factory=dict
    )
    rate_lock_days: Annotated[int, Field(ge=0, le=365)] = 30


def default_catalogue_dir() -> Path:
    """``$AUTOFIN_CATALOG`` if set, else the repository's top-level ``catalog/`` (src layout)."""
    env = os.environ.get("AUTOFIN_CATALOG")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "catalog"


def load_catalogue(path: str | os.PathLike[str] | None = None) -> Catalogue:
    """Load and validate the catalogue in directory ``path`` (default: :func:`default_catalogue_dir`).

    Raises :class:`CatalogueError` naming file, line and field on the first problem found.
    """
    return load_catalogue_with_extras(path)[0]


def load_catalogue_with_extras(
    path: str | os.PathLike[str] | None = None,
) -> tuple[Catalogue, CatalogueExtras]:
    """Like :func:`load_catalogue`, also returning the settings and key→line indexes the checker uses."""
    root = Path(path) if path is not None else default_catalogue_dir()
    if not root.is_dir():
        raise CatalogueError(str(root), 1, "DIR", str(root), "is not a catalogue directory")
    main = root / CATALOGUE_FILE
    if not main.is_file():
        raise CatalogueError(CATALOGUE_FILE, 1, "", None, f"{CATALOGUE_FILE} is missing in {root}")
    _reject_strays(root)

    index: dict[str, LineIndex] = {}
    data, lines = _read_yaml(root, main)
    settings = _validate(_Settings, data, lines)
    assert isinstance(settings, _Settings)
    index["catalogue"] = lines

    items: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    sources: dict[str, str] = {}
    for section, (kind, model) in SECTIONS.items():
        where: dict[str, str] = {}
        for file in _section_files(root / section):
            data, lines = _read_yaml(root, file)
            item = _validate(model, data, lines)
            item_id: str = getattr(item, "id")  # noqa: B009 - every section model has an id
            id_line = lines.line("id")
            if item_id in where:
                raise CatalogueError(
                    lines.file,
                    id_line,
                    "id",
                    item_id,
                    f"duplicate {kind} id: already defined in {where[item_id]}",
                )
            if item_id != file.stem:
                raise CatalogueError(
                    lines.file, id_line, "id", item_id, f"must equal the file name ({file.stem!r})"
                )
            where[item_id] = f"{lines.file}:{id_line}"
            items[section][item_id] = item
            sources[f"{kind}:{item_id}"] = f"{lines.file}:{id_line}"
            index[f"{kind}:{item_id}"] = lines

    catalogue = Catalogue(
        version=settings.version,
        products=items["products"],
        rate_tables=items["rate_tables"],
        services=items["services"],
        promotions=items["promotions"],
        rate_caps=dict(settings.rate_caps),
        jurisdictions=items["jurisdictions"],
        dealer_markup=dict(settings.dealer_markup),
        rate_lock_days=settings.rate_lock_days,
        sources=sources,
    )
    extras = CatalogueExtras(
        root=root,
        residual_limits={k: dict(v) for k, v in settings.residual_limits.items()},
        known_models={k: list(v) for k, v in settings.known_models.items()},
        segments=list(settings.segments) if settings.segments is not None else None,
        rate_caps=dict(settings.rate_caps),
        index=index,
    )
    return catalogue, extras


# -- files -----------------------------------------------------------------------------------------


def _section_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def _reject_strays(root: Path) -> None:
    """YAML the loader would silently skip is an error: a misspelt directory must not hide products."""
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and entry.name in OWNED_ELSEWHERE:  # e.g. segments/: autofin.segments reads it
            continue
        if entry.is_dir() and entry.name not in SECTIONS and not entry.name.startswith("."):
            if any(entry.rglob("*.yaml")) or any(entry.rglob("*.yml")):
                raise CatalogueError(
                    entry.name + "/",
                    1,
                    "",
                    entry.name,
                    f"unknown catalogue directory; expected one of {_EXPECTED_DIRS}",
                )
        elif entry.is_file() and entry.suffix in (".yaml", ".yml") and entry.name != CATALOGUE_FILE:
            raise CatalogueError(
                entry.name, 1, "", entry.name, f"stray YAML file; items belong in {', '.join(SECTIONS)}/"
            )


def _read_yaml(root: Path, file: Path) -> tuple[Any, LineIndex]:
    """Parse ``file``; return its data and the line of every key. Syntax errors carry the YAML mark."""
    rel = file.relative_to(root).as_posix()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(rel, 1, "", rel, f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CatalogueError(rel, 1, "", rel, "is not UTF-8 text") from None

    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem and exc.context_mark is not None:
                problem = f"{exc.context} started on line {exc.context_mark.line + 1}: {exc.problem}"
            raise CatalogueError(rel, line, _field_at(text, line), _line_text(text, line), problem) from None
        except yaml.YAMLError as exc:
            raise CatalogueError(rel, 1, "", rel, f"invalid YAML: {exc}") from None
        if node is None:
            raise CatalogueError(rel, 1, "", None, "the file is empty; expected a mapping")
        lines: dict[Path_, int] = {(): node.start_mark.line + 1}
        _index(rel, node, (), lines)
        if not isinstance(node, yaml.MappingNode):
            raise CatalogueError(rel, node.start_mark.line + 1, "", node.value, "expected a mapping of keys")
        try:
            data = loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise CatalogueError(
                rel, line, _field_at(text, line), _line_text(text, line), exc.problem or "invalid YAML"
            ) from None
        except ValueError as exc:  # e.g. a date like 2026-13-01 matches the resolver but is no date
            path, line = _bad_scalar(loader, node, ())
            raise CatalogueError(rel, line, ".".join(path), _line_text(text, line), str(exc)) from None
    finally:
        loader.dispose()
    return data, LineIndex(rel, lines)


def _index(file: str, node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in seen:
                field = ".".join((*path, name))
                raise CatalogueError(file, line, field, name, f"duplicate key (first on line {seen[name]})")
            seen[name] = line
            lines[(*path, name)] = line
            _index(file, value, (*path, name), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, str(i))] = item.start_mark.line + 1
            _index(file, item, (*path, str(i)), lines)


def _walk_scalars(node: yaml.Node, path: Path_) -> Iterator[tuple[Path_, yaml.ScalarNode]]:
    if isinstance(node, yaml.ScalarNode):
        yield path, node
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _walk_scalars(value, (*path, str(key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk_scalars(item, (*path, str(i)))


def _bad_scalar(loader: yaml.SafeLoader, node: yaml.Node, path: Path_) -> tuple[Path_, int]:
    for where, scalar in _walk_scalars(node, path):
        try:
            loader.construct_object(scalar, deep=True)
        except Exception:
            return where, scalar.start_mark.line + 1
    return path, node.start_mark.line + 1


def _line_text(text: str, line: int) -> str:
    rows = text.splitlines()
    return rows[line - 1].strip() if 0 < line <= len(rows) else ""


_KEY = re.compile(r"^(\s*)(?:-\s+)?([A-Za-z0-9_.\-]+)\s*:")


def _field_at(text: str, line: int) -> str:
    """Best-effort dotted key path of ``line`` in a file YAML could not parse, from indentation."""
    stack: list[tuple[int, str]] = []
    for row in text.splitlines()[:line]:
        m = _KEY.match(row)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
    return ".".join(name for _, name in stack)


# -- validation ------------------------------------------------------------------------------------


def _validate(model: type[BaseModel], data: Any, lines: LineIndex) -> BaseModel:
    if not isinstance(data, Mapping):
        raise CatalogueError(lines.file, lines.line(), "", data, "expected a mapping of keys")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(str(p) for p in err["loc"])
        rule = str(err["msg"]).removeprefix("Value error, ")
        value = MISSING if err["type"] == "missing" else err.get("input")
        return _raise(lines, loc, value, rule)
    except AutofinError as exc:  # a validator raised autofin's own error inside pydantic
        return _raise(lines, tuple(exc.field.split(".")) if exc.field else (), exc.value, exc.rule)


def _raise(lines: LineIndex, loc: Path_, value: Any, rule: str) -> BaseModel:
    raise CatalogueError(lines.file, lines.line(*loc), ".".join(loc), value, rule)
