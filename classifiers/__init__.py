"""The code students write: SVM and Softmax losses and the SGD linear classifier."""
from .linear_svm import svm_loss_naive, svm_loss_vectorized
from .softmax import softmax_loss_naive, softmax_loss_vectorized
from .linear_classifier import LinearClassifier, LinearSVM, Softmax

__all__ = [
    "svm_loss_naive", "svm_loss_vectorized",
    "softmax_loss_naive", "softmax_loss_vectorized",
    "LinearClassifier", "LinearSVM", "Softmax",
]
