"""Benchmarks, screenshots and setup helpers; run the Python ones from the repository root as
`python -m scripts.NAME`."""
