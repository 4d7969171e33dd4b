"""Rule segments as data: segmentation schemes written in YAML, compiled once into two evaluators.

A *scheme* (``catalog/segments/default.yaml`` is the demo; docs/segments-rules.md is the guide) has a
``version`` and a list of ``dimensions``. Each dimension is either

* ``exclusive``: every applicant gets exactly one segment. Segments are tried by ``priority``, highest
  first; the first whose condition holds wins; the one segment marked ``default: true`` (no priority,
  no condition) catches everyone else; or
* ``tags``: multi-label. Every segment whose condition holds applies; overlaps are the point.

A condition is ``{field: {op: value}}`` with ``op`` one of :data:`OPS`, or a combinator ``all: [...]``,
``any: [...]``, ``not: {...}``. Several keys in one mapping (several fields, or several operators on
one field) must all hold. Fields are the columns of the applicant frame
(:func:`autofin.segments.features.applicant_frame`: applicants ⋈ bureau ⋈ vehicles) and the derived
fields of :data:`DERIVED_FIELDS`. Every check happens at load time: an unknown field, a protected
attribute, an unknown operator, a value of the wrong type (a number for a string field, a category the
schema does not allow), a duplicate priority, a missing or second default.

**Nulls.** Conditions use two-valued logic: a comparison with null (``bureau_score`` of a no-file
applicant, a missing derived value) is *false*, for every operator including ``ne`` and ``not_in``;
``not`` negates that false into true; ``is_null: true`` tests for null explicitly. NaN in a number
field counts as null. Both evaluators follow these rules, and a property test holds them together.

**Evaluators.** :meth:`SegmentScheme.assign` (one applicant as a mapping, a few microseconds: the
conditions are compiled into Python closures at load time) and :meth:`SegmentScheme.assign_frame`
(a polars frame, compiled into ``pl.when/then`` expressions: millions of applicants per second).
:meth:`SegmentScheme.explain` says which segment each dimension chose and which condition did it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import operator
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, NamedTuple, Self, TypeAlias, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from autofin.catalog.loader import (
    CatalogueError,
    LineIndex,
    _read_yaml,
    _validate,
    default_catalogue_dir,
    load_catalogue_with_extras,
)
from autofin.catalog.models import Localized
from autofin.data.schemas import TABLES
from autofin.errors import ValidationError
from autofin.segments.features import APPLICANT_TABLES, refuse_protected

__all__ = [
    "COMBINATORS",
    "DERIVED_FIELDS",
    "OPS",
    "AllOf",
    "AnyOf",
    "Compare",
    "Condition",
    "Dimension",
    "Explanation",
    "FieldSpec",
    "Not",
    "SchemeError",
    "Segment",
    "SegmentScheme",
    "applicant_fields",
    "check_catalogue_segments",
    "condition_text",
    "default_scheme_path",
    "load_scheme",
    "parse_scheme",
]

Op: TypeAlias = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null"]
#: Comparison operators, in the order the docs list them.
OPS: Final[tuple[str, ...]] = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null")
#: Keys of a condition mapping that combine conditions rather than name a field.
COMBINATORS: Final[tuple[str, ...]] = ("all", "any", "not")
_ORDERING: Final = frozenset({"gt", "gte", "lt", "lte", "between"})
_SYMBOL: Final = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

FieldKind: TypeAlias = Literal["integer", "number", "string", "bool"]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", min_length=1, max_length=60)]

Row: TypeAlias = Mapping[str, Any]
Getter: TypeAlias = Callable[[Row], Any]
Pred: TypeAlias = Callable[[Row], bool]
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

#: The demo scheme, relative to the catalogue directory.
DEFAULT_SCHEME: Final = Path("segments") / "default.yaml"


class SchemeError(CatalogueError):
    """A segmentation scheme file is unreadable, malformed or invalid.

    Same shape as :class:`~autofin.catalog.loader.CatalogueError` (an
    :class:`autofin.errors.ValidationError`): ``file`` is the path as given (the demo scheme reads
    ``segments/default.yaml``), ``line`` is 1-based, ``field`` the dotted path
    (``dimensions.3.segments.0.when.all.1.bureau_score.gte``), ``rule`` what is wrong.
    """


# -- fields ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """A field conditions may read.

    ``kind`` decides which operators and values are allowed (``integer`` and ``number`` take every
    operator; ``string`` and ``bool`` take eq, ne, in, not_in and is_null). ``values`` lists the
    categories a string field may hold (``None``: any string). ``source`` is the table the column comes
    from, or ``"derived"``; ``inputs`` are the frame columns a derived field reads.
    """

    name: str
    kind: FieldKind
    source: str
    values: tuple[str, ...] | None = None
    nullable: bool = False
    inputs: tuple[str, ...] = ()
    description: str = ""


_DTYPE_KINDS: Final[dict[str, FieldKind]] = {
    "Int64": "integer",
    "Int32": "integer",
    "Float64": "number",
    "String": "string",
    "Boolean": "bool",
    "Bool": "bool",
}


@dataclasses.dataclass(frozen=True)
class _Derived:
    numerator: str
    denominator: str
    scale: float
    description: str


#: Fields computed from the frame's columns; null when an input is null or the denominator is not > 0.
DERIVED_FIELDS: Final[dict[str, _Derived]] = {
    "debt_to_income": _Derived(
        "monthly_debt_payments",
        "monthly_income",
        1.0,
        "existing debt payments / gross income, both CNY per month (a ratio: 0.25 = a quarter of income)",
    ),
    "price_to_income": _Derived(
        "price", "monthly_income", 12.0, "vehicle price / gross annual income (12 × monthly_income), in years"
    ),
}


@functools.cache
def applicant_fields() -> Mapping[str, FieldSpec]:
    """Every field a condition may name: the applicant frame's columns (from the declared schemas of
    :data:`~autofin.segments.features.APPLICANT_TABLES`, without ``applicant_id`` and dates) and
    :data:`DERIVED_FIELDS`. Categories come from the schemas' ``isin`` checks."""
    out: dict[str, FieldSpec] = {}
    for table in APPLICANT_TABLES:
        for name, column in TABLES[table].to_schema().columns.items():
            kind = _DTYPE_KINDS.get(str(column.dtype))
            if name == "applicant_id" or name in out or kind is None:
                continue
            values = next(
                (tuple(c.statistics["allowed_values"]) for c in column.checks if c.name == "isin"), None
            )
            out[name] = FieldSpec(name, kind, table, values, bool(column.nullable))
    for name, d in DERIVED_FIELDS.items():
        out[name] = FieldSpec(
            name, "number", "derived", None, True, (d.numerator, d.denominator), d.description
        )
    return out


