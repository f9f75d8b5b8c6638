"""`python -m bench`: how fast the kit is, against what the machine can do.

Every figure is a ratio of two timings taken side by side in one run (the candidates
take turns, repeat after repeat; each figure is the median), because the machine is
shared and absolute seconds drift with the load. Items:
1. vectorized losses (and the blocked one-pass losses of bench/blocked.py) against the
   two-pass floor: `X @ W` plus `X.T @ G` alone on the same arrays;
2. the same losses against the one-pass memory floor: reading X once (`X.sum()`);
3. naive against vectorized losses on the 500-example dev shape;
4. LinearClassifier.train (1,500 iterations of 200) against the loss call alone;
5. both notebooks run top to bottom (quick setting, real CIFAR-10 subset);
6. autograding: `kit autograde --jobs 1`, `--jobs 2`, plain `nbgrader autograde` and a
   two-worker local Dask cluster on the same submissions, with identical grades;
7. grading one submission against the bare nbclient run of its two notebooks.
Timing data is random (CIFAR-shaped float64); items 5-7 need the notebooks and CIFAR-10.
`--smoke` uses tiny sizes, grades two submissions (test cells only) and skips the slow
items: it proves the benchmark works, its ratios mean nothing.
"""
import contextlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kit.course import ASSIGNMENT, KIT_ROOT, NOTEBOOKS, KitError

from . import blocked


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one benchmark setting."""
    num_train: int            # rows of X for the loss and training items
    dim: int                  # columns of X (3,072 pixels + bias)
    num_classes: int
    num_dev: int              # rows for naive against vectorized
    train_iters: int
    batch_size: int
    submissions: int          # submissions graded in item 6
    jobs_1_submissions: int   # of which --jobs 1 grades the first ones (all in the full run)
    run_notebooks: bool       # grade whole notebooks (True) or only setup + test cells
    slow_items: bool          # items 5, 7 and the plain nbgrader and Dask runs of item 6
    max_grading_repeats: int  # items 5-7 take minutes per repeat


FULL = Sizes(num_train=49000, dim=3073, num_classes=10, num_dev=500, train_iters=1500,
             batch_size=200, submissions=8, jobs_1_submissions=8, run_notebooks=True, slow_items=True,
             max_grading_repeats=3)
SMOKE = Sizes(num_train=1500, dim=300, num_classes=10, num_dev=40, train_iters=30,
              batch_size=20, submissions=2, jobs_1_submissions=1, run_notebooks=False, slow_items=False,
              max_grading_repeats=1)
NOTEBOOK_TIMEOUT = 600        # seconds per cell for the bare notebook runs
LOSS_ROUNDS_PER_REPEAT = 3    # items 1-2 run 3 x --repeats times (each run is short)


@dataclass
class Row:
    """One line of the table: a measured figure and, where the issue sets one, its target."""
    item: int
    key: str
    label: str
    value: object
    unit: str = "x"           # "x" ratio, "s" seconds, "GB/s", "cores", "" for yes/no and text
    target: str = ""          # e.g. "<= 1.10"
    ok: object = None         # True / False against the target, None without one


@dataclass
class Report:
    smoke: bool
    repeats: int
    rows: list = field(default_factory=list)
    results: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)   # correctness problems: exit code 1

    def add(self, item, key, label, value, unit="x", target=""):
        self.rows.append(Row(item, key, label, value, unit, target, meets(value, target)))


def meets(value, target):
    if not target or value is None:
        return None
    op, bound = target.split()
    if op == "==":
        return value == (bound == "yes")
    bound = float(bound)
    return value <= bound if op == "<=" else value >= bound


ITEMS = tuple(range(1, 8))


def run(*, json_path=None, smoke=False, repeats=5, items=ITEMS):
    """Run the benchmark's `items` (1-7; 1 and 2 run together), print the table, write
    `json_path`; return 0, or 1 when a result was wrong."""
    if repeats < 1:
        raise KitError(f"expected --repeats of at least 1, got {repeats} instead")
    wanted = set(items)
    if not wanted or not wanted <= set(ITEMS):
        raise KitError(f"expected items among 1-7, got {sorted(items)} instead")
    sizes = SMOKE if smoke else FULL
    report = Report(smoke=smoke, repeats=repeats)
    machine = machine_info()
    started = time.perf_counter()
    X, y = training_arrays(sizes) if wanted & {1, 2, 4} else (None, None)
    if wanted & {1, 2}:
        bench_losses(report, sizes, X, y, repeats)
    if 3 in wanted:
        bench_naive(report, sizes, repeats)
    if 4 in wanted:
        bench_training(report, sizes, X, y, repeats)
    del X, y
    if wanted & {5, 6, 7}:
        bench_grading(report, sizes, repeats, wanted)
    machine["load_after"] = os.getloadavg()
    machine["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(format_table(report, machine))
    if json_path:
        write_json(json_path, report, machine, sizes)
    for failure in report.failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if report.failures else 0


def progress(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- timing


def side_by_side(candidates, repeats, warmup=True):
    """
    Median seconds of each callable, the callables taking turns (a b c, b c a, ...).

    Inputs:
    - candidates: dict name -> callable without arguments.
    - repeats: runs of each callable that count.
    - warmup: run each once first, uncounted (page faults, imports, BLAS start-up).

    Returns dict name -> median seconds, and dict name -> list of all counted seconds.
    """
    names = list(candidates)
    if warmup:
        for name in names:
            candidates[name]()
    samples = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            candidates[name]()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}, samples


def rel_diff(a, b):
    """Largest absolute difference, relative to the largest magnitude of the reference b."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


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


