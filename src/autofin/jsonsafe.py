"""Strict-JSON values for analytics outputs: NaN and ±inf become ``None``, keys become strings.

Reports of models and segments carry floats that may be undefined (an empty segment's mean, a
missing baseline); standard JSON has no NaN, so every ``to_dict`` that may hold them passes through
:func:`finite`. :func:`sub` reads a nested object out of stored JSON (a decision's offer, a quote's
contract terms) without failing on a missing or malformed level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["finite", "finite_mapping", "sub"]


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (recursively through mappings,
    lists and tuples; tuples become lists, mapping keys strings)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def finite_mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`finite` of a mapping, typed as the dict it returns."""
    return {str(k): finite(v) for k, v in value.items()}


def sub(mapping: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """The mapping at ``mapping[keys[0]][keys[1]]…``; ``{}`` when a level is missing or is not a
    mapping (``sub(offer, "quote", "contract")`` → the quote's contract terms, or ``{}``)."""
    node: Any = mapping
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}
