"""Strict-JSON values for analytics outputs: NaN and ±inf become ``None``, keys become strings.

Reports of models and segments carry floats that may be undefined (an empty segment's mean, a
missing baseline); standard JSON has no NaN, so every ``to_dict`` that may hold them passes through
:func:`finite`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["finite", "finite_mapping"]


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
