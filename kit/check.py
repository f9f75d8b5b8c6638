"""`python -m kit check`: a student's own check, run inside their assignment folder.

Runs the visible test cells of both notebooks against the student's classifiers/
(the same way the grader runs them: the setup cell, then each test cell alone, in a
fresh kernel), prints a table of what passes, then runs nbgrader's validate on each
notebook. Exits non-zero while anything fails. A released folder has no hidden tests,
so none can be shown.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from . import cells
from .autograde import KernelRunner, grade_tests
from .course import NOTEBOOKS, KitError

CELL_TIMEOUT = 300


def run(*, folder, validate=True, data_dir=None):
    folder = Path(folder).resolve()
    present = [nb for nb in NOTEBOOKS if (folder / nb).is_file()]
    if not present or not (folder / "classifiers").is_dir():
        raise KitError(f"expected {' and '.join(NOTEBOOKS)} beside classifiers/ in {folder}, "
                       "found none; run `python -m kit check` inside your assignment folder")
    env = {"KIT_QUICK": "1", **({"CIFAR10_DIR": str(data_dir)} if data_dir else {})}
    rows = []
    for name in present:
        rows += check_notebook(folder, name, env)
    failed = print_table(rows)
    missing = [nb for nb in NOTEBOOKS if nb not in present]
    for nb in missing:
        print(f"{nb}: missing from {folder}")
    invalid = [nb for nb in present if validate and not validate_notebook(folder / nb, env)]
    return 1 if failed or missing or invalid else 0


def check_notebook(folder, name, env):
    nb = nbformat.read(folder / name, as_version=4)
    tests = [i for i, cell in enumerate(nb.cells) if cells.is_test(cell)]
    runner = KernelRunner(make_kernel_manager=plain_kernel_manager, workdir=folder,
                          env={**os.environ, **env}, cell_timeout=CELL_TIMEOUT,
                          time_limit_note="the check's time limit was reached")
    grade_tests(runner, nb, tests, deadline=time.monotonic() + 20 * 60)
    return [(name, cells.grade_id(nb.cells[i]), cells.meta(nb.cells[i]).get("points", 0),
             cells.first_error(nb.cells[i])) for i in tests]


def plain_kernel_manager():
    """The student's own machine: an ordinary local kernel, no sandbox."""
    from jupyter_client.manager import AsyncKernelManager
    return AsyncKernelManager(kernel_name="python3")


def print_table(rows):
    width = max([len(r[1]) for r in rows] + [10])
    failed = 0
    print(f"{'notebook':<14} {'test cell':<{width}} {'points':>6}  result")
    for notebook, gid, points, error in rows:
        failed += error is not None
        result = "passed" if error is None else "FAILED  " + error.splitlines()[0][:100]
        print(f"{notebook:<14} {gid:<{width}} {points:>6g}  {result}")
    print(f"{len(rows) - failed} of {len(rows)} visible test cells pass "
          "(hidden tests run only when your submission is graded).")
    return failed


def validate_notebook(path, env):
    """nbgrader's own validate, in its own process (it changes directory while it runs)."""
    print(f"\nnbgrader validate {path.name}:")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path),
                           "--Execute.timeout=600"], env={**os.environ, **env},
                          capture_output=True, text=True)
    print(proc.stdout.strip() or proc.stderr.strip())
    return proc.returncode == 0 and "failed" not in proc.stdout.lower()
