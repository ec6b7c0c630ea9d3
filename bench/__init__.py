"""Benchmarks at scale (not run by the test suite)."""