# -- conditions ------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Compare(_Frozen):
    """``field op value``. ``value`` is a scalar; a tuple for ``in``/``not_in``; ``(lo, hi)`` for
    ``between`` (``lo <= x < hi``); a bool for ``is_null``."""

    field: str
    op: Op
    value: Any


class AllOf(_Frozen):
    """Every item holds."""

    items: tuple[Condition, ...]


class AnyOf(_Frozen):
    """At least one item holds."""

    items: tuple[Condition, ...]


class Not(_Frozen):
    """The item does not hold (a comparison with null is false, so ``not`` of it is true)."""

    item: Condition


Condition: TypeAlias = Compare | AllOf | AnyOf | Not
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def condition_text(cond: Condition, *, top: bool = True) -> str:
    """A one-line, human-readable form: ``bureau_score >= 660 and debt_to_income < 0.4``."""
    if isinstance(cond, Compare):
        f, v = cond.field, cond.value
        if cond.op == "is_null":
            return f"{f} is null" if v else f"{f} is not null"
        if cond.op == "between":
            return f"{_fmt(v[0])} <= {f} < {_fmt(v[1])}"
        if cond.op in ("in", "not_in"):
            word = "in" if cond.op == "in" else "not in"
            return f"{f} {word} [{', '.join(_fmt(x) for x in v)}]"
        return f"{f} {_SYMBOL[cond.op]} {_fmt(v)}"
    if isinstance(cond, Not):
        return f"not ({condition_text(cond.item)})"
    joiner = " and " if isinstance(cond, AllOf) else " or "
    text = joiner.join(condition_text(c, top=False) for c in cond.items)
    return text if top else f"({text})"


class _ConditionError(Exception):
    def __init__(self, path: tuple[str | int, ...], value: Any, rule: str) -> None:
        super().__init__(rule)
        self.path, self.value, self.rule = path, value, rule


def _fail(loc: tuple[str | int, ...], value: Any, rule: str) -> PydanticValidationError:
    """A pydantic error at ``loc`` relative to the model being validated: raised from a validator,
    pydantic prefixes the enclosing location, so the loader reports the full dotted path and its line."""
    return PydanticValidationError.from_exception_data(
        "SegmentScheme",
        [
            InitErrorDetails(
                type=PydanticCustomError("segments", "{rule}", {"rule": rule}), loc=loc, input=value
            )
        ],
    )


