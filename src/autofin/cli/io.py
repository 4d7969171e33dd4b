"""Shared edges of every ``autofin`` command: read JSON input, print JSON output, fail in one line.

Commands read a file or ``-`` (standard input), print JSON on success, and on any
:class:`autofin.errors.AutofinError` print ``error: <field>: <rule> (got <value>)`` to standard error
and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from autofin.errors import AutofinError, ValidationError

stderr = Console(stderr=True, highlight=False)


def read_json(source: str) -> Any:
    """Parse JSON from the file ``source`` or from standard input when ``source`` is ``-``."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError("FILE", source, f"cannot be read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "input", text[:40], f"is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def run_or_exit(action: Callable[[], None]) -> None:
    """Run a command body; turn an autofin error into one line on stderr and exit status 2."""
    try:
        action()
    except AutofinError as exc:
        stderr.print(f"error: {exc.message}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
