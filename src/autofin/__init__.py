"""autofin: an open-source platform for auto finance.

The contract-math engine (:mod:`autofin.finance`) sits on top of :mod:`autofin.money` and
:mod:`autofin.dates`; see ``docs/`` for the user guide and ``../shared/DESIGN.md`` for the map.
"""

__version__ = "0.1.0"
