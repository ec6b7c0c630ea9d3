"""Benchmarks at realistic scale on PostgreSQL (not run by the test suite): `python -m bench.<name>`."""
