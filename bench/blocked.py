"""Cache-blocked, one-pass SVM and Softmax losses (instructor only: each one is a full solution).

The vectorized losses read X from memory twice: once for the scores X.dot(W) and once
for the gradient X.T.dot(G). At the full training shape (49,000 x 3,073 float64, 1.2 GB)
X is far larger than any cache, so each product is a full sweep through memory. Here the
rows go through in blocks of 128-1024: a block's forward product, its loss and
coefficients, and its backward product all run while the block is still in cache, so X
streams from memory once.

Three choices change the speed but not the result (beyond rounding): the block size, the
orientation of the two products ("rows": Xb @ W then Xb.T @ G; "cols": W.T @ Xb.T then
G.T @ Xb, which BLAS runs with other kernels) and the threading (BLAS's own threads, or
the rows split over 2 Python threads that each run a one-thread BLAS). Which is fastest
depends on the BLAS kernel and the caches, so `best_plan` measures them the first time a
shape is seen and remembers the winners for the rest of the process.

Maintainers' material, never released (kit/release.py ships notebooks/, classifiers/ and
utils/ only): each loss here is a complete solution of the students' task.

Shapes: W (D, C), X (N, D), y (N,) ints in [0, C). Results match
classifiers.*_loss_vectorized to about 1e-15 (relative): only the summation order differs.
"""
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

BLOCK_SIZES = (128, 256, 512, 1024)
ORIENTATIONS = ("rows", "cols")
THREADINGS = (1, 2)        # 1: one Python thread, BLAS's own threads; 2: 2 Python threads, 1-thread BLAS
TUNE_ROWS = 8192           # rows timed per candidate: 200 MB at D = 3073, far past the L3 cache
TUNE_ROUNDS = 3            # each candidate timed this often (interleaved); the fastest run counts
DEFAULT_BLOCK = 256


@dataclass(frozen=True)
class Plan:
    """How a blocked loss walks through X (the result is the same for every plan)."""
    block: int = DEFAULT_BLOCK
    orientation: str = "rows"
    threads: int = 1

    def __post_init__(self):
        if not (isinstance(self.block, (int, np.integer)) and self.block >= 1):
            raise ValueError(f"expected a block of at least 1 row, got {self.block!r} instead")
        if self.orientation not in ORIENTATIONS:
            raise ValueError(f"expected an orientation in {ORIENTATIONS}, got {self.orientation!r} instead")
        if self.threads not in THREADINGS:
            raise ValueError(f"expected threads in {THREADINGS}, got {self.threads!r} instead")


def svm_block(scores, y):
    """
    Multiclass SVM (margin 1) on one block of scores.

    Inputs:
    - scores: (B, C) scores of the block's examples.
    - y: (B,) labels of the block.

    Returns a tuple of:
    - the block's summed (not averaged) hinge loss, a float
    - G: (B, C) derivative of that sum with respect to the scores
    """
    truth = (np.arange(scores.shape[0]), y)   # the correct-class entries
    margins = np.maximum(0.0, scores - scores[truth][:, np.newaxis] + 1.0)
    margins[truth] = 0.0
    loss = margins.sum()
    positive = margins > 0
    coeff = positive.astype(np.float64)
    coeff[truth] = -positive.sum(axis=1)
    return loss, coeff


def softmax_block(scores, y):
    """
    Softmax cross-entropy on one block of scores.

    Inputs and outputs as svm_block, except that the scores are overwritten.
    """
    truth = (np.arange(scores.shape[0]), y)
    scores -= scores.max(axis=1, keepdims=True)  # exp() stays <= 1
    log_norm = np.log(np.exp(scores).sum(axis=1))
    loss = np.sum(log_norm - scores[truth])
    probs = np.exp(scores - log_norm[:, np.newaxis])
    probs[truth] -= 1.0
    return loss, probs


BLOCK_LOSSES = {"svm": svm_block, "softmax": softmax_block}


def svm_loss_blocked(W, X, y, reg, plan=None):
    """
    Structured SVM loss and gradient in one pass over X.

    Inputs: as classifiers.svm_loss_vectorized, plus
    - plan: a Plan, or None to use the fastest one measured for this shape (see best_plan).

    Returns a tuple of:
    - loss as single float
    - gradient with respect to weights W; an array of same shape as W
    """
    return blocked_loss("svm", W, X, y, reg, plan)


def softmax_loss_blocked(W, X, y, reg, plan=None):
    """
    Softmax loss and gradient in one pass over X.

    Inputs and outputs as svm_loss_blocked.
    """
    return blocked_loss("softmax", W, X, y, reg, plan)


def blocked_loss(kind, W, X, y, reg, plan=None):
    """The loss named by `kind` ("svm" or "softmax"); see svm_loss_blocked."""
    if kind not in BLOCK_LOSSES:
        raise ValueError(f"expected a loss in {sorted(BLOCK_LOSSES)}, got {kind!r} instead")
    W, X, y = check_inputs(W, X, y)
    if plan is None:
        plan = best_plan(X, W)
    elif not isinstance(plan, Plan):
        raise TypeError(f"expected a bench.blocked.Plan or None, got {type(plan).__name__} instead")
    count = X.shape[0]
    data_loss, grad = sweep(BLOCK_LOSSES[kind], W, X, y, plan)
    loss = data_loss / count + reg * np.sum(W * W)
    dW = grad / count + 2 * reg * W
    return float(loss), dW


