"""Benchmark of the operator on the embedded local environment (`make bench`)."""
