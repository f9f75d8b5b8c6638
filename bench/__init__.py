"""The maintainers' performance study of the kit, kept apart from the instructor package.

Run from the repository's root (it is not installed with `kit`):

    python -m bench [--smoke] [--repeats N] [--items 6,7] [--json FILE]

Modules: benchmark (the measured items and their table, see its docstring), blocked (the
cache-blocked one-pass losses the benchmark compares with the vectorized ones). Results
and their reading: docs/performance.md.
"""
