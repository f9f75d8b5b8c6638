"""Tests for utils/gradient_check.py on functions whose gradients are known."""

import numpy as np
import pytest

from utils.gradient_check import eval_numerical_gradient, grad_check_sparse, rel_error


def quadratic(x):
    return np.sum(x ** 2)  # gradient 2x


def sine(x):
    return np.sum(np.sin(x))  # gradient cos(x)


def make_linear_layer(seed=0):
    """loss(W) = sum(G * (X @ W)) has gradient X.T @ G."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 5))
    G = rng.standard_normal((6, 3))
    return (lambda W: np.sum(G * X.dot(W))), X.T.dot(G)


@pytest.mark.parametrize("f, grad_of", [
    (quadratic, lambda x: 2 * x),
    (sine, np.cos),
])
def test_eval_numerical_gradient_matches_known_gradients(f, grad_of):
    x = np.random.default_rng(1).standard_normal((4, 3))
    grad = eval_numerical_gradient(f, x, verbose=False)
    assert grad.shape == x.shape
    assert grad.dtype == np.float64
    assert rel_error(grad, grad_of(x)) < 1e-7


def test_eval_numerical_gradient_linear_layer():
    f, true_grad = make_linear_layer()
    W = np.random.default_rng(2).standard_normal((5, 3))
    grad = eval_numerical_gradient(f, W, verbose=False)
    assert rel_error(grad, true_grad) < 1e-7


def test_eval_numerical_gradient_restores_x_exactly():
    x = np.random.default_rng(3).standard_normal((3, 4, 2)) * 1e3
    before = x.copy()
    eval_numerical_gradient(sine, x, verbose=False)
    assert np.array_equal(x, before)


def test_eval_numerical_gradient_restores_x_when_f_raises():
    x = np.arange(4, dtype=np.float64)
    before = x.copy()

    def broken(z):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        eval_numerical_gradient(broken, x, verbose=False)
    assert np.array_equal(x, before)


def test_eval_numerical_gradient_verbose_prints_each_element(capsys):
    x = np.zeros(3)
    eval_numerical_gradient(quadratic, x, verbose=True)
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_eval_numerical_gradient_rejects_int_array():
    with pytest.raises(TypeError, match="floating point"):
        eval_numerical_gradient(quadratic, np.arange(3), verbose=False)


def test_grad_check_sparse_correct_gradient_small_errors(capsys):
    f, true_grad = make_linear_layer()
    W = np.random.default_rng(4).standard_normal((5, 3))
    before = W.copy()
    errors = grad_check_sparse(f, W, true_grad, num_checks=7, seed=0)
    assert isinstance(errors, np.ndarray) and errors.shape == (7,)
    assert np.all(errors < 1e-7)
    assert np.array_equal(W, before)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7
    assert all(l.startswith("numerical: ") and "analytic: " in l and
               ", relative error: " in l for l in lines)


def test_grad_check_sparse_wrong_gradient_big_errors(capsys):
    x = np.random.default_rng(5).uniform(0.5, 2.0, size=(4, 4))
    wrong = 3 * x  # true gradient of sum(x**2) is 2x
    errors = grad_check_sparse(quadratic, x, wrong, num_checks=10, seed=1)
    assert np.all(errors > 0.1)
    assert rel_error(eval_numerical_gradient(quadratic, x, verbose=False), wrong) > 0.1


def test_grad_check_sparse_is_deterministic_with_seed_or_rng():
    x = np.random.default_rng(6).standard_normal((10, 10))
    wrong = np.random.default_rng(7).standard_normal((10, 10))
    a = grad_check_sparse(sine, x, wrong, num_checks=5, seed=3)
    b = grad_check_sparse(sine, x, wrong, num_checks=5, seed=3)
    c = grad_check_sparse(sine, x, wrong, num_checks=5, rng=np.random.default_rng(3))
    assert np.array_equal(a, b) and np.array_equal(a, c)
    np.random.seed(11)
    d = grad_check_sparse(sine, x, wrong, num_checks=5)
    np.random.seed(11)
    e = grad_check_sparse(sine, x, wrong, num_checks=5)
    assert np.array_equal(d, e)


def test_grad_check_sparse_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        grad_check_sparse(quadratic, np.zeros((2, 3)), np.zeros((3, 2)))


def test_grad_check_sparse_zero_gradients_are_not_nan():
    x = np.zeros(5)  # gradient of sum(x**2) at 0 is exactly 0
    errors = grad_check_sparse(quadratic, x, np.zeros(5), num_checks=3, seed=0)
    assert np.all(np.isfinite(errors)) and np.all(errors == 0)


def test_rel_error():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0  # 0/0 guarded
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)
    assert rel_error(1.0, -1.0) == pytest.approx(1.0)
    assert isinstance(rel_error(np.ones(2), np.ones(2)), float)
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.ones(2), np.ones(3))
