"""Helpers for the tests and the benchmark scripts, not shipped with the package: a private Xvfb display
(xvfb.py) and the UI latency probe (probe.py). Scripts import them as `tests.support` when run from the
repository root as `python -m scripts.NAME`."""