_OP_LIST: Final = ", ".join(OPS)


def _parse(raw: Any, path: tuple[str | int, ...], fields: Mapping[str, FieldSpec]) -> Condition:
    if not isinstance(raw, Mapping) or not raw:
        raise _ConditionError(
            path,
            raw,
            "a condition is a non-empty mapping: {field: {op: value}}, all: [..], any: [..], not: {..}",
        )
    parts: list[Condition] = []
    for key, body in raw.items():
        if not isinstance(key, str):
            raise _ConditionError(
                (*path, str(key)), key, "a condition key must be a field name or all/any/not"
            )
        here = (*path, key)
        if key in ("all", "any"):
            if not isinstance(body, list) or not body:
                raise _ConditionError(here, body, f"'{key}' takes a non-empty list of conditions")
            items = tuple(_parse(item, (*here, i), fields) for i, item in enumerate(body))
            parts.append(AllOf(items=items) if key == "all" else AnyOf(items=items))
        elif key == "not":
            parts.append(Not(item=_parse(body, here, fields)))
        else:
            parts.extend(_parse_field(key, body, here, fields))
    return parts[0] if len(parts) == 1 else AllOf(items=tuple(parts))


def _parse_field(
    name: str, body: Any, path: tuple[str | int, ...], fields: Mapping[str, FieldSpec]
) -> Iterator[Compare]:
    try:
        refuse_protected([name], ".".join(map(str, path)))
    except ValidationError as exc:
        raise _ConditionError(path, name, exc.rule) from None
    spec = fields.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(fields), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise _ConditionError(
            path,
            name,
            "unknown field: not a column of the applicant frame nor a derived field "
            f"({', '.join(DERIVED_FIELDS)}){hint}",
        )
    if not isinstance(body, Mapping) or not body:
        raise _ConditionError(path, body, f"expected {{op: value}} with op one of {_OP_LIST}")
    for op, value in body.items():
        if op not in OPS:
            raise _ConditionError((*path, str(op)), op, f"unknown operator; expected one of {_OP_LIST}")
        yield Compare(field=name, op=op, value=_check_value(spec, op, value, (*path, op)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_scalar(spec: FieldSpec, op: str, value: Any, path: tuple[str | int, ...]) -> Any:
    kind = spec.kind
    if kind == "string":
        if not isinstance(value, str):
            raise _ConditionError(path, value, f"type mismatch: {spec.name} is a string field")
        if spec.values is not None and value not in spec.values:
            raise _ConditionError(path, value, f"{spec.name} is one of {', '.join(spec.values)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _ConditionError(path, value, f"type mismatch: {spec.name} is a true/false field")
        return value
    if not _is_number(value):
        raise _ConditionError(path, value, f"type mismatch: {spec.name} is a {kind} field (a finite number)")
    if kind == "integer" and op not in _ORDERING:
        if not float(value).is_integer():
            raise _ConditionError(path, value, f"{spec.name} is an integer field; {op} needs a whole number")
        return int(value)
    return float(value) if kind == "number" and op in ("eq", "ne", "in", "not_in") else value


def _check_value(spec: FieldSpec, op: str, value: Any, path: tuple[str | int, ...]) -> Any:
    if op == "is_null":
        if not isinstance(value, bool):
            raise _ConditionError(path, value, "is_null takes true or false")
        return value
    if op in _ORDERING and spec.kind not in ("integer", "number"):
        raise _ConditionError(
            path, value, f"type mismatch: {op} needs a numeric field; {spec.name} is {spec.kind}"
        )
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise _ConditionError(path, value, f"{op} takes a non-empty list")
        out = tuple(_check_scalar(spec, op, v, (*path, i)) for i, v in enumerate(value))
        return tuple(dict.fromkeys(out))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _ConditionError(path, value, "between takes [lo, hi]: lo <= x < hi")
        lo, hi = (_check_scalar(spec, op, v, (*path, i)) for i, v in enumerate(value))
        if not lo < hi:
            raise _ConditionError(path, value, "between [lo, hi] needs lo < hi")
        return (lo, hi)
    if isinstance(value, list | dict):
        raise _ConditionError(path, value, f"{op} takes a single value")
    return _check_scalar(spec, op, value, path)


def _referenced(cond: Condition) -> Iterator[str]:
    if isinstance(cond, Compare):
        yield cond.field
    elif isinstance(cond, Not):
        yield from _referenced(cond.item)
    else:
        for c in cond.items:
            yield from _referenced(c)


# -- the scheme ------------------------------------------------------------------------------------


class Segment(_Frozen):
    """One segment of a dimension.

    ``priority`` (exclusive dimensions only): higher is tried first, unique within the dimension.
    ``default`` (exclusive only): the one segment that catches the rest (no ``when``, no priority).
    ``when``: the condition (required except on the default).
    """

    key: Key
    label: Localized
    description: Localized
    priority: int | None = None
    default: bool = False
    when: Condition | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Any:
        if raw is None or isinstance(raw, Compare | AllOf | AnyOf | Not):
            return raw
        try:
            return _parse(raw, (), applicant_fields())
        except _ConditionError as exc:
            raise _fail(exc.path, exc.value, exc.rule) from None


class Dimension(_Frozen):
    """A way of cutting the population: ``exclusive`` (one segment each) or ``tags`` (any number)."""

    key: Key
    label: Localized
    description: Localized | None = None
    mode: Literal["exclusive", "tags"]
    #: every segment key must be one of the catalogue's ``segments`` (see check_catalogue_segments)
    catalogue_segments: bool = False
    segments: Annotated[tuple[Segment, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        keys: dict[str, int] = {}
        priorities: dict[int, int] = {}
        defaults: list[int] = []
        for j, seg in enumerate(self.segments):
            if seg.key in keys:
                raise _fail(
                    ("segments", j, "key"), seg.key, f"duplicate segment key (also segments.{keys[seg.key]})"
                )
            keys[seg.key] = j
            if self.mode == "tags":
                if seg.default:
                    raise _fail(("segments", j, "default"), True, "a tags dimension has no default segment")
                if seg.priority is not None:
                    raise _fail(
                        ("segments", j, "priority"),
                        seg.priority,
                        "tags do not take a priority: every match applies",
                    )
            elif seg.default:
                defaults.append(j)
                if len(defaults) > 1:
                    raise _fail(
                        ("segments", j, "default"),
                        True,
                        f"an exclusive dimension has exactly one default (already segments.{defaults[0]})",
                    )
                if seg.priority is not None:
                    raise _fail(
                        ("segments", j, "priority"),
                        seg.priority,
                        "the default segment takes no priority: it is last",
                    )
                if seg.when is not None:
                    raise _fail(
                        ("segments", j, "when"),
                        condition_text(seg.when),
                        "the default segment takes no condition: it catches the rest",
                    )
                continue
            elif seg.priority is None:
                raise _fail(
                    ("segments", j, "priority"), None, "an exclusive segment needs a priority (higher first)"
                )
            elif seg.priority in priorities:
                raise _fail(
                    ("segments", j, "priority"),
                    seg.priority,
                    f"duplicate priority within the dimension (also segments.{priorities[seg.priority]})",
                )
            else:
                priorities[seg.priority] = j
            if seg.when is None:
                raise _fail(("segments", j, "when"), None, "a segment needs a condition (when)")
        if self.mode == "exclusive" and not defaults:
            raise _fail(
                ("segments",), None, "an exclusive dimension needs exactly one segment with default: true"
            )
        return self

    @property
    def ordered(self) -> tuple[Segment, ...]:
        """Segments in evaluation order: by priority, highest first, the default last (tags: as written)."""
        if self.mode == "tags":
            return self.segments
        rules = sorted((s for s in self.segments if not s.default), key=lambda s: -(s.priority or 0))
        return (*rules, *(s for s in self.segments if s.default))

    @property
    def keys(self) -> tuple[str, ...]:
        """Segment keys as written."""
        return tuple(s.key for s in self.segments)


class Explanation(NamedTuple):
    """Why an applicant is in a segment: the condition that held, with the applicant's values."""

    dimension: str
    segment: str
    condition: str


class SegmentScheme(_Frozen):
    """A validated segmentation scheme with both evaluators compiled.

    Build it with :func:`load_scheme` (a YAML file) or :func:`parse_scheme` (a parsed mapping).
    """

    version: Annotated[str, Field(min_length=1)]
    description: Localized | None = None
    dimensions: Annotated[tuple[Dimension, ...], Field(min_length=1)]

    _source: str = PrivateAttr(default="<mapping>")
    _lines: LineIndex | None = PrivateAttr(default=None)
    _python: tuple[tuple[str, Callable[[Row], str | list[str]]], ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _unique_dimensions(self) -> Self:
        seen: dict[str, int] = {}
        for i, dim in enumerate(self.dimensions):
            if dim.key in seen:
                raise _fail(
                    ("dimensions", i, "key"),
                    dim.key,
                    f"duplicate dimension key (also dimensions.{seen[dim.key]})",
                )
            seen[dim.key] = i
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._python = tuple((d.key, _compile_dimension(d)) for d in self.dimensions)

    # -- introspection

    @property
    def source(self) -> str:
        """Where the scheme was read from (a path, or ``<mapping>``)."""
        return self._source

    @property
    def fields_read(self) -> tuple[str, ...]:
        """The frame columns the scheme reads (derived fields expanded to their inputs), sorted."""
        specs = applicant_fields()
        out: set[str] = set()
        for dim in self.dimensions:
            for seg in dim.segments:
                if seg.when is not None:
                    for name in _referenced(seg.when):
                        spec = specs[name]
                        out.update(spec.inputs or (name,))
        return tuple(sorted(out))

    def dimension(self, key: str) -> Dimension:
        """The dimension ``key``; :class:`ValidationError` if there is none."""
        for dim in self.dimensions:
            if dim.key == key:
                return dim
        raise ValidationError("dimension", key, f"must be one of {', '.join(d.key for d in self.dimensions)}")

    def line(self, *path: object) -> int:
        """The 1-based line of ``path`` (``"dimensions", 2, "segments", 0, "key"``) in the source file."""
        return self._lines.line(*path) if self._lines is not None else 1

    # -- one applicant

    def assign(self, applicant: Row) -> dict[str, str | list[str]]:
        """Segment one applicant: ``{dimension: segment_key}`` (exclusive), ``{dimension: [tags]}`` (tags).

        ``applicant`` maps field names to values (a row of the applicant frame, e.g. from
        ``frame.row(i, named=True)``): amounts in CNY, ``monthly_income`` per month, ``age`` in years,
        ``bureau_score`` None for no file. Every field in :attr:`fields_read` must be present (None is
        a value: null); a missing one raises :class:`ValidationError`.
        """
        try:
            return {key: fn(applicant) for key, fn in self._python}
        except KeyError as exc:
            raise ValidationError(
                f"applicant.{exc.args[0]}",
                None,
                "is read by the segment scheme and must be present (null allowed)",
            ) from None
        except TypeError as exc:
            raise ValidationError("applicant", str(exc), "a field has a value of the wrong type") from None

    def explain(self, applicant: Row) -> list[Explanation]:
        """For audit: per dimension, the segment(s) chosen and the condition that matched, with the
        applicant's values in brackets (``bureau_score >= 660 [702]``). Of an ``any``, only the branches
        that held are shown. The default segment reads ``default: no other segment matched``."""
        out: list[Explanation] = []
        for dim in self.dimensions:
            for seg in dim.ordered:
                if seg.when is None:
                    out.append(Explanation(dim.key, seg.key, "default: no other segment matched"))
                    break
                held, text, _ = _trace(seg.when, applicant)
                if held:
                    out.append(Explanation(dim.key, seg.key, text))
                    if dim.mode == "exclusive":
                        break
        return out

    # -- a frame

    def assign_frame(
        self,
        frame: FrameT,
        *,
        id_column: str | None = "applicant_id",
        tag_columns: bool = True,
    ) -> FrameT:
        """Segment every row of ``frame`` (columns as in the applicant frame, units as in :meth:`assign`).

        Returns ``id_column`` (when not None), then per dimension ``seg_<dimension>``: an ``Enum`` of
        its segment keys (exclusive) or a ``List(String)`` of the tags that apply, in declared order
        (tags), followed, when ``tag_columns``, by one Boolean ``seg_<dimension>__<tag>`` per tag. One
        row per input row, in order. A ``LazyFrame`` in gives a ``LazyFrame`` out (nothing computed).
        Raises :class:`ValidationError` when a column the scheme reads is missing or of the wrong type.
        """
        lazy = frame.lazy()
        self._check_schema(lazy.collect_schema(), id_column)
        head = [pl.col(id_column)] if id_column is not None else []
        first: list[pl.Expr] = []
        second: list[pl.Expr] = []
        order: list[str] = [id_column] if id_column is not None else []
        for dim in self.dimensions:
            name = f"seg_{dim.key}"
            order.append(name)
            if dim.mode == "exclusive":
                first.append(_exclusive_expr(dim).alias(name))
                continue
            flags = [f"{name}__{seg.key}" for seg in dim.segments]
            first.extend(_expr(seg.when).alias(flag) for seg, flag in zip(dim.segments, flags, strict=True))
            second.append(_tags_expr(dim.keys, flags).alias(name))
            if tag_columns:
                order.extend(flags)
        out = lazy.select(*head, *first).with_columns(second).select(order)
        return out if isinstance(frame, pl.LazyFrame) else out.collect()

    def _check_schema(self, schema: pl.Schema, id_column: str | None) -> None:
        specs = applicant_fields()
        wanted = [*([id_column] if id_column is not None else []), *self.fields_read]
        missing = [c for c in wanted if c not in schema]
        if missing:
            raise ValidationError("frame", missing, "must have the columns the scheme reads")
        for name in self.fields_read:
            dtype = schema[name]
            kind = specs[name].kind
            if kind in ("integer", "number"):
                ok = dtype.is_numeric()
            elif kind == "bool":
                ok = dtype == pl.Boolean
            else:
                ok = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
            if not ok:
                raise ValidationError(f"frame.{name}", str(dtype), f"must be a column of {kind} values")


# -- the Python evaluator --------------------------------------------------------------------------


def _getter(name: str) -> Getter:
    derived = DERIVED_FIELDS.get(name)
    if derived is None:
        return operator.itemgetter(name)
    num, den, scale = derived.numerator, derived.denominator, derived.scale

    def ratio(row: Row) -> float | None:
        d = row[den]
        n = row[num]
        if d is None or n is None or not d > 0:
            return None
        x: float = n / (d * scale)
        return x if x == x else None

    return ratio


def _leaf(c: Compare) -> Pred:
    get = _getter(c.field)
    v = c.value
    nan_is_null = applicant_fields()[c.field].kind == "number"
    if c.op == "eq":
        return lambda r: bool(get(r) == v)
    if c.op == "in":
        members = frozenset(v)
        return lambda r: get(r) in members
    if c.op == "ne":
        if nan_is_null:
            return lambda r: (x := get(r)) is not None and x == x and x != v
        return lambda r: (x := get(r)) is not None and x != v
    if c.op == "not_in":
        members = frozenset(v)
        if nan_is_null:
            return lambda r: (x := get(r)) is not None and x == x and x not in members
        return lambda r: (x := get(r)) is not None and x not in members
    if c.op == "gt":
        return lambda r: (x := get(r)) is not None and x > v
    if c.op == "gte":
        return lambda r: (x := get(r)) is not None and x >= v
    if c.op == "lt":
        return lambda r: (x := get(r)) is not None and x < v
    if c.op == "lte":
        return lambda r: (x := get(r)) is not None and x <= v
    if c.op == "between":
        lo, hi = v
        return lambda r: (x := get(r)) is not None and lo <= x < hi
    # is_null
    if nan_is_null:
        if v:
            return lambda r: (x := get(r)) is None or x != x
        return lambda r: (x := get(r)) is not None and x == x
    if v:
        return lambda r: get(r) is None
    return lambda r: get(r) is not None


def _compile(cond: Condition) -> Pred:
    if isinstance(cond, Compare):
        return _leaf(cond)
    if isinstance(cond, Not):
        inner = _compile(cond.item)
        return lambda r: not inner(r)
    preds = tuple(_compile(c) for c in cond.items)
    if isinstance(cond, AllOf):
        if len(preds) == 2:
            a, b = preds
            return lambda r: a(r) and b(r)

        def all_of(r: Row) -> bool:
            for p in preds:  # noqa: SIM110 - a generator in all() is slower on this hot path
                if not p(r):
                    return False
            return True

        return all_of
    if len(preds) == 2:
        a, b = preds
        return lambda r: a(r) or b(r)

    def any_of(r: Row) -> bool:
        for p in preds:  # noqa: SIM110 - a generator in any() is slower on this hot path
            if p(r):
                return True
        return False

    return any_of


def _compile_dimension(dim: Dimension) -> Callable[[Row], str | list[str]]:
    rules = tuple((s.key, _compile(s.when)) for s in dim.ordered if s.when is not None)
    if dim.mode == "tags":

        def tags(r: Row) -> list[str]:
            return [key for key, p in rules if p(r)]

        return tags
    default = next(s.key for s in dim.segments if s.default)
    switch = _switch(dim)
    if switch is not None:
        field, table = switch
        get = operator.itemgetter(field)
        return lambda r: table.get(get(r), default)

    def exclusive(r: Row) -> str:
        for key, p in rules:
            if p(r):
                return key
        return default

    return exclusive


def _switch(dim: Dimension) -> tuple[str, dict[Any, str]] | None:
    """When every rule of an exclusive dimension is ``eq``/``in`` on one string or bool field, a dict
    from value to segment (first in priority order wins) does the same work in one lookup. A null or
    an unlisted value misses the dict and gets the default, as the rules would give."""
    field: str | None = None
    table: dict[Any, str] = {}
    for seg in dim.ordered:
        c = seg.when
        if c is None:
            continue
        if not isinstance(c, Compare) or c.op not in ("eq", "in") or c.field in DERIVED_FIELDS:
            return None
        if applicant_fields()[c.field].kind not in ("string", "bool") or field not in (None, c.field):
            return None
        field = c.field
        for value in c.value if c.op == "in" else (c.value,):
            table.setdefault(value, seg.key)
    return (field, table) if field is not None else None


def _trace(cond: Condition, row: Row) -> tuple[bool, str, bool]:
    """Whether ``cond`` holds for ``row``, the text of the part that decided it, and whether that text
    is compound (joined with and/or: it needs brackets inside another and/or)."""
    if isinstance(cond, Compare):
        value = _getter(cond.field)(row)
        shown = "null" if value is None else _fmt(value)
        return _leaf(cond)(row), f"{condition_text(cond)} [{shown}]", False
    if isinstance(cond, Not):
        held, text, _ = _trace(cond.item, row)
        return not held, f"not ({text})", False
    results = [_trace(c, row) for c in cond.items]
    if isinstance(cond, AllOf):
        held = all(h for h, _, _ in results)
        decisive = results
        joiner = " and "
    else:
        held = any(h for h, _, _ in results)
        decisive = [r for r in results if r[0]] or results  # of an any that held: the branches that did
        joiner = " or "
    parts = [f"({text})" if compound else text for _, text, compound in decisive]
    return held, joiner.join(parts), len(parts) > 1


# -- the polars evaluator --------------------------------------------------------------------------


def _column(name: str) -> pl.Expr:
    spec = applicant_fields()[name]
    derived = DERIVED_FIELDS.get(name)
    if derived is None:
        col = pl.col(name)
        return col.fill_nan(None) if spec.kind == "number" else col
    num = _column(derived.numerator)
    den = _column(derived.denominator)
    return pl.when(den > 0).then(num / (den * derived.scale)).fill_nan(None)


def _leaf_expr(c: Compare) -> pl.Expr:
    x = _column(c.field)
    v = c.value
    numeric = applicant_fields()[c.field].kind in ("integer", "number")
    e: pl.Expr
    match c.op:
        case "eq":
            e = x == v
        case "ne":
            e = x != v
        case "in" | "not_in":
            # polars' is_in wants the exact dtype; equality casts numbers by itself
            e = functools.reduce(lambda a, b: a | b, [x == m for m in v]) if numeric else x.is_in(list(v))
            if c.op == "not_in":
                e = ~e
        case "gt":
            e = x > v
        case "gte":
            e = x >= v
        case "lt":
            e = x < v
        case "lte":
            e = x <= v
        case "between":
            e = (x >= v[0]) & (x < v[1])
        case _:  # is_null
            return x.is_null() if v else x.is_not_null()
    return e.fill_null(False)


def _expr(cond: Condition | None) -> pl.Expr:
    """A Boolean expression, never null (see the module's null rules)."""
    if cond is None:
        return pl.lit(True)
    if isinstance(cond, Compare):
        return _leaf_expr(cond)
    if isinstance(cond, Not):
        return ~_expr(cond.item)
    parts = [_expr(c) for c in cond.items]
    if isinstance(cond, AllOf):
        return functools.reduce(lambda a, b: a & b, parts)
    return functools.reduce(lambda a, b: a | b, parts)


def _exclusive_expr(dim: Dimension) -> pl.Expr:
    """``pl.when/then`` over the segments' positions (cheap integers), then a gather from the keys:
    much faster than building a string per row and casting it to the Enum."""
    keys = dim.keys
    ordered = dim.ordered
    default = pl.lit(keys.index(ordered[-1].key), dtype=pl.UInt32)
    chain: Any = pl
    for seg in ordered[:-1]:
        chain = chain.when(_expr(seg.when)).then(pl.lit(keys.index(seg.key), dtype=pl.UInt32))
    index: pl.Expr = chain.otherwise(default) if len(ordered) > 1 else default
    return pl.lit(pl.Series(keys, dtype=pl.Enum(keys))).gather(index)


#: Up to this many tags, the list column is a gather from all 2**n tag combinations (fast); beyond it,
#: a concat_list of the matching tags (slower, but without a 2**n table).
_MAX_TAGS_FOR_TABLE: Final = 12


def _tags_expr(tags: tuple[str, ...], flags: list[str]) -> pl.Expr:
    """``List(String)`` of the tags whose Boolean column (``flags``, same order) is true."""
    if len(tags) > _MAX_TAGS_FOR_TABLE:
        return pl.concat_list(
            [pl.when(pl.col(f)).then(pl.lit(k)) for k, f in zip(tags, flags, strict=True)]
        ).list.drop_nulls()
    mask = functools.reduce(
        lambda a, b: a | b, [pl.col(f).cast(pl.UInt32) * (1 << i) for i, f in enumerate(flags)]
    )
    table = pl.Series(
        [[k for i, k in enumerate(tags) if m >> i & 1] for m in range(1 << len(tags))],
        dtype=pl.List(pl.String),
    )
    return pl.lit(table).gather(mask)


# -- loading ---------------------------------------------------------------------------------------


def default_scheme_path() -> Path:
    """The demo scheme: ``segments/default.yaml`` in :func:`~autofin.catalog.loader.default_catalogue_dir`."""
    return default_catalogue_dir() / DEFAULT_SCHEME


def parse_scheme(data: Any, *, source: str = "<mapping>", lines: LineIndex | None = None) -> SegmentScheme:
    """Validate an already-parsed scheme mapping (errors as :class:`SchemeError`, line 1 when no
    ``lines`` are given)."""
    index = lines if lines is not None else LineIndex(source, {})
    try:
        scheme = _validate(SegmentScheme, data, index)
    except CatalogueError as exc:
        raise SchemeError(exc.file, exc.line, exc.field, exc.value, exc.rule) from None
    assert isinstance(scheme, SegmentScheme)
    scheme._source = source
    scheme._lines = index
    return scheme


def load_scheme(path: str | Path | None = None, *, catalogue_dir: str | Path | None = None) -> SegmentScheme:
    """Read and validate a scheme file (None: :func:`default_scheme_path`).

    Every problem raises :class:`SchemeError` naming the file, line and dotted path. With
    ``catalogue_dir``, the keys of dimensions marked ``catalogue_segments: true`` are also checked
    against that catalogue's ``segments`` (:func:`check_catalogue_segments`).
    """
    if path is None:
        file = default_scheme_path()
        shown = DEFAULT_SCHEME.as_posix()
    else:
        file = Path(path)
        shown = str(path)
    if not file.is_file():
        raise SchemeError(shown, 1, "", str(file), "is not a segmentation scheme file")
    try:
        data, lines = _read_yaml(file.parent, file)
    except CatalogueError as exc:
        raise SchemeError(shown, exc.line, exc.field, exc.value, exc.rule) from None
    scheme = parse_scheme(data, source=shown, lines=dataclasses.replace(lines, file=shown))
    if catalogue_dir is not None:
        check_catalogue_segments(scheme, catalogue_dir)
    return scheme


def check_catalogue_segments(scheme: SegmentScheme, catalogue_dir: str | Path | None = None) -> None:
    """Check that every segment of a ``catalogue_segments: true`` dimension is a segment key of the
    catalogue (``catalogue.yaml`` ``segments``), so products can be matched to rule segments.

    ``catalogue_dir`` None: the default catalogue. A catalogue without a ``segments`` list checks
    nothing. Raises :class:`SchemeError` at the offending key.
    """
    _, extras = load_catalogue_with_extras(catalogue_dir)
    if extras.segments is None:
        return
    known = set(extras.segments)
    for i, dim in enumerate(scheme.dimensions):
        if not dim.catalogue_segments:
            continue
        for j, seg in enumerate(dim.segments):
            if seg.key not in known:
                path = ("dimensions", i, "segments", j, "key")
                raise SchemeError(
                    scheme.source,
                    scheme.line(*path),
                    ".".join(map(str, path)),
                    seg.key,
                    f"is not a segment of the catalogue ({', '.join(extras.segments)})",
                )
