"""What the benchmark measures with and what it prints: problem sizes, the Report of rows,
side-by-side timing, the table and the JSON file.

Inputs: callables to time, measured figures with their targets.
Returns: Report rows, median seconds, the printed table, the JSON written.
"""
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np




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
    fullsize_train: int       # item 8: training images of the tiled CIFAR-10 (50,000: full size)
    fullsize_test: int        # item 8: its test images
    fullsize_submissions: int # item 8: submissions graded (reference, partial, untouched, ...)
    fullsize_repeats: int     # items 8-9 take many minutes per repeat
    broken_kinds: tuple       # item 9: the broken submissions graded (bench/fullsize.py BROKEN_KINDS)
    broken_cell_timeout: object  # item 9: cell timeout in s; None: the course's own (120 s)
    hog_processes: int        # item 10: busy processes each kernel of the hog forks (limit: 64)
    hog_seconds: float        # item 10: how long they stay busy before they stop by themselves
    hog_repeats: int          # item 10: each repeat grades the reference twice, beside the hog once


FULL = Sizes(num_train=49000, dim=3073, num_classes=10, num_dev=500, train_iters=1500,
             batch_size=200, submissions=8, jobs_1_submissions=8, run_notebooks=True, slow_items=True,
             max_grading_repeats=3, fullsize_train=50_000, fullsize_test=10_000, fullsize_submissions=4,
             fullsize_repeats=1, broken_kinds=("hang_vectorized", "hang_import", "hang_train"),
             broken_cell_timeout=None, hog_processes=40, hog_seconds=120, hog_repeats=1)
SMOKE = Sizes(num_train=1500, dim=300, num_classes=10, num_dev=40, train_iters=30,
              batch_size=20, submissions=2, jobs_1_submissions=1, run_notebooks=False, slow_items=False,
              max_grading_repeats=1, fullsize_train=6000, fullsize_test=1000, fullsize_submissions=1,
              fullsize_repeats=1, broken_kinds=("hang_vectorized",), broken_cell_timeout=5,
              hog_processes=8, hog_seconds=10, hog_repeats=1)
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
    if row.unit == "MiB":
        return f"{row.value:,.0f} MiB"
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
