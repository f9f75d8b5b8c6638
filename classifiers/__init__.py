"""The code students write: SVM and Softmax losses and the SGD linear classifier.

In the course these files live in `cs231n/classifiers/`, and code written for any edition
(2017-2024) imports its siblings one of three ways: `from cs231n.classifiers.linear_svm
import *` (2017-2020), `from ..classifiers.linear_svm import *` (2021 on), or `from
.linear_svm import ...`. Here the package is a top-level `classifiers`, so each module is
loaded under its own name (`classifiers.linear_svm`, what tracebacks and the grader use)
with its relative imports resolved inside a package named `cs231n.classifiers`, which is
this same package: all three forms find the same modules, and course code drops in
unchanged.
"""
import importlib.util as _util
import os as _os
import sys as _sys
import types as _types
import warnings as _warnings

_COURSE_PACKAGE = "cs231n"
_HERE = _os.path.dirname(_os.path.abspath(__file__))


def _course_names():
    """`cs231n` and `cs231n.classifiers` name this package (unless a real cs231n is imported)."""
    course = _sys.modules.setdefault(_COURSE_PACKAGE, _types.ModuleType(_COURSE_PACKAGE))
    if not hasattr(course, "__path__"):
        course.__path__ = []
    _sys.modules.setdefault(_COURSE_PACKAGE + ".classifiers", _sys.modules[__name__])
    if not hasattr(course, "classifiers"):
        course.classifiers = _sys.modules[__name__]


def _load(name):
    """Import the sibling module `name`, known under both package names.

    Its `__package__` is the course's, so `from ..classifiers.X import *` and `from .X
    import ...` resolve to `cs231n.classifiers.X`, which is the same module object as
    `classifiers.X`. A module that fails to import leaves neither name behind.
    """
    own, course = f"{__name__}.{name}", f"{_COURSE_PACKAGE}.classifiers.{name}"
    if own in _sys.modules:
        return _sys.modules[own]
    spec = _util.spec_from_file_location(own, _os.path.join(_HERE, name + ".py"))
    module = _util.module_from_spec(spec)
    module.__package__ = _COURSE_PACKAGE + ".classifiers"
    _sys.modules[own] = module
    _sys.modules.setdefault(course, module)
    try:
        with _warnings.catch_warnings():  # the two package names differ on purpose
            _warnings.filterwarnings("ignore", r"__package__ != __spec__\.parent", ImportWarning)
            spec.loader.exec_module(module)
    except BaseException:
        _sys.modules.pop(own, None)
        if _sys.modules.get(course) is module:
            del _sys.modules[course]
        raise
    setattr(_sys.modules[__name__], name, module)
    return module


_course_names()
for _name in ("linear_svm", "softmax", "linear_classifier"):
    _load(_name)

from .linear_classifier import LinearClassifier, LinearSVM, Softmax  # noqa: E402
from .linear_svm import svm_loss_naive, svm_loss_vectorized  # noqa: E402
from .softmax import softmax_loss_naive, softmax_loss_vectorized  # noqa: E402

__all__ = [
    "svm_loss_naive", "svm_loss_vectorized",
    "softmax_loss_naive", "softmax_loss_vectorized",
    "LinearClassifier", "LinearSVM", "Softmax",
]
