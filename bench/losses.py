"""Items 1-4 of the benchmark: vectorized and blocked losses against the two-GEMM and
read floors, naive against vectorized, training against the loss call alone.

Inputs: a Report, Sizes, random CIFAR-shaped arrays, repeats.
Returns: rows added to the Report and raw seconds in report.results.
"""
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import numpy as np

from . import blocked
from .report import LOSS_ROUNDS_PER_REPEAT, progress, rel_diff, side_by_side


# ---------------------------------------------------------------- items 1-2: losses


def training_arrays(sizes):
    """Random CIFAR-shaped data: X (N, D) float64 with a bias column, labels y (N,)."""
    progress(f"making random data {sizes.num_train} x {sizes.dim}")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((sizes.num_train, sizes.dim))
    X[:, -1] = 1.0
    y = rng.integers(0, sizes.num_classes, sizes.num_train)
    return X, y


def bench_losses(report, sizes, X, y, repeats):
    from classifiers.linear_svm import svm_loss_vectorized
    from classifiers.softmax import softmax_loss_vectorized
    rng = np.random.default_rng(1)
    W = 0.001 * rng.standard_normal((sizes.dim, sizes.num_classes))
    G = rng.standard_normal((sizes.num_train, sizes.num_classes))
    reg = 2.5e4 * 1e-9   # small: the data part dominates, as in training
    progress("choosing the blocked losses' plan (block size, orientation, threads)")
    start = time.perf_counter()
    plans = {t: blocked.best_plan(X, W, threads=t) for t in (None, 1, 2)}
    tuning = time.perf_counter() - start
    exactness(report, W, X, y, reg, svm_loss_vectorized, softmax_loss_vectorized)

    def products_only():
        blocked.sweep(lambda scores, yb: (0.0, scores), W, X, y, plans[None])

    candidates = {
        "read": lambda: X.sum(),
        "scores": lambda: X @ W,
        "scores_2_threads": lambda: scores_on_two_threads(W, X),
        "two_gemm": lambda: (X @ W, X.T @ G),
        "blocked_products": products_only,
        "svm_vectorized": lambda: svm_loss_vectorized(W, X, y, reg),
        "softmax_vectorized": lambda: softmax_loss_vectorized(W, X, y, reg),
        "svm_blocked_blas_threads": lambda: blocked.svm_loss_blocked(W, X, y, reg, plans[1]),
        "svm_blocked_2_threads": lambda: blocked.svm_loss_blocked(W, X, y, reg, plans[2]),
        "softmax_blocked_blas_threads": lambda: blocked.softmax_loss_blocked(W, X, y, reg, plans[1]),
        "softmax_blocked_2_threads": lambda: blocked.softmax_loss_blocked(W, X, y, reg, plans[2]),
    }
    # A loss call takes a fraction of a second: more runs make the medians steadier.
    rounds = LOSS_ROUNDS_PER_REPEAT * repeats
    progress(f"items 1-2: losses against the two-GEMM and read floors ({rounds} runs each)")
    seconds, samples = side_by_side(candidates, rounds)
    for loss in ("svm", "softmax"):
        pair = [seconds[f"{loss}_blocked_blas_threads"], seconds[f"{loss}_blocked_2_threads"]]
        seconds[f"{loss}_blocked"] = min(pair)
    report.results["losses"] = {
        "shape": [sizes.num_train, sizes.dim, sizes.num_classes], "seconds": seconds,
        "samples": samples, "plans": {str(t): asdict(p) for t, p in plans.items()},
        "tuning_seconds": tuning}
    loss_rows(report, {**seconds, "tuning": tuning}, X.nbytes, plans)


def scores_on_two_threads(W, X):
    """X @ W with the rows split over 2 Python threads, each with a one-thread BLAS."""
    half = X.shape[0] // 2
    with blocked.one_thread_blas(), ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(lambda rows: X[rows] @ W, (slice(0, half), slice(half, None))))
    return np.vstack(parts)


