"""The maintainers' performance study of the kit, kept apart from the instructor package.

Run from the repository's root (it is not installed with `kit`):

    python -m bench [--smoke] [--repeats N] [--items 6,7] [--json FILE]

Modules: benchmark (run(): the items asked for, then the table; its docstring lists the
items), losses (items 1-4), grading (items 5-7), report (sizes, rows, side-by-side timing,
the table and the JSON), blocked (the cache-blocked one-pass losses compared with the
vectorized ones). Results and their reading: docs/performance.md.
"""
