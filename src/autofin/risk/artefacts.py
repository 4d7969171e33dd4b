"""Models as data: the one way a risk model's JSON artefact is read back.

Every model of :mod:`autofin.risk` (scorecard, challenger, calibrator, behaviour model) is stored as
JSON text — never a pickle — and rebuilt from it; :func:`parse_artefact` is the shared first step.
"""

from __future__ import annotations

import json
from typing import Any

from autofin.errors import ValidationError


def parse_artefact(text: str, what: str) -> Any:
    """Parse the JSON text of a ``what`` artefact; refuse anything that is not JSON, naming ``what``."""
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            what, str(text)[:40], f"must be the JSON written by its to_json ({exc})"
        ) from None
