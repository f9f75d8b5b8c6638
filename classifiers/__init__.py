"""The code students write: SVM and Softmax losses and the SGD linear classifier."""
import sys as _sys
import types as _types

from .linear_svm import svm_loss_naive, svm_loss_vectorized
from .softmax import softmax_loss_naive, softmax_loss_vectorized


def _alias_course_package():
    """Let a linear_classifier.py written for the course (which imports from
    `cs231n.classifiers.linear_svm`) drop in unchanged: that name means this package."""
    course = _sys.modules.setdefault("cs231n", _types.ModuleType("cs231n"))
    course.__path__ = getattr(course, "__path__", [])
    _sys.modules.setdefault("cs231n.classifiers", _sys.modules[__name__])
    for name in ("linear_svm", "softmax"):
        _sys.modules.setdefault("cs231n.classifiers." + name, _sys.modules[__name__ + "." + name])


_alias_course_package()

from .linear_classifier import LinearClassifier, LinearSVM, Softmax  # noqa: E402

__all__ = [
    "svm_loss_naive", "svm_loss_vectorized",
    "softmax_loss_naive", "softmax_loss_vectorized",
    "LinearClassifier", "LinearSVM", "Softmax",
]
