"""Instructor tools for the linear_classifiers kit (run as `kit ...` or `python -m kit ...`)."""
import sys as _sys

from .locations import KIT_ROOT as _KIT_ROOT

# The kit uses the course's own `utils` package (utils.check, utils.data_utils,
# utils.vectorization) from the assignment's root, kit.locations.KIT_ROOT: the repository
# (editable install) or the wheel's kit/_assignment/. Only `kit` is installed as a
# package, so a process started anywhere (a Dask scheduler or worker, the Jupyter server
# running formgrader) gets that root here, once, at the end of its sys.path: nothing it
# already imports is shadowed, and processes that never import kit never see
# classifiers/ or utils/.
if str(_KIT_ROOT) not in _sys.path:
    _sys.path.append(str(_KIT_ROOT))
