"""Benchmarks: each module runs with ``python -m bench.<name>`` from the repository root (``make bench``).

Speed and memory are measured here, never in timed tests. The seeded workloads they share
(:mod:`bench.workload`, :mod:`bench.review_data`) are also what the drills and some tests
build their rounds from; bench imports qc, never tests.
"""
