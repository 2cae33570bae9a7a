"""Benchmarks for `make bench`: each `bench_*.py` module prints its own tables.

A module exposes `run() -> list[Table]`; the runner prints them all with the
machine's core count, so figures can be read as ratios measured in one run.
"""
