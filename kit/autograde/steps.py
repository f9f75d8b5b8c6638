"""The steps grading one submission is made of, one call each and always in this order:

1. `restore`: every notebook's locked and test cells restored from the instructor's source;
2. `run_sandboxed`: the sandboxed kernels of the whole submission side by side (one per
   notebook, the test cells, the trusted checks), in private working folders;
3. `judge`: the trusted checks' verdicts read from what the checking kernel sent, then
   each test cell concluded (a passing cell whose functions the checks find wrong scores 0);
4. `finish`: each notebook's scores and sanitized graded JSON, as a GradingResult.

`grade_submission` (`kit autograde`: this process, a process pool or Dask) is the four in a
row; nbgrader's autograde runs them as its own preprocessors (kit/nbgrader_steps.py), one
step each, so both paths grade with the same functions in the same order.
"""
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .grading import finish_notebook, remove_stale_folders, run_kernels, run_to_completion, TMP_PREFIX
from .result import GradingResult, failed_result
from .task import restore_notebook, write_files


@dataclass
class KernelRun:
    """What the kernels of one submission left for the later steps."""
    graded: dict                  # notebook name -> RestoredNotebook (outputs written in)
    tests: object                 # plans.TestPlan, its kernel's outputs in
    check_plan: object            # plans.CheckPlan, what the checking kernel sent
    test_problems: list           # Problems found by the test kernel
    check_problems: list          # Problems found by the checking kernel
    environment: list = field(default_factory=list)   # the grader's own failures (not the student's)
    found: dict = field(default_factory=dict)         # check -> names of the mistakes explaining it
    peaks: dict = field(default_factory=dict)         # kernel role -> memory peak in bytes
    judged: list = None           # the Problems `judge` found; None until it ran


def restore(task):
    """Step 1. Inputs: a GradingTask. Returns {notebook name: RestoredNotebook} for task.notebooks."""
    return {name: restore_notebook(task, name) for name in task.notebooks}


def run_sandboxed(task, graded, times=None, deadline=None):
    """Step 2: the submission's kernels at the same time, each on its own copy of the files.

    Inputs: task; graded, restore's notebooks (outputs are written into them); times, a
    dict receiving each cell's seconds (timing the reference); deadline, a time.monotonic()
    value (default: task.submission_timeout from now).
    Returns a KernelRun.
    """
    deadline = time.monotonic() + task.submission_timeout if deadline is None else deadline
    remove_stale_folders()
    with tempfile.TemporaryDirectory(prefix=f"{TMP_PREFIX}{os.getpid()}-") as tmp:
        roles = ["tests", "checks"] + [f"notebooks/{name}" for name in task.notebooks]
        for role in roles:
            write_files(Path(tmp) / role, {**task.master_files, **task.files})
        folders = {"tests": Path(tmp) / "tests", "checks": Path(tmp) / "checks",
                   "notebooks": Path(tmp) / "notebooks"}
        environment, peaks = [], {}
        tests, check_plan, test_problems, check_problems = run_to_completion(
            lambda: run_kernels(task, graded, folders, deadline, environment, times, peaks))
    return KernelRun(graded=graded, tests=tests, check_plan=check_plan, test_problems=test_problems,
                     check_problems=check_problems, environment=environment, peaks=peaks)


def judge(task, run):
    """Step 3: the trusted checks' verdicts, then every test cell concluded (scores written
    into run.graded's notebooks). Judged once: a second call returns the first's Problems.

    Returns the Problems judging found (also kept in run.judged)."""
    if run.judged is None:
        verdicts_by_check = run.check_plan.judge(run.found)
        run.judged = run.tests.conclude(run.graded, verdicts_by_check, task.files, run.found)
    return run.judged


def finish(task, run):
    """Step 4. Returns the submission's GradingResult (failed, with the reason, when the
    grader's own environment was at fault: a kernel that cannot start, data the sandbox
    cannot see)."""
    if run.environment:
        return failed_result(task, "; ".join(dict.fromkeys(run.environment)))
    problems = run.test_problems + judge(task, run) + run.check_problems
    return GradingResult(student=task.student, timestamp=task.timestamp,
                         notebooks={name: finish_notebook(task, name, run.graded[name]) for name in task.notebooks},
                         problems=list(task.problems) + problems, memory_peaks=run.peaks,
                         # By name, not in the order the checks finished: the same grading
                         # writes the same grading.json.
                         checks=dict(sorted(run.found.items())))


def grade_submission(task, times=None):
    """Grade one submission: the four steps in a row.

    Inputs: task, a GradingTask; times, a dict that receives how long each cell took
    (limits.CellInfo key -> seconds; for timing the reference solution).
    Returns its GradingResult.
    """
    deadline = time.monotonic() + task.submission_timeout
    graded = restore(task)
    run = run_sandboxed(task, graded, times, deadline)
    judge(task, run)
    return finish(task, run)
