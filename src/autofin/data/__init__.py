"""Data: a seeded synthetic auto-finance world with a known ground truth, and public credit data.

See docs/data.md. :mod:`autofin.data.schemas` declares every table; :mod:`autofin.data.world` the
world file; :mod:`autofin.data.synth` the generator; :mod:`autofin.data.public` the loaders of public
credit data sets.
"""
