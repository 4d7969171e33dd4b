"""Schemathesis against the service's own OpenAPI document (issue 9: no 5xx and no schema violation
across at least 1,000 generated requests).

The schema is loaded from the app in process (``/openapi.json``); schemathesis starts the app's lifespan
itself. Every operation gets positive and negative generated requests (path, query, headers — the
``Idempotency-Key`` too — and bodies) with a valid admin token; the application endpoints also with a
dealer's. Generated bodies almost never pass the catalogue's and the engine's rules, so a second pass
fixes the body to a valid request (a quote, each example application, each product id, each stored
application id) and generates the rest: the success responses (200, 201, a retry's 200 and the 409 of a
key reused with another body) are checked against their schemas too. Each response is checked: no server error, a documented status code, the documented content
type, headers and a body that matches its schema. Generation is derandomized (stable in CI), without a
deadline and without Hypothesis' example database. The rate limit is set high enough never to answer 429.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_support import QUOTE, TOKENS, bearer, example
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from autofin.api import ApiSettings, create_app
from autofin.decision.engine import DecisionEngine
from store.store_support import PERSONAL

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
#: Generated examples per operation, role and generation mode (positive, negative).
EXAMPLES = 60
#: Generated examples per valid request of the second pass.
EXAMPLES_VALID = 15
#: The issue's floor on the number of requests actually made.
MIN_REQUESTS = 1000
#: Operations a dealer is fuzzed on as well as the admin.
DEALER_PATHS = ("/v1/applications", "/v1/applications/{application_id}", "/v1/decisions")
APPLICATIONS = ("approve", "counter_offer", "prime", "decline")


class Fuzz:
    """Runs generated requests and counts them (per operation, role and mode, and per status)."""

    def __init__(self, schema: schemathesis.BaseSchema) -> None:
        self.operations = {
            (op.method.upper(), op.path): op for op in (r.ok() for r in schema.get_all_operations())
        }
        self.made: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []

    def run(
        self,
        method: str,
        path: str,
        role: str,
        mode: schemathesis.GenerationMode,
        n: int,
        *,
        retry: bool = False,
        **fixed: Any,
    ) -> None:
        """``n`` generated requests of ``mode`` to ``method path`` as ``role``; ``fixed`` goes to
        ``as_strategy`` (``body=``, ``path_parameters=``…); ``retry``: send every request that stored an
        application (201) again, which must answer 200."""
        operation = self.operations[method, path]
        extra = fixed.pop("headers", {})
        fixes = "".join(f", fixed {k}" for k in ("body", *extra) if k in fixed or k in extra)
        label = f"{method} {path} as {role} ({mode.value}{fixes})"
        headers = {**bearer(role), **extra}

        @settings(
            max_examples=n,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, headers=headers, **fixed))
        def run(case: schemathesis.Case) -> None:
            self.made[label] += 1
            response = case.call_and_validate(checks=CHECKS)
            self.statuses[label, response.status_code] += 1
            if retry and response.status_code == 201:
                self.made[label] += 1
                again = case.call_and_validate(checks=CHECKS)
                self.statuses[label, again.status_code] += 1
                assert again.status_code == 200, again.text

        try:
            run()
        except Unsatisfiable:
            assert mode is NEGATIVE  # an operation without parameters has nothing to break
        except (Exception, FailureGroup) as exc:  # all failures are reported together, at the end
            self.failures.append(f"{label}:\n{exc}")

    def report(self) -> str:
        lines = []
        for label, n in sorted(self.made.items()):
            codes = ", ".join(f"{c}: {k}" for (lab, c), k in sorted(self.statuses.items()) if lab == label)
            lines.append(f"  {n:5d}  {label}  [{codes}]")
        return "\n".join(lines)


@pytest.fixture
def schema(engine: DecisionEngine, tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    app = create_app(
        ApiSettings(
            tokens=TOKENS,
            engine_factory=lambda: engine,
            database_url=f"sqlite:///{tmp_path / 'autofin.db'}",
            rate_per_second=1e6,
            burst=1_000_000,
        )
    )
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        asgi.shutdown_lifespans()  # the app's lifespan (store) ends with the test


def test_fuzz_every_operation(schema: schemathesis.BaseSchema, engine: DecisionEngine) -> None:
    fuzz = Fuzz(schema)
    assert len(fuzz.operations) == 15
    started = time.monotonic()
    # 1. everything generated
    for method, path in fuzz.operations:
        for role in ("admin", "dealer") if path in DEALER_PATHS else ("admin",):
            for mode in (POSITIVE, NEGATIVE):
                fuzz.run(method, path, role, mode, EXAMPLES)
    # 2. valid bodies and ids; headers, query and the Idempotency-Key generated
    fuzz.run("POST", "/v1/quotes", "admin", POSITIVE, EXAMPLES_VALID, body=QUOTE)
    for product_id in sorted(engine.catalogue.products):
        fuzz.run(
            "GET",
            "/v1/products/{product_id}",
            "admin",
            POSITIVE,
            1,
            path_parameters={"product_id": product_id},
        )
    personal = PERSONAL.model_dump(mode="json")
    for name in APPLICATIONS:
        for role in ("admin", "dealer"):
            fuzz.run("POST", "/v1/decisions", role, POSITIVE, EXAMPLES_VALID, body=example(name))
            body = {"application": example(name), "personal": personal}
            fuzz.run("POST", "/v1/applications", role, POSITIVE, EXAMPLES_VALID, retry=True, body=body)
    # one key for several bodies: the first stores, the others are 409 problems
    for name in APPLICATIONS:
        body = {"application": example(name), "personal": personal}
        fuzz.run(
            "POST",
            "/v1/applications",
            "dealer",
            POSITIVE,
            1,
            headers={"Idempotency-Key": "one-key"},
            body=body,
        )
    stored = fuzz.operations["GET", "/v1/applications"].schema.app  # the app, for the stored ids
    with asgi.get_client(stored) as client:
        listed = client.get("/v1/applications", headers=bearer("admin")).json()["applications"]
    assert listed, "the valid submissions stored nothing"
    for row in listed:
        for role in ("admin", "dealer"):
            fuzz.run(
                "GET",
                "/v1/applications/{application_id}",
                role,
                POSITIVE,
                1,
                path_parameters={"application_id": row["id"]},
            )
    elapsed = time.monotonic() - started
    total = sum(fuzz.made.values())
    print(f"\nschemathesis: {total} requests in {elapsed:.1f} s\n{fuzz.report()}")
    assert not fuzz.failures, "\n\n".join(fuzz.failures)
    assert total >= MIN_REQUESTS
    seen = {status for _, status in fuzz.statuses}
    assert {200, 201, 404, 409, 422} <= seen