# ---------------------------------------------------------------- items 5-7: notebooks, grading


def find_data_dir():
    """CIFAR-10 for the notebooks: CIFAR10_DIR, data/, else the shared real subset beside the repo."""
    from utils.data_utils import find_cifar10_dir
    for candidate in (None, KIT_ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar-10-batches-py"):
        try:
            return str(find_cifar10_dir(str(candidate) if candidate else None))
        except FileNotFoundError:
            continue
    return None


def bench_grading(report, sizes, repeats, wanted):
    missing = [nb for nb in NOTEBOOKS if not (KIT_ROOT / "notebooks" / nb).is_file()]
    data_dir = find_data_dir()
    reason = (f"notebooks/{' and notebooks/'.join(missing)} not found" if missing else
              None if data_dir else "no CIFAR-10 folder found (set CIFAR10_DIR)")
    if reason:
        for item in sorted(wanted & {5, 6, 7}):
            report.add(item, f"item{item}_skipped", f"skipped: {reason}", None, "")
        report.results["grading"] = {"skipped": reason}
        return
    grading_repeats = min(repeats, sizes.max_grading_repeats)
    if 5 in wanted and sizes.slow_items:
        bench_notebooks(report, data_dir, grading_repeats)
    elif 5 in wanted:
        report.add(5, "notebooks_skipped", "notebooks: skipped in --smoke", None, "")
    if not wanted & {6, 7}:
        return
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp:
        try:
            course, students = build_course(Path(tmp), sizes.submissions)
        except Exception as err:  # e.g. notebooks still being written: say so, keep the rest
            report.failures.append(f"could not release and collect: {type(err).__name__}: {err}")
            report.add(6, "autograde_failed", "autograding: release failed (see the errors below)",
                       None, "")
            return
        if 6 in wanted:
            bench_autograde(report, sizes, course, students, data_dir, grading_repeats)
        if 7 in wanted and sizes.slow_items:
            bench_one_submission(report, course, students[0], data_dir, grading_repeats, Path(tmp))
        elif 7 in wanted:
            report.add(7, "one_submission_skipped", "one submission vs bare run: skipped in --smoke",
                       None, "")


def quick_env(data_dir):
    return {**os.environ, "KIT_QUICK": "1", "CIFAR10_DIR": data_dir,
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}


def execute_notebooks(folder, env, notebooks=NOTEBOOKS):
    """Run notebooks top to bottom with nbclient in `folder` (kernel cwd); seconds per notebook."""
    import nbformat
    from nbclient import NotebookClient
    seconds = {}
    for name in notebooks:
        nb = nbformat.read(Path(folder) / name, as_version=4)
        client = NotebookClient(nb, timeout=NOTEBOOK_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}})
        start = time.perf_counter()
        client.execute(env=env)
        seconds[name] = time.perf_counter() - start
    return seconds


def bench_notebooks(report, data_dir, repeats):
    progress(f"item 5: both notebooks, quick setting, real data ({repeats} repeats)")
    env = quick_env(data_dir)
    runs = []
    try:
        for _round in range(repeats):
            runs.append(execute_notebooks(KIT_ROOT / "notebooks", env))
    except Exception as err:  # a failing notebook is a result to report, not a crash
        report.failures.append(f"a notebook failed in the quick setting: {type(err).__name__}: "
                               f"{str(err).strip().splitlines()[-1] if str(err).strip() else ''}")
        report.add(5, "notebooks_failed", "notebooks: failed (see the error below)", None, "")
        return
    seconds = {nb: statistics.median(r[nb] for r in runs) for nb in NOTEBOOKS}
    report.results["notebooks"] = {"seconds": seconds, "samples": runs, "data_dir": data_dir}
    for nb in NOTEBOOKS:
        report.add(5, f"notebook_{nb.split('.')[0]}_seconds", f"{nb}, quick setting, top to bottom",
                   seconds[nb], "s", "<= 60")