def check_inputs(W, X, y):
    """W and X as float64 (X C-contiguous, so a block of rows is one piece of memory), y as ints."""
    W = np.asarray(W, dtype=np.float64)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y)
    if W.ndim != 2 or X.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"expected W (D, C) and X (N, D) with the same D, got W {W.shape} and "
                         f"X {X.shape} instead")
    if X.shape[0] == 0:
        raise ValueError("expected at least one example in X, got 0 rows instead")
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"expected y of shape ({X.shape[0]},) with integer labels, got "
                         f"{y.shape} {y.dtype} instead")
    if y.min() < 0 or y.max() >= W.shape[1]:
        raise ValueError(f"expected labels in [0, {W.shape[1]}), got labels from {y.min()} to "
                         f"{y.max()} instead")
    return W, X, y


def sweep(block_loss, W, X, y, plan):
    """Summed data loss and unscaled gradient (D, C) over all rows, following `plan`."""
    if plan.threads == 1:
        return sweep_rows(block_loss, W, X, y, 0, X.shape[0], plan)
    # Contiguous halves, each summed in order, then added in order: the result does not
    # depend on how the threads are scheduled.
    middle = split_point(X.shape[0], plan.block)
    with one_thread_blas(), ThreadPoolExecutor(max_workers=2) as pool:
        parts = [pool.submit(sweep_rows, block_loss, W, X, y, start, stop, plan)
                 for start, stop in ((0, middle), (middle, X.shape[0]))]
        (loss_a, grad_a), (loss_b, grad_b) = [p.result() for p in parts]
    return loss_a + loss_b, grad_a + grad_b


def split_point(num_rows, block):
    """Half the rows, rounded to whole blocks so that both halves use full blocks."""
    blocks = -(-num_rows // block)
    return min(num_rows, (blocks + 1) // 2 * block)


def sweep_rows(block_loss, W, X, y, start, stop, plan):
    """Summed loss and gradient over rows [start, stop), one cache-sized block at a time."""
    rows_first = plan.orientation == "rows"
    # "cols" accumulates the transposed gradient (C, D), as G.T @ Xb produces it.
    grad = np.zeros(W.shape if rows_first else W.shape[::-1])
    W_T = W.T
    loss = 0.0
    for begin in range(start, stop, plan.block):
        Xb = X[begin:min(begin + plan.block, stop)]
        if rows_first:
            scores = Xb @ W
        else:
            scores = (W_T @ Xb.T).T
        block_sum, coeff = block_loss(scores, y[begin:begin + Xb.shape[0]])
        loss += block_sum
        if rows_first:
            grad += Xb.T @ coeff
        else:
            grad += coeff.T @ Xb
    return loss, (grad if rows_first else np.ascontiguousarray(grad.T))


# ---------------------------------------------------------------- threads and tuning

_controller = None
_controller_lock = threading.Lock()


def one_thread_blas():
    """A context in which BLAS runs on one thread (threadpoolctl; process-wide while it lasts)."""
    global _controller
    from threadpoolctl import ThreadpoolController
    with _controller_lock:
        if _controller is None:
            _controller = ThreadpoolController()  # inspecting the loaded libraries is slow: once
    return _controller.limit(limits=1, user_api="blas")


_plans = {}   # plan_key -> {threads: fastest Plan with that threading, None: fastest overall}


def plan_key(X, W):
    """Plans are remembered per (D, C, many rows or few) and per number of CPUs."""
    return (X.shape[1], W.shape[1], X.shape[0] >= TUNE_ROWS, os.cpu_count())


def best_plan(X, W, threads=None, refresh=False):
    """
    The fastest Plan for losses on arrays shaped like X (N, D) and W (D, C), measured once.

    Inputs:
    - X, W: the arrays (or arrays of the same shapes) the losses will be called with.
    - threads: None for the fastest plan overall, or 1 or 2 for the fastest with that threading.
    - refresh: measure again instead of using the plan remembered for this shape.

    The first call for a shape times the candidates on up to TUNE_ROWS rows of X (about
    2 s at D = 3,073) and caches the winners for the process: per threading, the
    orientation is chosen at DEFAULT_BLOCK, then the block size for that orientation.
    """
    if threads not in (None,) + THREADINGS:
        raise ValueError(f"expected threads None, 1 or 2, got {threads!r} instead")
    key = plan_key(X, W)
    if refresh or key not in _plans:
        _plans[key] = measure_plans(X, W)
    return _plans[key][threads]


def measure_plans(X, W):
    """{threads: fastest Plan, None: fastest overall}, timed on the first TUNE_ROWS rows of X."""
    W = np.asarray(W, dtype=np.float64)
    X = np.ascontiguousarray(X[:TUNE_ROWS], dtype=np.float64)
    y = np.random.default_rng(0).integers(0, W.shape[1], X.shape[0])
    seconds = time_plans([Plan(DEFAULT_BLOCK, o, t) for o in ORIENTATIONS for t in THREADINGS], W, X, y)
    shapes = {t: min((p for p in seconds if p.threads == t), key=seconds.get) for t in THREADINGS}
    sizes = [Plan(b, shapes[t].orientation, t) for t in THREADINGS for b in BLOCK_SIZES
             if b != DEFAULT_BLOCK and b <= max(BLOCK_SIZES[0], X.shape[0])]
    seconds.update(time_plans(sizes, W, X, y))
    best = {t: min((p for p in seconds if p.threads == t), key=seconds.get) for t in THREADINGS}
    best[None] = min(best.values(), key=seconds.get)
    return best


def time_plans(plans, W, X, y):
    """Shortest time of the SVM sweep per plan, candidates interleaved so load hits all alike."""
    best = {plan: float("inf") for plan in plans}
    for _ in range(TUNE_ROUNDS):
        for plan in plans:
            start = time.perf_counter()
            sweep(svm_block, W, X, y, plan)
            best[plan] = min(best[plan], time.perf_counter() - start)
    return best


def known_plans():
    """The plans measured so far in this process: {plan_key: {threads: Plan}}."""
    return {key: dict(plans) for key, plans in _plans.items()}