def exactness(report, W, X, y, reg, svm_vectorized, softmax_vectorized):
    """The blocked losses against the plain ones, with every threading, at the benchmark shape."""
    for name, plain, fast in (("svm", svm_vectorized, blocked.svm_loss_blocked),
                              ("softmax", softmax_vectorized, blocked.softmax_loss_blocked)):
        loss, grad = plain(W, X, y, reg)
        worst = 0.0
        for threads in (1, 2):
            other_loss, other_grad = fast(W, X, y, reg, blocked.best_plan(X, W, threads=threads))
            worst = max(worst, rel_diff(other_loss, loss), rel_diff(other_grad, grad))
        report.add(1, f"{name}_blocked_exactness", f"{name} blocked vs vectorized: relative difference",
                   worst, "", "<= 1e-12")
        if not worst <= 1e-12:
            report.failures.append(f"the blocked {name} loss differs from the vectorized one by "
                                   f"{worst:.1e} (relative), expected at most 1e-12")


def loss_rows(report, s, nbytes, plans):
    report.add(1, "two_gemm_seconds", "two-GEMM floor: X @ W + X.T @ G", s["two_gemm"], "s")
    report.add(1, "svm_vectorized_seconds", "svm_loss_vectorized", s["svm_vectorized"], "s")
    report.add(1, "svm_vectorized_vs_two_gemm", "svm_loss_vectorized / two-GEMM floor",
               s["svm_vectorized"] / s["two_gemm"], target="<= 1.10")
    report.add(1, "softmax_vectorized_vs_two_gemm", "softmax_loss_vectorized / two-GEMM floor",
               s["softmax_vectorized"] / s["two_gemm"], target="<= 1.10")
    for loss in ("svm", "softmax"):
        report.add(1, f"{loss}_blocked_vs_two_gemm", f"{loss} blocked (the faster threading) / two-GEMM floor",
                   s[f"{loss}_blocked"] / s["two_gemm"], target="<= 0.85")
        for threads, what in ((1, "BLAS threads"), (2, "2 Python threads")):
            key = f"{loss}_blocked_{'blas' if threads == 1 else '2'}_threads"
            report.add(1, f"{key}_vs_two_gemm", f"  {what}: {describe(plans[threads])}",
                       s[key] / s["two_gemm"])
    report.add(1, "blocked_plan_tuning", f"run-time choice: {describe(plans[None])}, "
               f"{'BLAS threads' if plans[None].threads == 1 else '2 Python threads'}; took",
               s["tuning"], "s")
    report.add(1, "blocked_products_vs_two_gemm", "blocked products alone / two-GEMM floor",
               s["blocked_products"] / s["two_gemm"])
    report.add(2, "read_bandwidth", "reading X once (X.sum())", nbytes / s["read"] / 1e9, "GB/s")
    report.add(2, "two_gemm_vs_read", "two-GEMM floor / read floor", s["two_gemm"] / s["read"])
    for key in ("svm_vectorized", "softmax_vectorized", "svm_blocked", "softmax_blocked"):
        report.add(2, f"{key}_vs_read", f"{key.replace('_', ' ')} / read floor", s[key] / s["read"])
    # Scores alone (accuracy, predict) read X once already: how far from the read floor they are.
    report.add(2, "scores_vs_read", "scores only, X @ W / read floor", s["scores"] / s["read"])
    report.add(2, "scores_2_threads_vs_scores", "scores on 2 Python threads / X @ W",
               s["scores_2_threads"] / s["scores"])


def describe(plan):
    products = "Xb @ W, Xb.T @ G" if plan.orientation == "rows" else "W.T @ Xb.T, G.T @ Xb"
    return f"blocks of {plan.block} rows, {products}"


# ---------------------------------------------------------------- item 3: naive vs vectorized


def bench_naive(report, sizes, repeats):
    from classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
    from classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
    rng = np.random.default_rng(2)
    X = rng.standard_normal((sizes.num_dev, sizes.dim))
    y = rng.integers(0, sizes.num_classes, sizes.num_dev)
    W = 0.0001 * rng.standard_normal((sizes.dim, sizes.num_classes))  # the notebooks' start
    progress(f"item 3: naive against vectorized on {sizes.num_dev} x {sizes.dim}")
    candidates = {
        "svm_naive": lambda: svm_loss_naive(W, X, y, 5e-6),
        "svm_vectorized": lambda: svm_loss_vectorized(W, X, y, 5e-6),
        "softmax_naive": lambda: softmax_loss_naive(W, X, y, 5e-6),
        "softmax_vectorized": lambda: softmax_loss_vectorized(W, X, y, 5e-6),
    }
    seconds, samples = side_by_side(candidates, repeats)
    report.results["naive_vs_vectorized"] = {"shape": [sizes.num_dev, sizes.dim], "seconds": seconds,
                                             "samples": samples}
    for loss in ("svm", "softmax"):
        report.add(3, f"{loss}_naive_vs_vectorized", f"{loss}: naive / vectorized ({sizes.num_dev} examples)",
                   seconds[f"{loss}_naive"] / seconds[f"{loss}_vectorized"], target=">= 8")


