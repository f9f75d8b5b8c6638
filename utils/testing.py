"""Helpers the notebooks' test cells share: read a function's results and compare them.

Every test cell imports these instead of repeating them, so a message reads the same in
every cell. They compute no loss themselves: they read what the student's functions return
(numerical_gradient evaluates the student's loss through utils.gradient_check).
"""
import numpy as np

from .gradient_check import eval_numerical_gradient


def as_float(value, what):
    """
    The single number a function returned, as a Python float.

    Inputs:
    - value: what the function returned (a float, a 0-d or 1-element array).
    - what: how to name it in the message, e.g. "the loss".

    Returns:
    - a Python float. Raises AssertionError (the test fails) if value is not one number.
    """
    arr = np.asarray(value, dtype=np.float64)
    assert arr.size == 1, "expected %s to be a single number, got shape %s instead" % (what, arr.shape)
    return float(arr.reshape(()))


def as_array(value, shape, what):
    """
    An array a function returned, as float64, after checking its shape.

    Inputs:
    - value: what the function returned.
    - shape: the expected shape, e.g. W.shape.
    - what: how to name it in the message, e.g. "dW".

    Returns:
    - a float64 numpy array of the given shape.
    """
    arr = np.asarray(value, dtype=np.float64)
    assert arr.shape == tuple(shape), "expected %s of shape %s, got %s instead" % (what, tuple(shape), arr.shape)
    return arr


def relative_difference(a, b):
    """
    How far apart two arrays are, relative to their size: max |a - b| / (max |a| + max |b|).

    Scaled by the largest entries rather than entry by entry, so entries close to 0 (which
    rounding makes relatively large) do not dominate.

    Inputs:
    - a, b: arrays (or numbers) of the same shape.

    Returns:
    - a float: 0 when identical, about 1e-12 after rounding, about 1 when unrelated.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("expected two arrays of the same shape, got %s and %s instead" % (a.shape, b.shape))
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-12, np.max(np.abs(a)) + np.max(np.abs(b))))


def numerical_gradient(loss_fn, W, h=1e-6):
    """
    The gradient of loss_fn at W by centered differences, at every entry of W.

    Inputs:
    - loss_fn: a function of W returning (loss, ...) as the losses in classifiers/ do.
    - W: float array; left unchanged (loss_fn gets a copy at every step).
    - h: the step of the difference quotient.

    Returns:
    - an array of W's shape.
    """
    return eval_numerical_gradient(lambda w: as_float(loss_fn(w.copy())[0], "the loss"),
                                   np.array(W, dtype=np.float64), verbose=False, h=h)