def build_course(root, count):
    """Release the kit into root/course and collect `count` demo submissions (mixed kinds)."""
    from kit import collect, demo, release
    progress(f"item 6: releasing the kit and collecting {count} submissions")
    course = root / "course"
    with contextlib.redirect_stdout(io.StringIO()):
        release.run(kit_root=KIT_ROOT, course=course, dist=root / "dist")
    kinds = demo.build_submissions(course, root / "kinds")  # reference, untouched, partial
    order = [kinds[0], kinds[2], kinds[1]]                    # reference first: item 7 grades it
    folders = []
    for i in range(count):
        kind = order[i % len(order)]
        target = root / "submissions" / f"s{i + 1:02d}_{kind.name.replace('demo_', '')}"
        shutil.copytree(kind, target)
        folders.append(target)
    results = collect.run(paths=[str(f) for f in folders], course_dir=course, verbose=False)
    refused = [r for r in results if r.refused]
    if refused:
        raise KitError(f"collect refused a benchmark submission: {refused[0].message}")
    return course, [f.name for f in folders]


def kit_grades(results):
    """{(student, notebook, grade_id): score} of the autograded cells, from autograde results."""
    grades = {}
    for result in results:
        for nb, graded in result["notebooks"].items():
            for gid, s in graded["scores"].items():
                if s.get("kind", "auto") == "auto":
                    grades[(result["student"], nb, gid)] = s["score"]
    return grades


def kit_autograde(course, students, data_dir, run_notebooks, **mode):
    from kit import autograde
    with contextlib.redirect_stdout(io.StringIO()):
        return autograde.run(course=course, students=students, data_dir=data_dir,
                             run_notebooks=run_notebooks, progress=False, **mode)


def bench_autograde(report, sizes, course, students, data_dir, repeats):
    graded = {"jobs_1": students[:sizes.jobs_1_submissions], "jobs_2": students}
    modes = {"jobs_1": lambda: kit_autograde(course, graded["jobs_1"], data_dir, sizes.run_notebooks, jobs=1),
             "jobs_2": lambda: kit_autograde(course, students, data_dir, sizes.run_notebooks, jobs=2)}
    if sizes.slow_items:
        graded["nbgrader"] = students
        modes["nbgrader"] = lambda: plain_nbgrader(course, data_dir, students)
    cluster = dask_cluster() if sizes.slow_items else contextlib.nullcontext()
    with cluster as address:
        if address:
            graded["dask_2_workers"] = students
            modes["dask_2_workers"] = lambda: kit_autograde(course, students, data_dir,
                                                            sizes.run_notebooks, scheduler=address)
        progress(f"item 6: grading {len(students)} submissions in modes {', '.join(modes)} "
                 f"({repeats} repeats)")
        samples, outputs, errors, busy = take_turns(modes, repeats)
    for name, error in errors.items():
        report.failures.append(f"grading mode {name} failed: {error}")
    grades = {name: [g if name == "nbgrader" else kit_grades(g) for g in runs]
              for name, runs in outputs.items() if runs}
    if not {"jobs_1", "jobs_2"} <= set(grades):
        report.add(6, "autograde_failed", "autograding: failed (see the errors below)", None, "")
        return
    autograde_rows(report, sizes, {name: len(graded[name]) for name in grades}, samples, grades, busy)


def take_turns(modes, repeats):
    """Run each mode `repeats` times in turns; (seconds lists, outputs lists, first error per
    mode, busy core-seconds lists: the whole machine's, None where /proc/stat is missing)."""
    samples = {name: [] for name in modes}
    outputs = {name: [] for name in modes}
    busy = {name: [] for name in modes}
    errors = {}
    names = list(modes)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if name in errors:
                continue
            start, cpu_start = time.perf_counter(), busy_core_seconds()
            try:
                outputs[name].append(modes[name]())
            except Exception as err:  # a broken mode is a result to report; the others go on
                errors[name] = f"{type(err).__name__}: {err}"
                continue
            samples[name].append(time.perf_counter() - start)
            cpu_end = busy_core_seconds()
            busy[name].append(None if cpu_start is None or cpu_end is None else cpu_end - cpu_start)
            progress(f"  {name}: {samples[name][-1]:.1f} s")
    return samples, outputs, errors, busy


