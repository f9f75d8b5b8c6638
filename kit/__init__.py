"""Instructor tools for the linear_classifiers kit (run as `kit ...` or `python -m kit ...`)."""
import os as _os
import sys as _sys

# The kit uses the course's own `utils` package (utils.check, utils.data_utils,
# utils.vectorization) from its repository, kit.course.KIT_ROOT. The editable install
# (pyproject.toml) makes only `kit` importable everywhere, so a process started outside
# the repository (a Dask scheduler or worker, the Jupyter server running formgrader)
# gets the repository here, once, at the end of its sys.path: nothing it already
# imports is shadowed, and processes that never import kit never see classifiers/ or utils/.
_KIT_ROOT = _os.path.dirname(_os.path.dirname(_os.path.realpath(__file__)))
if _KIT_ROOT not in _sys.path:
    _sys.path.append(_KIT_ROOT)
