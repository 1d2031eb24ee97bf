"""Benchmarks (not tests). Run one from the project root with
`python -m bench.NAME [--quick]`; each prints its summary to stderr and one
JSON object as the last line of stdout (see ../shared/BENCHMARKS.md).
"""
