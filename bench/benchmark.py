"""`python -m bench`: how fast the kit is, against what the machine can do.

Every figure is a ratio of two timings taken side by side in one run (the candidates
take turns, repeat after repeat; each figure is the median), because the machine is
shared and absolute seconds drift with the load. Items:
1. vectorized losses (and the blocked one-pass losses of bench/blocked.py) against the
   two-pass floor: `X @ W` plus `X.T @ G` alone on the same arrays;
2. the same losses against the one-pass memory floor: reading X once (`X.sum()`);
3. naive against vectorized losses on the 500-example dev shape;
4. LinearClassifier.train (1,500 iterations of 200) against the loss call alone;
5. both notebooks run top to bottom (real CIFAR-10 data);
6. autograding: `kit autograde --jobs 1`, `--jobs 2`, plain `nbgrader autograde` and a
   two-worker local Dask cluster on the same submissions, with identical grades;
7. grading one submission against the bare nbclient run of its two notebooks;
8. grading at full size (the CIFAR-10 subset tiled to 50,000 + 10,000 images): stock
   nbgrader (its own pipeline) against `kit autograde --jobs 2` and nbgrader with the kit's
   configuration, per submission, with the memory of the kernels and the grading processes;
9. broken submissions (an endless loop in the vectorized SVM loss, at import, in training),
   each graded alone against the reference (--jobs 1, the real subset): their extra seconds;
10. a correct submission (the reference) graded alone and beside a CPU hog (a submission
   whose every kernel forks 40 busy processes), --jobs 2, tests only: its time beside the
   hog over its time alone, and how the sandbox shares the cores (cgroup cpu share or nice);
11. `python -m kit demo` as typed, timed whole (the README's one-minute tour), with the load.
Timing data is random (CIFAR-shaped float64); items 5-10 need the notebooks and CIFAR-10.
`--smoke` uses tiny sizes, grades two submissions (test cells only), tiles a small data set
for item 8, grades one broken kind with a 5 s cell timeout for item 9, runs a hog of 8 processes
for 10 s in item 10 and skips the slow items: it proves the benchmark works, its ratios mean
nothing.
"""
import os
import sys
import time

from kit.course import KitError

from .demo_time import bench_demo
from .fullsize import bench_broken, bench_fullsize
from .grading import bench_grading
from .hog import bench_hog
from .losses import bench_losses, bench_naive, bench_training, training_arrays
from .report import FULL, SMOKE, Report, format_table, machine_info, write_json


ITEMS = tuple(range(1, 12))


def run(*, json_path=None, smoke=False, repeats=5, items=ITEMS):
    """Run the benchmark's `items` (1-11; 1 and 2 run together), print the table, write
    `json_path`; return 0, or 1 when a result was wrong."""
    if repeats < 1:
        raise KitError(f"expected --repeats of at least 1, got {repeats} instead")
    wanted = set(items)
    if not wanted or not wanted <= set(ITEMS):
        raise KitError(f"expected items among {ITEMS[0]}-{ITEMS[-1]}, got {sorted(items)} instead")
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
    if 8 in wanted:
        bench_fullsize(report, sizes, repeats)
    if 9 in wanted:
        bench_broken(report, sizes, repeats)
    if 10 in wanted:
        bench_hog(report, sizes, repeats)
    if 11 in wanted:
        bench_demo(report, sizes, repeats)
    machine["load_after"] = os.getloadavg()
    machine["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(format_table(report, machine))
    if json_path:
        write_json(json_path, report, machine, sizes)
    for failure in report.failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if report.failures else 0
