"""(e) Catalogue: load the demo catalogue, and quote 10,000 random valid structures through it.

Each quote draws a random product, vehicle (within the product's filters), term, down payment and
balloon (where the product has one) with :func:`autofin.catalog.quote.sample_inputs`, then runs the
whole :func:`autofin.catalog.quote.quote` path: every rule check, pricing, the exact schedule (or
lease) from the contract engine and its disclosure rate.
"""

from __future__ import annotations

import random
import time
from datetime import date

from benchmarks.run import Row, Timing, measure


def bench_catalog(quick: bool) -> list[Row]:
    from autofin.catalog.loader import default_catalogue_dir, load_catalogue
    from autofin.catalog.quote import SAMPLE_MARKET, quote, sample_inputs

    directory = default_catalogue_dir()
    load = measure(lambda: load_catalogue(directory), repeat=3 if quick else 5)
    catalogue = load_catalogue(directory)
    n = 1_000 if quick else 10_000
    rng = random.Random(20261101)
    products = sorted(catalogue.products.values(), key=lambda p: p.id)
    start = date(2026, 3, 1)
    requests = []
    for _ in range(n):
        product = rng.choice(products)
        requests.append((product.id, *sample_inputs(product, start, rng)))
    t0 = time.perf_counter()
    for pid, vehicle, structure, applicant in requests:
        quote(catalogue, pid, vehicle, structure, applicant, market=SAMPLE_MARKET)
    seconds = time.perf_counter() - t0
    per = seconds / n
    return [
        Row(
            "e",
            f"load the demo catalogue ({len(catalogue.products)} products, "
            f"{len(catalogue.promotions)} promotions)",
            "load",
            load,
        ),
        Row(
            "e",
            f"quote {n:,} random valid structures (checks, pricing, exact schedule, disclosure)",
            "quote",
            Timing(per, per),
            note=f"{n / seconds:,.0f} quotes/s; all {n:,} in {seconds:.2f} s",
        ),
    ]
