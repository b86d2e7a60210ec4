"""Benchmarks: `python -m bench.bench_read_logs` (see bench/README.md)."""
