"""Peer scorecard libraries, each run in its own virtual environment (see :mod:`benchmarks.peers.envs`).

The ``run_*.py`` scripts beside this file are executed with a peer environment's interpreter: they must
import nothing from autofin, only their library, pandas, scikit-learn and :mod:`_common` beside them.
"""
