"""Benchmark scripts (run them as plain scripts; see README.md)."""
