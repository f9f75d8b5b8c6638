"""Numerical gradient checking.

A gradient you derived by hand is only trusted once it agrees with a gradient
estimated numerically from the loss itself. The tools here compute that
estimate with centred differences,

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error shrinks like h**2 (a one-sided difference only shrinks like h).
"""

import numpy as np

from .messages import _

# Relative errors are divided by |a| + |b|; this floor keeps 0 / 0 (both
# gradients exactly zero, which is a perfect match) from becoming NaN.
_REL_ERROR_FLOOR = 1e-8


def _check_float_array(x, name):
    """Raise unless x is a floating point numpy array (it is modified in place)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            _("expected %s to be a numpy array, got %s instead; wrap it with "
              "np.asarray(%s, dtype=np.float64)") % (name, type(x).__name__, name))
    if not np.issubdtype(x.dtype, np.floating):
        # x[ix] += h on an integer array silently rounds h away.
        raise TypeError(
            _("expected %s to have a floating point dtype, got %s instead; use "
              "%s.astype(np.float64)") % (name, x.dtype, name))


def _relative_error(a, b):
    """Elementwise |a - b| / max(floor, |a| + |b|)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(_REL_ERROR_FLOOR, np.abs(a) + np.abs(b))


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """
    Estimate the gradient of f at x with centred differences, one element of
    x at a time.

    x is changed in place while f is evaluated and every element is put back
    to its exact original value afterwards (even if f raises).

    Inputs:
    - f: function that takes the array x and returns a scalar (the loss).
    - x: numpy float array of any shape, the point to differentiate at.
    - verbose: if True, print each index and its gradient estimate.
    - h: step size of the finite differences.

    Returns:
    - grad: numpy array of the same shape as x, float64; grad[i] ~ df/dx[i].
    """
    _check_float_array(x, "x")
    if not h > 0:
        raise ValueError(_("expected a step size h > 0, got %r instead") % (h,))

    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old_value = x[ix]
        try:
            x[ix] = old_value + h
            fxph = float(f(x))  # f(x + h)
            x[ix] = old_value - h
            fxmh = float(f(x))  # f(x - h)
        finally:
            # Restore the saved value rather than adding h back: x + h - h
            # need not equal x in floating point.
            x[ix] = old_value

        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()

    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None,
                      rng=None):
    """
    Compare an analytic gradient with a numerical estimate at a few random
    elements of x (checking every element is too slow for big weights).

    For each checked element it prints a line
        numerical: 1.234567 analytic: 1.234567, relative error: 1.234567e-09
    A correct gradient usually gives relative errors below about 1e-7
    (kinks such as max(0, .) can give the odd larger one).

    Inputs:
    - f: function that takes the array x and returns a scalar (the loss).
    - x: numpy float array of any shape; modified during the check and
      restored exactly afterwards.
    - analytic_grad: numpy array of the same shape as x, the gradient to test.
    - num_checks: how many random elements to check.
    - h: step size of the finite differences.
    - seed: optional int; fixes which elements are checked.
    - rng: optional np.random.Generator to draw the elements from (takes
      precedence over seed). With neither, np.random is used, so
      np.random.seed(...) makes the check repeatable as in the course.

    Returns:
    - rel_errors: numpy array of shape (num_checks,) with the relative error
      of each check, in the order printed.
    """
    _check_float_array(x, "x")
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            _("expected analytic_grad to have the shape of x %s, got %s instead")
            % (x.shape, analytic_grad.shape))
    if x.size == 0:
        raise ValueError(_("expected a non-empty x, got shape %s instead") % (x.shape,))
    if int(num_checks) != num_checks or num_checks < 0:
        raise ValueError(
            _("expected num_checks to be a non-negative int, got %r instead") % (num_checks,))
    if not h > 0:
        raise ValueError(_("expected a step size h > 0, got %r instead") % (h,))

    if rng is None and seed is not None:
        rng = np.random.default_rng(seed)

    rel_errors = np.zeros(int(num_checks), dtype=np.float64)
    for i in range(int(num_checks)):
        if rng is not None:
            ix = tuple(int(rng.integers(m)) for m in x.shape)
        else:
            ix = tuple(int(np.random.randint(m)) for m in x.shape)

        old_value = x[ix]
        try:
            x[ix] = old_value + h
            fxph = float(f(x))
            x[ix] = old_value - h
            fxmh = float(f(x))
        finally:
            x[ix] = old_value

        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = float(analytic_grad[ix])
        rel_errors[i] = _relative_error(grad_numerical, grad_analytic)
        print(_("numerical: %f analytic: %f, relative error: %e")
              % (grad_numerical, grad_analytic, rel_errors[i]))

    return rel_errors


def rel_error(x, y):
    """
    Largest elementwise relative error between two arrays (or two numbers):
    max |x - y| / max(1e-8, |x| + |y|).

    Inputs:
    - x, y: numpy arrays (or scalars) of the same shape.

    Returns:
    - a Python float; 0 means identical, around 1 means unrelated.
    """
    if np.shape(x) != np.shape(y):
        raise ValueError(
            _("expected x and y to have the same shape, got %s and %s instead")
            % (np.shape(x), np.shape(y)))
    if np.size(x) == 0:
        return 0.0
    return float(np.max(_relative_error(x, y)))
