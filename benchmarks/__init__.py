"""Benchmarks: a seeded generator of realistic rule sets and the timing of `planner validate` over a size sweep.

Benchmarks print tables; they never assert wall-clock time (docs/STYLE.md, "Benchmarks per phase").
"""
