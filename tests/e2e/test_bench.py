"""The blocked one-pass losses (bench/blocked.py) and the benchmark command: correctness only.

Nothing here measures time: the smoke benchmark must run end to end and write its JSON,
and the blocked losses must equal the plain vectorized ones to 1e-12 (relative).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from bench import blocked
from classifiers.linear_svm import svm_loss_vectorized
from classifiers.softmax import softmax_loss_vectorized

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAIN = {"svm": svm_loss_vectorized, "softmax": softmax_loss_vectorized}
ALL_PLANS = [blocked.Plan(block, orientation, threads) for block in (128, 256)
             for orientation in blocked.ORIENTATIONS for threads in blocked.THREADINGS]


def rel_diff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def problem(num_train, dim=70, num_classes=10, scale=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_train, dim))
    y = rng.integers(0, num_classes, num_train)
    W = scale * rng.standard_normal((dim, num_classes))
    return W, X, y


@pytest.mark.parametrize("kind", ["svm", "softmax"])
@pytest.mark.parametrize("num_train", [1, 5, 128, 300, 1000 + 37])
@pytest.mark.parametrize("plan", ALL_PLANS, ids=str)
def test_blocked_equals_vectorized(kind, num_train, plan):
    # 300 and 1037 are not multiples of any block; 1 and 5 are smaller than a block.
    W, X, y = problem(num_train, seed=num_train)
    for reg in (0.0, 0.3):
        loss, dW = blocked.blocked_loss(kind, W, X, y, reg, plan)
        loss_ref, dW_ref = PLAIN[kind](W, X, y, reg)
        assert isinstance(loss, float)
        assert dW.shape == W.shape and dW.dtype == np.float64
        assert rel_diff(loss, loss_ref) < 1e-12, (kind, plan, reg)
        assert rel_diff(dW, dW_ref) < 1e-12, (kind, plan, reg)


@pytest.mark.parametrize("kind", ["svm", "softmax"])
def test_blocked_on_cifar_shaped_rows(kind):
    # D = 3073 as in the assignment, N not a multiple of the block, both orientations.
    W, X, y = problem(1500 + 11, dim=3073, scale=0.001, seed=3)
    loss_ref, dW_ref = PLAIN[kind](W, X, y, 2.5e-5)
    for orientation in blocked.ORIENTATIONS:
        for threads in blocked.THREADINGS:
            loss, dW = blocked.blocked_loss(kind, W, X, y, 2.5e-5, blocked.Plan(512, orientation, threads))
            assert rel_diff(loss, loss_ref) < 1e-12
            assert rel_diff(dW, dW_ref) < 1e-12


def test_softmax_blocked_large_scores_stay_finite():
    # A +1000 offset on every score: the max shift must keep exp() finite.
    W, X, y = problem(300, seed=5)
    X[:, -1] = 1.0
    W[-1, :] += 1000.0
    loss, dW = blocked.softmax_loss_blocked(W, X, y, 0.0, blocked.Plan(128, "cols", 2))
    loss_ref, dW_ref = softmax_loss_vectorized(W, X, y, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert rel_diff(loss, loss_ref) < 1e-12 and rel_diff(dW, dW_ref) < 1e-12


def test_public_wrappers_and_tuned_plan():
    W, X, y = problem(600, seed=7)
    plan = blocked.best_plan(X, W)
    assert isinstance(plan, blocked.Plan)
    assert plan.block in blocked.BLOCK_SIZES and plan.orientation in blocked.ORIENTATIONS
    assert plan.threads in blocked.THREADINGS
    for threads in blocked.THREADINGS:
        assert blocked.best_plan(X, W, threads=threads).threads == threads
    assert blocked.best_plan(X, W) is plan  # remembered, not measured again
    for fast, kind in ((blocked.svm_loss_blocked, "svm"), (blocked.softmax_loss_blocked, "softmax")):
        loss, dW = fast(W, X, y, 0.1)  # plan=None: the remembered plan
        loss_ref, dW_ref = PLAIN[kind](W, X, y, 0.1)
        assert rel_diff(loss, loss_ref) < 1e-12 and rel_diff(dW, dW_ref) < 1e-12


def test_blocked_does_not_modify_inputs():
    W, X, y = problem(260, seed=9)
    copies = (W.copy(), X.copy(), y.copy())
    for kind in ("svm", "softmax"):
        for plan in ALL_PLANS:
            blocked.blocked_loss(kind, W, X, y, 0.1, plan)
    for before, after in zip(copies, (W, X, y)):
        assert np.array_equal(before, after)


@pytest.mark.parametrize("args, message", [
    (dict(X=np.zeros((4, 3))), "same D"),
    (dict(y=np.array([0, 1, 2, 10, 1])), "labels in"),
    (dict(y=np.array([0.0, 1.0, 2.0, 1.0, 1.0])), "integer labels"),
    (dict(y=np.array([0, 1])), "expected y of shape"),
    (dict(X=np.zeros((0, 7))), "at least one example"),
])
def test_bad_inputs_raise_with_explanations(args, message):
    W, X, y = problem(5, dim=7, num_classes=4)
    inputs = dict(W=W, X=X, y=y)
    inputs.update(args)
    with pytest.raises(ValueError, match=message):
        blocked.svm_loss_blocked(inputs["W"], inputs["X"], inputs["y"], 0.0, blocked.Plan())


@pytest.mark.parametrize("kwargs", [dict(block=0), dict(orientation="diagonal"), dict(threads=3)])
def test_bad_plans_raise(kwargs):
    with pytest.raises(ValueError, match="expected"):
        blocked.Plan(**kwargs)


def test_unknown_loss_raises():
    W, X, y = problem(5)
    with pytest.raises(ValueError, match="expected a loss"):
        blocked.blocked_loss("hinge", W, X, y, 0.0)


def test_smoke_benchmark_runs_end_to_end(tmp_path):
    target = tmp_path / "bench.json"
    # Item 10 (a reference beside a CPU hog) is left out: it takes about a minute even with
    # --smoke; tests/unit/test_bench_hog.py tests its pieces.
    proc = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--repeats", "2",
                           "--items", "1,2,3,4,5,6,7,8,9", "--json", str(target)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "two-GEMM floor" in proc.stdout
    report = json.loads(target.read_text())
    assert set(report) >= {"machine", "settings", "rows", "results", "failures"}
    assert report["settings"]["smoke"] is True and report["failures"] == []
    assert report["machine"]["numpy"] == np.__version__
    assert {"losses", "naive_vs_vectorized", "training"} <= set(report["results"])
    seconds = report["results"]["losses"]["seconds"]
    assert {"read", "two_gemm", "svm_vectorized", "softmax_vectorized",
            "svm_blocked", "softmax_blocked"} <= set(seconds)
    rows = {row["key"]: row for row in report["rows"]}
    for key in ("svm_vectorized_vs_two_gemm", "softmax_blocked_vs_two_gemm", "svm_vectorized_vs_read",
                "svm_naive_vs_vectorized", "softmax_train_overhead", "svm_train_overhead_1_thread"):
        assert rows[key]["value"] > 0, key
    for kind in ("svm", "softmax"):
        assert rows[f"{kind}_blocked_exactness"]["value"] <= 1e-12
        # The rows come from the measured seconds they name.
        measured = report["results"]["training"]["seconds"]
        loss = measured[f"{kind}_loss_calls"]
        assert rows[f"{kind}_train_sampling_share"]["value"] * loss == pytest.approx(measured["sampling"])
        assert rows[f"{kind}_train_rest_share"]["value"] * loss == pytest.approx(
            measured[f"{kind}_train"] - measured["sampling"] - loss)
    grading = report["results"].get("autograde")
    if grading is None:  # no notebooks or no CIFAR-10 here: the benchmark says why
        assert any(r["key"].endswith("_skipped") for r in report["rows"])
        return
    assert grading["same_grades"] and all(grading["same_grades"].values())
    from bench.grading import busy_core_seconds
    if busy_core_seconds() is not None:
        for mode in ("jobs_1", "jobs_2"):
            assert 0 < rows[f"{mode}_cores_busy"]["value"] <= os.cpu_count() + 0.2, mode
            assert rows[f"{mode}_core_seconds_per_submission"]["value"] > 0, mode
        assert rows["jobs_2_speedup_ceiling"]["value"] > 0
    grades = grading["grades"]["jobs_1"]
    assert grades and all(v is not None for v in grades.values())
    assert any(v > 0 for v in grades.values())  # the reference submission earns points


def test_busy_core_seconds_counts_work_and_says_when_it_cannot(monkeypatch):
    import io
    from bench import grading
    before = grading.busy_core_seconds()
    if before is None:
        print("no /proc/stat on this system: the benchmark reports no CPU figures")
        pytest.skip("no /proc/stat on this system: the benchmark reports no CPU figures")
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:  # busy for 0.3 s on one core
        pass
    assert grading.busy_core_seconds() - before >= 0.1

    # user nice system idle iowait irq softirq steal guest guest_nice, in clock ticks:
    # busy = user + nice + system + irq + softirq (steal is another machine's, guest is in user).
    line = "cpu  1000 20 300 5000 400 6 7 800 90 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n"
    monkeypatch.setattr("builtins.open", lambda *a, **k: io.StringIO(line))
    monkeypatch.setattr(grading.os, "sysconf", lambda name: 100)
    assert grading.busy_core_seconds() == pytest.approx((1000 + 20 + 300 + 6 + 7) / 100)

    def no_proc(*args, **kwargs):
        raise FileNotFoundError("/proc/stat")
    monkeypatch.setattr("builtins.open", no_proc)
    assert grading.busy_core_seconds() is None


def test_items_run_only_what_is_asked(capsys):
    from bench import benchmark
    assert benchmark.run(smoke=True, repeats=1, items=(3,)) == 0
    table = capsys.readouterr().out
    items = {line.split()[0] for line in table.splitlines()[3:] if line.strip()}
    assert items == {"3"}, table


def test_dask_cluster_leaves_the_blas_settings_of_this_process_alone(monkeypatch):
    """Dask's nanny sets one-thread BLAS in the parent's environment; the benchmark's nbgrader
    and bare runs inherit this environment, so the cluster must leave it as it was."""
    from bench import grading
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    with grading.dask_cluster() as address:
        assert address
        assert "OPENBLAS_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ
