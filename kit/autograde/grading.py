"""The kernels of one submission at the same time (one per notebook, the test cells, the
trusted checks) and a notebook's scores afterwards; kit/autograde/steps.py puts them in order."""
import asyncio
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from .. import cells, checks, sanitize, verdicts
from ..phrases import N_
from ..scores import AUTO
from .limits import Hangs
from .plans import CheckPlan, TestPlan, notebook_cell_info
from .result import NotebookResult
from .runner import grading_runner

MAX_NOTEBOOK_RESTARTS = 3       # after this many crashes the rest of a student notebook is skipped
CHECK_KERNEL_OWN_CELLS = 3      # the environment check, the runner and the import check
TMP_PREFIX = "kit-grade-"       # then the grading process's pid: remove_stale_folders reads it


def remove_stale_folders(folder=None):
    """Remove the working folders of gradings whose process is gone (a killed Dask worker or
    pool process cannot clean up after itself): each folder's name carries its process's pid,
    and /tmp is this machine's own. Returns the folders removed."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    for path in folder.glob(TMP_PREFIX + "*"):
        pid = path.name[len(TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)) or not path.is_dir() or path.is_symlink():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # alive, another user's
    return True


def run_to_completion(make_coroutine):
    """asyncio.run, also where an event loop is already running in this thread (nbgrader's
    autograde inside the Jupyter server behind formgrader's button): then in a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


async def run_kernels(task, graded, folders, deadline, environment, times=None, peaks=None):
    """The notebooks (one kernel each, side by side), the test cells and the trusted checks,
    each in kernels of their own, at the same time. Problems that are not the student's (a
    kernel that cannot start, data the sandbox cannot see) are appended to `environment`,
    each cell's time to `times`, each kernel role's memory peak to `peaks`. A hang the test
    kernel finds spares the other kernels' time (Hangs).

    Returns (the TestPlan, the CheckPlan, the test kernel's Problems, the checking kernel's
    Problems): judging what the checking kernel sent is the next step's (steps.judge)."""
    tests = TestPlan(graded)
    check_plan = CheckPlan(tests.checks, seed=checks.new_seed())
    hangs, times = Hangs(), {} if times is None else times
    record = Record(times, {} if peaks is None else peaks)
    jobs = [run_tests(task, tests, folders["tests"], deadline, environment, hangs, record),
            run_checks(task, check_plan, folders["checks"], deadline, environment, record)]
    if task.run_notebooks:
        # One kernel per notebook, side by side: a submission's longest chain is then its
        # longest notebook, not both (the notebooks share nothing but the files).
        jobs += [run_student_cells(task, name, graded[name], folders["notebooks"] / name, deadline,
                                   environment, hangs, record)
                 for name in graded if graded[name].nb is not None]
    test_problems, check_problems = (await asyncio.gather(*jobs))[:2]
    return tests, check_plan, test_problems, check_problems


class Record:
    """What the kernels of one submission measured: cell times and memory peaks per role."""

    def __init__(self, times, peaks):
        self.times, self.peaks = times, peaks

    def add(self, role, runner):
        self.times.update(runner.times)
        if runner.memory_peak is not None:
            self.peaks[role] = max(self.peaks.get(role, 0), runner.memory_peak)


async def run_student_cells(task, name, graded, workdir, deadline, environment, hangs, record):
    """Every code cell of one notebook but its test cells, for the outputs a grader reads by hand."""
    runner = grading_runner(task, workdir, environment, hangs)
    nb = graded.nb
    indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not cells.is_test(c)]
    problems = await runner.run(nb, indices, deadline, max_restarts=MAX_NOTEBOOK_RESTARTS,
                                info=notebook_cell_info(name, nb))
    graded.problems += [p.within(f"{name} cell {index}" if index is not None else name)
                           for index, p in problems]
    record.add("notebooks", runner)


async def run_tests(task, plan, workdir, deadline, environment, hangs, record):
    """The import check, then per notebook its setup cell and test cells, in one fresh kernel."""
    if not plan.slots:
        return []
    runner = grading_runner(task, workdir, environment, hangs)
    problems = await runner.run(plan.nb, plan.pending, deadline, max_restarts=len(plan.pending),
                                contexts=plan.contexts, fatal=[0], info=plan.info)
    plan.stopped = runner.notes
    record.add("tests", runner)
    return [p.within(plan.label(index)) for index, p in problems]


async def run_checks(task, plan, workdir, deadline, environment, record):
    """The trusted checks in a kernel of their own, where no test cell has run. Its first
    cell, run before any student code, also checks that the sandbox sees the data."""
    if not plan.calls:
        return []
    runner = grading_runner(task, workdir, environment)
    problems = await runner.run(plan.nb, list(range(len(plan.nb.cells))), deadline,
                                max_restarts=len(plan.calls), contexts=plan.contexts,
                                fatal=list(range(CHECK_KERNEL_OWN_CELLS)), info=plan.info)
    record.add("checks", runner)
    environment += [o.get("evalue", "") for o in plan.nb.cells[0].outputs
                    if o.get("output_type") == "error"]
    return [p.within(f"trusted checks ({plan.labels.get(index, 'kernel')})")
            for index, p in problems if index is not None and index >= CHECK_KERNEL_OWN_CELLS]


def finish_notebook(task, name, graded):
    """A NotebookResult: the scores of one restored notebook and its sanitized JSON text."""
    if graded.nb is None:
        reason = graded.problems[0].message
        note = [N_("Not graded: {reason}.").format(reason=reason)]
        scores = {gid: s.with_feedback(note) for gid, s in cells.zero_scores(graded.source, reason).items()}
        return NotebookResult(graded=task.release_notebooks[name], scores=scores, problems=graded.problems)
    nb = graded.nb
    scores = {gid: s.with_feedback(graded.feedback.get(gid) or (verdicts.PASSED if s.passed else [N_("Not run.")]))
              if s.kind == AUTO else s
              for gid, s in cells.scores(nb, graded.release).items()}
    return NotebookResult(graded=nbformat.writes(sanitize.graded_notebook(nb)), scores=scores,
                          problems=graded.problems)
