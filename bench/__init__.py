"""Benchmarks (not part of the test run): `make bench` / `python -m bench --help` for speed and
cost as the data grows (bench/run.py), `python -m bench.mrz_accuracy --help` for the built-in
MRZ reader's accuracy."""
