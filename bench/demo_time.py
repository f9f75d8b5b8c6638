"""Item 11 of the benchmark: `python -m kit demo` as a new user runs it, timed whole.

The README promises the demo as a one-minute tour on an idle 2-core machine: release,
collect, autograde (test cells, a submission per core), feedback and the report. It runs
here as a separate process from the repository's root, in a fresh course folder, with
CIFAR-10 from `CIFAR10_DIR` (or the real subset beside the repository), exactly as typed,
`repeats` times (at most 3: each run is a whole demo); the figure is the median wall time,
beside the load average it ran under (a busy machine makes it slower; the target is for
an idle one).

Inputs: a Report, Sizes, repeats. Returns: rows added to the Report, report.results["demo"].
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kit.course import KIT_ROOT

from .grading import find_data_dir
from .report import progress

TARGET_SECONDS = 60


def bench_demo(report, sizes, repeats):
    data_dir = find_data_dir()
    runs, loads = [], []
    for attempt in range(min(3, repeats)):
        progress(f"item 11: python -m kit demo, run {attempt + 1}")
        with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
            env = {**os.environ, "CIFAR10_DIR": str(data_dir)}
            load = os.getloadavg()[0]
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "kit", "demo", "--course", str(Path(tmp) / "course"),
                                   "--dist", str(Path(tmp) / "dist")], cwd=KIT_ROOT, env=env,
                                  capture_output=True, text=True)
            runs.append(time.perf_counter() - start)
            loads.append(load)
        if proc.returncode != 0:
            report.failures.append(f"item 11: the demo exited {proc.returncode}: {proc.stdout[-500:]}{proc.stderr[-500:]}")
            return
    seconds = statistics.median(runs)
    report.add(11, "demo_seconds", "python -m kit demo, wall time (s), median", round(seconds, 1), "s",
               f"<= {TARGET_SECONDS}")
    report.add(11, "demo_load", "load average (1 min) when it started, median", round(statistics.median(loads), 2), "")
    report.results["demo"] = {"seconds": runs, "load": loads}
