"""Benchmarks: load generators and their reports (never timed assertions in tests)."""