# ---------------------------------------------------------------- item 4: training


def bench_training(report, sizes, X, y, repeats):
    from classifiers import LinearSVM, Softmax
    iters, batch = sizes.train_iters, sizes.batch_size
    progress(f"item 4: train, {iters} iterations of {batch}, against the loss call alone")
    fixed = np.random.default_rng(3).integers(0, X.shape[0], batch)
    X_batch, y_batch = X[fixed], y[fixed]
    candidates = {"sampling": lambda: sampling_only(X, y, iters, batch)}
    for name, cls in (("svm", LinearSVM), ("softmax", Softmax)):
        candidates[f"{name}_train"] = lambda cls=cls: train_once(cls, X, y, iters, batch)
        candidates[f"{name}_loss_calls"] = lambda cls=cls: loss_calls(cls, X_batch, y_batch, iters)
        # The same pair on one BLAS thread: is the overhead the data, or the threads?
        candidates[f"{name}_train_1_thread"] = lambda cls=cls: one_blas_thread(
            train_once, cls, X, y, iters, batch)
        candidates[f"{name}_loss_calls_1_thread"] = lambda cls=cls: one_blas_thread(
            loss_calls, cls, X_batch, y_batch, iters)
    seconds, samples = side_by_side(candidates, repeats, warmup=False)
    report.results["training"] = {"iterations": iters, "batch_size": batch, "seconds": seconds,
                                  "samples": samples}
    sampling = seconds["sampling"]
    for name in ("svm", "softmax"):
        train, loss = seconds[f"{name}_train"], seconds[f"{name}_loss_calls"]
        report.add(4, f"{name}_train_seconds", f"{name} train, {iters} iterations of {batch}", train, "s")
        report.add(4, f"{name}_train_overhead", f"{name} train: time per iteration / loss call",
                   train / loss, target="<= 1.8")
        # Where the overhead goes: drawing and gathering the batch, and the rest (the loss on
        # a batch fresh from memory instead of one that stays in cache, and the update).
        report.add(4, f"{name}_train_sampling_share", f"{name} train: sampling part (/ loss call)",
                   sampling / loss)
        report.add(4, f"{name}_train_rest_share", f"{name} train: rest: cold batch, update (/ loss call)",
                   rest_share(train, sampling, loss))
    for name in ("svm", "softmax"):
        train, loss = seconds[f"{name}_train_1_thread"], seconds[f"{name}_loss_calls_1_thread"]
        report.add(4, f"{name}_train_seconds_1_thread", f"{name} train, one BLAS thread", train, "s")
        report.add(4, f"{name}_train_overhead_1_thread", f"{name} train / loss call, both on one BLAS thread",
                   train / loss)
        report.add(4, f"{name}_train_rest_share_1_thread", f"{name} one BLAS thread: rest (/ loss call)",
                   rest_share(train, sampling, loss))
    report.add(4, "sampling_seconds", f"sampling alone: {iters} x (np.random.choice + X[idx])",
               sampling, "s")


def rest_share(train, sampling, loss):
    """What a training run costs beyond its loss calls and its sampling, per loss call."""
    return (train - sampling - loss) / loss


def one_blas_thread(function, *args):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        function(*args)


def sampling_only(X, y, iters, batch):
    """The batch sampling of the reference train, alone."""
    np.random.seed(0)
    for _ in range(iters):
        indices = np.random.choice(X.shape[0], batch, replace=True)
        X[indices], y[indices]


def train_once(cls, X, y, iters, batch):
    np.random.seed(0)
    clf = cls()
    clf.train(X, y, learning_rate=1e-7, reg=2.5e4, num_iters=iters, batch_size=batch)


def loss_calls(cls, X_batch, y_batch, iters):
    """`iters` loss calls on one fixed batch: what train costs without sampling and updates."""
    np.random.seed(0)
    clf = cls()
    clf.W = 0.001 * np.random.randn(X_batch.shape[1], int(y_batch.max()) + 1)
    for _ in range(iters):
        clf.loss(X_batch, y_batch, 2.5e4)