def busy_core_seconds():
    """CPU seconds all cores have spent busy since boot (Linux /proc/stat), or None.

    The whole machine's, on purpose: sandboxed kernels are not children this process
    reaps, so its own rusage misses them; run the benchmark on an otherwise quiet machine.
    """
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq [steal guest guest_nice]: steal is time the
    # hypervisor gave to other machines, and guest time is counted in user already.
    busy = sum(fields[:7]) - fields[3] - (fields[4] if len(fields) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def autograde_rows(report, sizes, counts, samples, grades, busy):
    n = max(counts.values())
    per_submission = {name: statistics.median(s) / counts[name] for name, s in samples.items() if s}
    # Every run of every mode (repeats included) must give the grades of the first --jobs 2 run
    # (which graded every submission), on the submissions both graded.
    reference = grades["jobs_2"][0]
    same = {name: all(agree(g, reference) for g in runs) for name, runs in grades.items()}
    report.results["autograde"] = {
        "submissions": counts, "run_notebooks": sizes.run_notebooks,
        "seconds_per_submission": per_submission, "samples": samples, "busy_core_seconds": busy,
        "same_grades": same,
        "grades": {name: {"/".join(k): v for k, v in runs[-1].items()} for name, runs in grades.items()}}
    seconds = per_submission  # the ratios below compare seconds per submission
    for name, s in seconds.items():
        report.add(6, f"{name}_seconds_per_submission", f"{name.replace('_', ' ')}: s per submission",
                   s, "s")
    report.add(6, "jobs_2_speedup", f"--jobs 2 speed-up over --jobs 1 ({n} submissions)",
               ratio(seconds, "jobs_1", "jobs_2"), target=">= 1.7" if n >= 8 else "")
    if "nbgrader" in seconds:
        report.add(6, "nbgrader_vs_jobs_1", "nbgrader autograde (kit's course config) / --jobs 1",
                   ratio(seconds, "nbgrader", "jobs_1"), target=">= 1.0")
    if "dask_2_workers" in seconds:
        report.add(6, "dask_speedup", "Dask, 2 local workers: speed-up over --jobs 1",
                   ratio(seconds, "jobs_1", "dask_2_workers"))
    cpu_rows(report, counts, samples, busy, seconds)
    report.add(6, "same_grades", f"same grades in all modes and runs ({', '.join(same)})",
               all(same.values()), "", "== yes")
    for name, ok in same.items():
        if not ok:
            report.failures.append(f"grading mode {name} gave other grades than --jobs 2")
    if not reference:
        report.failures.append("grading produced no autograded scores at all")


def cpu_rows(report, counts, samples, busy, seconds):
    """How much of the machine each mode kept busy, and the --jobs 2 speed-up its CPU work
    allows: all cores busy for the whole run, against --jobs 1 as measured."""
    core_seconds = {}
    for name, runs in busy.items():
        pairs = [(b, s) for b, s in zip(runs, samples[name]) if b is not None]
        if not pairs:
            continue
        report.add(6, f"{name}_cores_busy", f"{name.replace('_', ' ')}: cores busy on average",
                   sum(b for b, _ in pairs) / sum(s for _, s in pairs), "cores")
        core_seconds[name] = statistics.median(b for b, _ in pairs) / counts[name]
        report.add(6, f"{name}_core_seconds_per_submission",
                   f"{name.replace('_', ' ')}: busy core-seconds per submission", core_seconds[name], "s")
    if "jobs_2" in core_seconds and "jobs_1" in seconds:
        floor = core_seconds["jobs_2"] / (os.cpu_count() or 1)
        report.add(6, "jobs_2_speedup_ceiling",
                   "--jobs 2 speed-up its CPU work allows (all cores busy)", seconds["jobs_1"] / floor)


def agree(grades, reference):
    """The reference's scores, exactly, for the submissions `grades` covers (at least one)."""
    students = {key[0] for key in grades}
    expected = {key: score for key, score in reference.items() if key[0] in students}
    return bool(grades) and grades == expected


def ratio(seconds, top, bottom):
    return seconds[top] / seconds[bottom] if top in seconds and bottom in seconds else None


@contextlib.contextmanager
def dask_cluster():
    """A two-worker Dask cluster on 127.0.0.1 (TCP); yields its address, or None without Dask."""
    try:
        from distributed import LocalCluster
    except ImportError:
        yield None
        return
    import logging
    environment = dict(os.environ)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        # Dask's nanny sets OMP/MKL/OPENBLAS_NUM_THREADS=1 in this process's environment for
        # its workers and leaves them there: nbgrader's and the bare run's kernels would then
        # inherit one-thread BLAS and look slower than they are.
        os.environ.clear()
        os.environ.update(environment)
        yield cluster.scheduler_address


def plain_nbgrader(course, data_dir, students):
    """`nbgrader autograde` as an instructor would run it in the course folder, with the
    configuration `kit release` wrote there (the kit's grading inside nbgrader); its grades."""
    from nbgrader.api import Gradebook
    from kit.course import coursedir, gradebook_url
    # Every submission in the (private) course: nbgrader's --student takes one id or a glob.
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force", "--log-level=ERROR"]
    proc = subprocess.run(command, cwd=course, env=quick_env(data_dir), capture_output=True, text=True)
    if proc.returncode != 0:
        raise KitError(f"nbgrader autograde failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    grades = {}
    with Gradebook(gradebook_url(course), coursedir(course).course_id) as gb:
        for student in students:
            for nb in NOTEBOOKS:
                notebook = gb.find_notebook(nb.replace(".ipynb", ""), ASSIGNMENT)
                for cell in notebook.grade_cells:
                    if cell.cell_type == "code":   # test cells; written answers are graded by hand
                        grade = gb.find_grade(cell.name, notebook.name, ASSIGNMENT, student)
                        grades[(student, nb, cell.name)] = grade.auto_score
    return grades


def bench_one_submission(report, course, student, data_dir, repeats, root):
    from kit.course import submitted_dir
    progress(f"item 7: grading {student} against the bare run of its notebooks ({repeats} repeats)")
    env = quick_env(data_dir)

    def bare():
        folder = root / "bare"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(submitted_dir(course, student), folder)
        return execute_notebooks(folder, env)

    candidates = {"grade": lambda: kit_autograde(course, [student], data_dir, True, jobs=1),
                  "bare_nbclient": bare}
    samples, _, errors, _ = take_turns(candidates, repeats)
    for name, error in errors.items():
        report.failures.append(f"item 7, {name} failed: {error}")
    if errors:
        report.add(7, "one_submission_failed", "one submission vs bare run: failed", None, "")
        return
    seconds = {name: statistics.median(s) for name, s in samples.items()}
    report.results["one_submission"] = {"student": student, "seconds": seconds, "samples": samples}
    report.add(7, "grade_one_seconds", "grading one submission (--jobs 1)", seconds["grade"], "s")
    report.add(7, "bare_run_seconds", "bare nbclient run of its two notebooks", seconds["bare_nbclient"], "s")
    report.add(7, "grade_vs_bare", "grading one submission / bare run",
               seconds["grade"] / seconds["bare_nbclient"], target="<= 1.3")


# ---------------------------------------------------------------- output


def machine_info():
    from threadpoolctl import threadpool_info
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": threadpool_info(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "load_before": os.getloadavg()}


def format_value(row):
    if row.value is None:
        return "-"
    if isinstance(row.value, bool):
        return "yes" if row.value else "NO"
    if row.unit == "x":
        return f"{row.value:.2f}x"
    if row.unit == "" and isinstance(row.value, float):
        return f"{row.value:.1e}"
    return f"{row.value:.3g} {row.unit}".strip() if row.unit in ("s", "GB/s", "cores") else str(row.value)


def format_table(report, machine):
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')}, "
                     f"{b.get('num_threads')} threads)" for b in machine["blas"] if b.get("user_api") == "blas")
    lines = [f"python -m bench{' --smoke (tiny sizes: the ratios mean nothing)' if report.smoke else ''}, "
             f"median of {report.repeats} (grading: of at most "
             f"{(SMOKE if report.smoke else FULL).max_grading_repeats})",
             f"machine: {machine['cpu']}, {machine['cpus']} CPUs; numpy {machine['numpy']}; {blas}; "
             f"load {machine['load_before'][0]:.2f} before, {machine['load_after'][0]:.2f} after",
             f"{'#':>2}  {'measurement':<62} {'value':>10}  {'target':<9} ok"]
    for row in report.rows:
        ok = "" if row.ok is None else ("yes" if row.ok else "NO")
        lines.append(f"{row.item:>2}  {row.label:<62} {format_value(row):>10}  {row.target:<9} {ok}")
    return "\n".join(lines)


def write_json(path, report, machine, sizes):
    payload = {"machine": machine, "settings": {"smoke": report.smoke, "repeats": report.repeats,
                                                "sizes": asdict(sizes)},
               "rows": [asdict(r) for r in report.rows], "results": report.results,
               "failures": report.failures}
    Path(path).write_text(json.dumps(payload, indent=1, default=str))
    print(f"Results: {path}")
