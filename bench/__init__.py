"""Benchmarks of the shared plumbing, reported as ratios against the raw stack measured in the same run."""
