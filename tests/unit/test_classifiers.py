"""The losses and the SGD classifier against an independent reference and finite differences.

The reference (kit/reference.py, also the grader's) is written differently from
classifiers/ on purpose, so a shared mistake is unlikely. With KIT_STUDENT_DIR set,
these same tests grade a student's folder.
"""
import numpy as np
import pytest

import classifiers
from kit import reference
from classifiers import (LinearClassifier, LinearSVM, Softmax, softmax_loss_naive,
                         softmax_loss_vectorized, svm_loss_naive, svm_loss_vectorized)

SVM_LOSSES = [svm_loss_naive, svm_loss_vectorized]
SOFTMAX_LOSSES = [softmax_loss_naive, softmax_loss_vectorized]
ALL_LOSSES = SVM_LOSSES + SOFTMAX_LOSSES


reference_svm, reference_softmax = reference.svm_loss, reference.softmax_loss


def reference_for(loss_fn):
    return reference_svm if loss_fn in SVM_LOSSES else reference_softmax


def make_problem(seed, N=40, D=15, C=6, w_scale=0.1):
    rng = np.random.default_rng(seed)
    W = w_scale * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, size=N)
    return W, X, y


def finite_difference(f, W, h=1e-6):
    grad = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        old = W[idx]
        W[idx] = old + h
        plus = f(W)
        W[idx] = old - h
        minus = f(W)
        W[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def rel_err(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


@pytest.mark.parametrize("loss_fn", ALL_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("reg", [0.0, 0.05, 3.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_independent_reference(loss_fn, reg, seed):
    W, X, y = make_problem(seed)
    loss, dW = loss_fn(W, X, y, reg)
    ref_loss, ref_dW = reference_for(loss_fn)(W, X, y, reg)
    assert np.ndim(loss) == 0 and np.isfinite(loss)
    assert np.shape(dW) == W.shape
    assert abs(float(loss) - ref_loss) <= 1e-10 * max(1.0, abs(ref_loss))
    assert rel_err(np.asarray(dW, dtype=np.float64), ref_dW) < 1e-9


@pytest.mark.parametrize("loss_fn", ALL_LOSSES, ids=lambda f: f.__name__)
def test_gradient_matches_finite_differences(loss_fn):
    W, X, y = make_problem(7, N=25, D=8, C=4)
    _, dW = loss_fn(W, X, y, 0.7)
    numeric = finite_difference(lambda w: loss_fn(w, X, y, 0.7)[0], W)
    # The SVM loss has kinks; random continuous data keeps every margin away from 0.
    assert rel_err(dW, numeric) < 1e-6


@pytest.mark.parametrize("naive, vectorized", [SVM_LOSSES, SOFTMAX_LOSSES],
                         ids=["svm", "softmax"])
@pytest.mark.parametrize("shape", [(1, 10, 3), (500, 3073, 10), (64, 5, 2)])
def test_naive_equals_vectorized(naive, vectorized, shape):
    N, D, C = shape
    W, X, y = make_problem(11, N=N, D=D, C=C, w_scale=1e-3 if D > 100 else 0.1)
    if D > 100:
        X *= 100.0  # pixel-like magnitudes, as after mean subtraction
    loss_n, dW_n = naive(W, X, y, 2.5e4 * 1e-3)
    loss_v, dW_v = vectorized(W, X, y, 2.5e4 * 1e-3)
    assert abs(loss_n - loss_v) <= 1e-10 * max(1.0, abs(loss_n))
    assert rel_err(dW_n, dW_v) < 1e-9


@pytest.mark.parametrize("loss_fn", ALL_LOSSES, ids=lambda f: f.__name__)
def test_examples_of_one_class_and_single_example(loss_fn):
    W, X, y = make_problem(3, N=12)
    y[:] = 2
    for Xs, ys in [(X, y), (X[:1], y[:1])]:
        loss, dW = loss_fn(W, Xs, ys, 0.1)
        ref_loss, ref_dW = reference_for(loss_fn)(W, Xs, ys, 0.1)
        assert np.isclose(loss, ref_loss, rtol=1e-10)
        assert rel_err(dW, ref_dW) < 1e-9


@pytest.mark.parametrize("loss_fn", ALL_LOSSES, ids=lambda f: f.__name__)
def test_regularization_term(loss_fn):
    W, X, y = make_problem(5)
    loss0, dW0 = loss_fn(W, X, y, 0.0)
    loss1, dW1 = loss_fn(W, X, y, 2.0)
    assert np.isclose(loss1 - loss0, 2.0 * np.sum(W * W), rtol=1e-10)
    assert np.allclose(dW1 - dW0, 4.0 * W, rtol=1e-10, atol=1e-12)


def test_svm_loss_at_small_weights_is_about_C_minus_1():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 50))
    y = rng.integers(0, 10, 200)
    loss, _ = svm_loss_vectorized(1e-6 * rng.standard_normal((50, 10)), X, y, 0.0)
    assert abs(loss - 9.0) < 1e-3


def test_softmax_loss_at_small_weights_is_about_log_C():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 50))
    y = rng.integers(0, 10, 200)
    loss, _ = softmax_loss_vectorized(1e-6 * rng.standard_normal((50, 10)), X, y, 0.0)
    assert abs(loss + np.log(0.1)) < 1e-3


@pytest.mark.parametrize("loss_fn", SOFTMAX_LOSSES, ids=lambda f: f.__name__)
def test_softmax_is_shift_invariant_and_stable(loss_fn):
    """A +1000 offset on every score (bias column) must not change loss or gradient."""
    W, X, y = make_problem(9)
    X_bias = np.hstack([X, np.ones((X.shape[0], 1))])
    W_plain = np.vstack([W, np.zeros((1, W.shape[1]))])
    W_offset = np.vstack([W, np.full((1, W.shape[1]), 1000.0)])
    loss_a, dW_a = loss_fn(W_plain, X_bias, y, 0.0)
    loss_b, dW_b = loss_fn(W_offset, X_bias, y, 0.0)
    assert np.isfinite(loss_b) and np.all(np.isfinite(dW_b))
    assert np.isclose(loss_a, loss_b, rtol=1e-9)
    assert rel_err(dW_a, dW_b) < 1e-9


@pytest.mark.parametrize("loss_fn", SOFTMAX_LOSSES, ids=lambda f: f.__name__)
def test_softmax_finite_for_scores_of_magnitude_1e4(loss_fn):
    """Score gaps of 1e4 underflow p[y] to 0: the kit's reference still gives the exact loss.

    (The notebooks' graded tests do not ask this of students; see the notebook tests.)
    """
    W, X, y = make_problem(4, N=20, D=6, C=5)
    W = W / np.abs(X @ W).max() * 1e4
    loss, dW = loss_fn(W, X, y, 0.0)
    ref_loss, ref_dW = reference_softmax(W, X, y, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert np.isclose(loss, ref_loss, rtol=1e-9)
    assert rel_err(dW, ref_dW) < 1e-9


def test_predict_is_argmax_of_scores():
    W, X, _ = make_problem(2)
    clf = LinearClassifier()
    clf.W = W
    pred = clf.predict(X)
    assert pred.shape == (X.shape[0],)
    assert np.issubdtype(pred.dtype, np.integer)
    assert np.array_equal(pred, np.argmax(X @ W, axis=1))


class ConstantGradient(LinearClassifier):
    """Records every batch and returns the same gradient, so SGD's path is known exactly."""

    def __init__(self, grad):
        super().__init__()
        self.grad, self.batches = grad, []

    def loss(self, X_batch, y_batch, reg):
        self.batches.append((X_batch.copy(), y_batch.copy()))
        return float(len(self.batches)), self.grad


def test_train_takes_plain_sgd_steps_on_sampled_batches():
    W0, X, y = make_problem(6, N=30)
    grad = np.random.default_rng(1).standard_normal(W0.shape)
    clf = ConstantGradient(grad)
    clf.W = W0.copy()
    history = clf.train(X, y, learning_rate=0.01, num_iters=7, batch_size=50)
    assert history == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert np.allclose(clf.W, W0 - 7 * 0.01 * grad, rtol=0, atol=1e-12)
    rows = {tuple(row) for row in X}
    for X_batch, y_batch in clf.batches:
        # batch larger than N: only possible when sampling with replacement
        assert X_batch.shape == (50, X.shape[1]) and y_batch.shape == (50,)
        assert all(tuple(row) in rows for row in X_batch)
        for row, label in zip(X_batch, y_batch):
            assert label == y[np.flatnonzero((X == row).all(axis=1))[0]]


@pytest.mark.parametrize("cls, loss_fn", [(LinearSVM, svm_loss_vectorized),
                                          (Softmax, softmax_loss_vectorized)])
def test_subclasses_use_their_loss_and_learn(cls, loss_fn):
    rng = np.random.default_rng(0)
    centers = 3.0 * rng.standard_normal((4, 10))
    y = rng.integers(0, 4, 400)
    X = centers[y] + rng.standard_normal((400, 10))
    clf = cls()
    np.random.seed(0)
    history = clf.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=300, batch_size=64)
    assert clf.W.shape == (10, 4) and len(history) == 300
    loss, grad = clf.loss(X, y, 1e-3)
    ref_loss, ref_grad = loss_fn(clf.W, X, y, 1e-3)
    assert np.isclose(loss, ref_loss) and np.allclose(grad, ref_grad)
    assert np.mean(history[-20:]) < history[0]
    assert np.mean(clf.predict(X) == y) > 0.9


def test_package_exports_the_course_names():
    for name in ["svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive",
                 "softmax_loss_vectorized", "LinearClassifier", "LinearSVM", "Softmax"]:
        assert hasattr(classifiers, name)


COURSE_STYLE_SVM = '''
from builtins import range
import numpy as np
from random import shuffle
from past.builtins import xrange


def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in xrange(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[np.arange(num_train), y][:, None] + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(num_train), y] = -np.sum(mask, axis=1)
    return loss, X.T.dot(mask) / num_train + 2 * reg * W
'''

COURSE_STYLE_CLASSIFIER = '''
from __future__ import print_function
from builtins import range
from builtins import object
import numpy as np
from cs231n.classifiers.linear_svm import *
from cs231n.classifiers.softmax import *
from past.builtins import xrange


class LinearClassifier(object):
    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        num_train, dim = X.shape
        num_classes = np.max(y) + 1
        if self.W is None:
            self.W = 0.001 * np.random.randn(dim, num_classes)
        loss_history = []
        for it in range(num_iters):
            idx = np.random.choice(num_train, batch_size)
            loss, grad = self.loss(X[idx], y[idx], reg)
            loss_history.append(loss)
            self.W -= learning_rate * grad
        return loss_history

    def predict(self, X):
        return np.argmax(X.dot(self.W), axis=1)

    def loss(self, X_batch, y_batch, reg):
        pass


class LinearSVM(LinearClassifier):
    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
'''


def test_course_written_modules_drop_in_unchanged(tmp_path):
    """Files written for the 2017-2024 course import and pass here, future imports and all."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "classifiers", tmp_path / "classifiers")
    (tmp_path / "classifiers" / "linear_svm.py").write_text(COURSE_STYLE_SVM)
    (tmp_path / "classifiers" / "linear_classifier.py").write_text(COURSE_STYLE_CLASSIFIER)
    env = {"KIT_STUDENT_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(repo / "tests" / "unit" / "test_classifiers.py"), "-k", "svm or predict or train",
                           "--deselect", "tests/unit/test_classifiers.py::test_course_written_modules_drop_in_unchanged"],
                          cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
