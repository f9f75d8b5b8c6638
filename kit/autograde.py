"""`python -m kit autograde`: grade every submission with nbgrader's cell conventions.

Grading one submission is one task with plain inputs and outputs (`GradingTask` in,
a dict of scores, graded notebooks and feedback HTML out), so the same function runs
in this process, in a local process pool (`--jobs N`) or on Dask workers. Only the
calling process writes the course directory and the gradebook.

Per notebook, the task:
1. restores every locked cell and test cell from the instructor's source notebook
   (hidden tests included), re-inserting deleted ones and dropping nbgrader metadata
   that the source does not know (cells.py);
2. runs the student's notebook in a sandboxed kernel, test cells left out;
3. runs the setup cell and the test cells in a second, fresh sandboxed kernel that
   no student notebook cell has touched, and takes the test cells' outputs from it;
4. scores each test cell from what that kernel did (an error, a timeout or a dead
   kernel costs the cell's points; text on stderr such as warnings does not), and
   each written answer as nbgrader does (unchanged = 0, else left for a grader).
A kernel that dies or a cell that times out costs that cell; a fresh kernel runs the
cells after it, so one crash never takes the rest of the submission with it.
"""
import asyncio
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import cells, feedback, probes, sandbox
from .course import (ASSIGNMENT, NOTEBOOKS, KitError, release_dir, source_dir, submitted_dir)

DEFAULT_CELL_TIMEOUT = 120      # seconds; nbgrader's 30 s is too short for training cells
DEFAULT_SUBMISSION_TIMEOUT = 1200
IMPORT_CHECK = "import classifiers"
MAX_NOTEBOOK_RESTARTS = 3
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")       # after this many crashes the rest of a student notebook is skipped


@dataclass
class GradingTask:
    """Everything needed to grade one submission, as plain data (picklable, no paths to share)."""
    student: str
    files: dict                  # relative path -> bytes: the student's notebooks and classifiers/*.py
    master_files: dict           # relative path -> bytes: everything else, from the release
    source_notebooks: dict       # notebook name -> source notebook JSON (with hidden tests)
    release_notebooks: dict      # notebook name -> released notebook JSON
    data_dir: str = None         # CIFAR-10 folder, bound read-only into the sandbox
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    submission_timeout: float = DEFAULT_SUBMISSION_TIMEOUT
    quick: bool = True
    run_notebooks: bool = True   # False: only the setup and test cells run (scores are the same)
    blas_threads: int = None     # BLAS threads per kernel; None leaves the library's default
    require_isolation: bool = False
    timestamp: str = None
    problems: list = field(default_factory=list)


def grade_submission(task):
    """Grade one submission in a private working folder; return scores, notebooks and feedback."""
    deadline = time.monotonic() + task.submission_timeout
    with tempfile.TemporaryDirectory(prefix="kit-grade-") as tmp:
        workdir = Path(tmp) / "work"
        write_files(workdir, {**task.master_files, **task.files})
        runner = grading_runner(task, workdir)
        graded = {name: run_notebook(task, name, runner, deadline) for name in NOTEBOOKS}
        problems = list(task.problems) + check_trusted(runner, graded, deadline)
    notebooks = {name: finish_notebook(task, name, graded[name]) for name in NOTEBOOKS}
    result = {"student": task.student, "timestamp": task.timestamp, "notebooks": notebooks,
              "problems": problems}
    result["status"] = summarize_status(result)
    return result


def write_files(root, files):
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run_notebook(task, name, runner, deadline):
    """Restore, run and test one notebook; None for the notebook when it cannot be graded."""
    source = nbformat.reads(task.source_notebooks[name], as_version=4)
    release = nbformat.reads(task.release_notebooks[name], as_version=4)
    submitted, problem = read_submitted(task.files.get(name), name)
    if submitted is None:
        return {"nb": None, "source": source, "release": release, "problems": [problem]}
    nb, problems = cells.restore(submitted, source, release)
    tests = [i for i, cell in enumerate(nb.cells) if cells.is_test(cell)]
    if task.run_notebooks:
        student_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and i not in tests]
        problems += runner.run(nb, student_cells, deadline, max_restarts=MAX_NOTEBOOK_RESTARTS)
    problems += grade_tests(runner, nb, tests, deadline)
    return {"nb": nb, "source": source, "release": release, "problems": problems}


def check_trusted(runner, graded, deadline):
    """Call each student function the passing test cells use in a fresh kernel; judge outside.

    A passing test cell whose functions give wrong results there gets an error output, so
    it scores 0 like any failing cell (probes.py says why this is needed).
    """
    passing = [cell for g in graded.values() if g["nb"] is not None for cell in g["nb"].cells
               if cells.is_test(cell) and cells.first_error(cell) is None]
    targets = set().union(*(probes.checks_for(cell) for cell in passing)) if passing else set()
    if not targets:
        return []
    runner_source, calls = probes.prepare(runner.workdir, targets)
    setup = next(g["nb"] for g in graded.values() if g["nb"] is not None)
    scratch = nbformat.v4.new_notebook(cells=[cells.setup_cell(setup), nbformat.v4.new_code_cell(runner_source)]
                                       + [nbformat.v4.new_code_cell(c) for c in calls])
    problems = runner.run(scratch, range(2, len(scratch.cells)), deadline,
                          max_restarts=len(calls), prelude=[0, 1])
    verdicts = probes.judge(runner.workdir, targets)
    for cell in passing:
        wrong = [verdicts[t] for t in sorted(probes.checks_for(cell)) if verdicts[t]]
        if wrong:
            cell.outputs.append(cells.error_output(
                "TrustedCheckFailed", "the grader's own check of your code disagrees with this test "
                "cell's result: " + "; ".join(wrong)))
    return [f"trusted check: {v}" for v in verdicts.values() if v] + problems


def finish_notebook(task, name, graded):
    if graded["nb"] is None:
        scores = cells.zero_scores(graded["source"], graded["problems"][0])
        return {"graded": task.release_notebooks[name], "scores": scores,
                "problems": graded["problems"],
                "feedback": feedback.render(graded["release"], scores, graded["problems"])}
    nb = graded["nb"]
    scores = cells.scores(nb, graded["release"])
    return {"graded": nbformat.writes(nb), "scores": scores, "problems": graded["problems"],
            "feedback": feedback.render(nb, scores, graded["problems"])}


def grading_runner(task, workdir):
    """Kernels for grading: sandboxed, with the data folder and the quick setting in their env."""
    env = {"KIT_QUICK": "1" if task.quick else "0"}
    if task.blas_threads:
        # Kernels graded side by side would otherwise each start one BLAS thread per core.
        env.update({var: str(task.blas_threads) for var in BLAS_THREAD_VARIABLES})
    readonly = []
    if task.data_dir:
        env["CIFAR10_DIR"] = task.data_dir
        readonly.append(task.data_dir)
    limit = task.submission_timeout
    return KernelRunner(
        make_kernel_manager=lambda: sandbox.kernel_manager(
            workdir=workdir, readonly=readonly, require_isolation=task.require_isolation),
        workdir=workdir, env=env, cell_timeout=task.cell_timeout,
        time_limit_note=f"the submission's time limit ({limit:.0f} s) was reached")


def read_submitted(data, name):
    if data is None:
        return None, f"{name}: missing notebook (not in the submission)"
    try:
        return nbformat.reads(data.decode("utf-8"), as_version=4), None
    except Exception as err:  # any unreadable file is the student's problem, not the grader's
        return None, f"{name}: unreadable notebook ({type(err).__name__}: {err})"


def grade_tests(runner, nb, tests, deadline):
    """Run the setup cell, an import check and the test cells alone in a fresh kernel."""
    if not tests:
        return []
    scratch = nbformat.v4.new_notebook(
        cells=[cells.setup_cell(nb), nbformat.v4.new_code_cell(IMPORT_CHECK)]
        + [nb.cells[i] for i in tests], metadata=nb.metadata)
    for cell in scratch.cells:
        cell.outputs = []
    # A package that hangs or kills the kernel on import fails every test the same way, once.
    problems = runner.run(scratch, range(1, len(scratch.cells)), deadline,
                          max_restarts=len(tests), prelude=[0], fatal=[1])
    for index, cell in zip(tests, scratch.cells[2:]):
        nb.cells[index].outputs = cell.outputs
    return problems


class KernelRunner:
    """Execute chosen cells of a notebook in sandboxed kernels, replacing dead or stuck ones.

    `prelude` cells run first in every new kernel (their outputs kept from the first run
    only); when a `fatal` cell times out or kills its kernel, the remaining cells are not run.
    """

    def __init__(self, *, make_kernel_manager, workdir, env, cell_timeout, time_limit_note):
        self.make_kernel_manager, self.workdir, self.env = make_kernel_manager, workdir, env
        self.cell_timeout, self.time_limit_note = cell_timeout, time_limit_note

    def run(self, nb, indices, deadline, max_restarts, prelude=(), fatal=()):
        return asyncio.run(self._run(nb, list(indices), deadline, max_restarts, prelude, fatal))

    async def _run(self, nb, pending, deadline, max_restarts, prelude, fatal):
        problems, restarts = [], 0
        while pending:
            client = self._client(nb)
            try:
                async with client.async_setup_kernel(env=self.env, cleanup_kc=True):
                    for index in prelude:
                        saved = nb.cells[index].outputs if restarts else None
                        await self._execute(client, nb, index, deadline)
                        if saved is not None:
                            nb.cells[index].outputs = saved
                    while pending:
                        index = pending.pop(0)
                        failure = await self._execute(client, nb, index, deadline)
                        if failure:
                            problems.append(f"cell {index}: {failure}")
                            if index in fatal:
                                return problems + self._skip(nb, pending, failure)
                            break
            except (RuntimeError, TimeoutError, OSError) as err:
                reason = f"the kernel could not start ({type(err).__name__}: {err})"
                return problems + self._skip(nb, pending, reason)
            restarts += 1
            if pending and restarts > max_restarts:
                return problems + self._skip(nb, pending, "not run after repeated kernel failures")
        return problems

    async def _execute(self, client, nb, index, deadline):
        """Run one cell; return why its kernel must be replaced (timeout, death) or None."""
        cell = nb.cells[index]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            message = self.time_limit_note
            cell.outputs = [cells.error_output("TimeLimit", message)]
            return message
        client.timeout = int(max(1, min(self.cell_timeout, remaining)))
        try:
            await client.async_execute_cell(cell, index)
        except CellTimeoutError:
            message = f"timeout: the cell ran longer than {client.timeout} s and was stopped"
        except DeadKernelError:
            message = sandbox.death_reason(client.km)
        else:
            return None
        cell.outputs.append(cells.error_output("KernelFailure", message))
        return message

    def _client(self, nb):
        km = self.make_kernel_manager()
        return NotebookClient(nb, km=km, timeout=int(self.cell_timeout), allow_errors=True,
                              interrupt_on_timeout=False, kernel_name="python3",
                              on_cell_executed=record_silent_error,
                              resources={"metadata": {"path": str(self.workdir)}})

    @staticmethod
    def _skip(nb, pending, reason):
        for index in pending:
            nb.cells[index].outputs = [cells.error_output("NotRun", f"not run: {reason}")]
        pending.clear()
        return [f"not run: {reason}"]


STATUS_WORDS = (("missing notebook", "missing notebook"), ("unreadable", "unreadable notebook"),
                ("timeout", "timeout"), ("time limit", "time limit"), ("exceeded", "resource limit"),
                ("died", "dead kernel"), ("importing classifiers", "import failed"),
                ("trusted check", "trusted check failed"), ("restored", "cells restored"))


def record_silent_error(cell, cell_index, execute_reply):
    """A cell whose reply says it failed fails, even if its traceback display was silenced."""
    content = execute_reply.get("content", {})
    if content.get("status") == "error" and cells.first_error(cell) is None:
        cell.outputs.append(cells.error_output(content.get("ename", "Error"),
                                               content.get("evalue", "the cell raised an error")))


def summarize_status(result):
    """A few words for grades.csv: what kept this submission from a plain, full grading."""
    problems = result["problems"] + [p for nb in result["notebooks"].values() for p in nb["problems"]]
    kinds = []
    for problem in problems:
        word = next((word for key, word in STATUS_WORDS if key in problem), None)
        if word and word not in kinds:
            kinds.append(word)
    return "; ".join(kinds) if kinds else "ok"


# ---------------------------------------------------------------- orchestration


def run(*, course, students=None, jobs=1, scheduler=None, cell_timeout=DEFAULT_CELL_TIMEOUT,
        submission_timeout=DEFAULT_SUBMISSION_TIMEOUT, data_dir=None, quick=True,
        run_notebooks=True, require_isolation=False, progress=True):
    """Grade the named (or all) submitted students; write gradebook, autograded, feedback, grades.csv."""
    from . import grades
    course = Path(course)
    check_course(course)
    students = pick_students(course, students)
    if jobs < 1:
        raise KitError(f"expected --jobs of at least 1, got {jobs} instead")
    data_dir = resolve_data_dir(data_dir)
    settings = dict(data_dir=data_dir, cell_timeout=cell_timeout, submission_timeout=submission_timeout,
                    quick=quick, run_notebooks=run_notebooks, require_isolation=require_isolation,
                    blas_threads=None if scheduler else max(1, (os.cpu_count() or 1) // jobs))
    tasks = [make_task(course, student, **settings) for student in students]
    results = []
    for result in execute_tasks(tasks, jobs=jobs, scheduler=scheduler, progress=progress):
        grades.store(course, result)
        results.append(result)
    results.sort(key=lambda r: r["student"])
    grades.write_reports(course)
    return results


def check_course(course):
    for path, what in ((source_dir(course), "source"), (release_dir(course), "release"),
                       (course / "gradebook.db", "gradebook")):
        if not path.exists():
            raise KitError(f"expected the {what} at {path}, found nothing; run `python -m kit release` first")


def pick_students(course, students):
    root = submitted_dir(course)
    available = sorted(p.name for p in root.iterdir() if (p / ASSIGNMENT).is_dir()) if root.is_dir() else []
    if not students:
        if not available:
            raise KitError(f"no submissions under {root}; run `python -m kit collect PATH...` first")
        return available
    unknown = [s for s in students if s not in available]
    if unknown:
        raise KitError(f"no submission for {', '.join(unknown)} under {root} "
                       f"(submitted: {', '.join(available) or 'none'})")
    return list(students)


def resolve_data_dir(data_dir):
    """The CIFAR-10 folder the student notebooks will load (bound read-only into the sandbox)."""
    from utils.data_utils import find_cifar10_dir
    try:
        return str(find_cifar10_dir(str(data_dir) if data_dir else None))
    except FileNotFoundError as err:
        raise KitError(f"grading runs the notebooks, which need CIFAR-10: {err}") from None


def make_task(course, student, **settings):
    submission = submitted_dir(course, student)
    release = release_dir(course)
    files, problems = cells.student_files(submission)
    master = {str(p.relative_to(release)): p.read_bytes() for p in sorted(release.rglob("*"))
              if p.is_file() and p.suffix != ".ipynb" and "__pycache__" not in p.parts
              and str(p.relative_to(release)) not in files}
    stamp = submission / "timestamp.txt"
    return GradingTask(
        student=student, files=files, master_files=master,
        source_notebooks={nb: (source_dir(course) / nb).read_text() for nb in NOTEBOOKS},
        release_notebooks={nb: (release / nb).read_text() for nb in NOTEBOOKS},
        timestamp=stamp.read_text().strip() if stamp.is_file() else None, problems=problems,
        **settings)


def execute_tasks(tasks, *, jobs, scheduler=None, progress=True):
    """Yield results as tasks finish; a task that raises becomes a result with that error."""
    from tqdm import tqdm
    bar = tqdm(total=len(tasks), desc="Grading", unit="submission", disable=not progress)
    try:
        if scheduler:
            yield from _on_dask(tasks, scheduler, bar)
        elif jobs == 1 or len(tasks) == 1:
            for task in tasks:
                yield _guarded(task)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(_guarded, task): task for task in tasks}
                for future in as_completed(futures):
                    yield _result_or_failure(future, futures[future])
                    bar.update()
    finally:
        bar.close()


def _on_dask(tasks, scheduler, bar):
    from distributed import Client, as_completed as dask_completed
    with Client(scheduler) as client:
        futures = client.map(_guarded, tasks, pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for future in dask_completed(futures):
            yield _result_or_failure(future, by_key[future.key])
            bar.update()


def _result_or_failure(future, task):
    try:
        return future.result()
    except Exception as err:  # a worker process lost, for example
        return failed_result(task, f"grading crashed: {type(err).__name__}: {err}")


def _guarded(task):
    try:
        return grade_submission(task)
    except Exception as err:
        return failed_result(task, f"grading crashed: {type(err).__name__}: {err}")


def failed_result(task, message):
    return {"student": task.student, "timestamp": task.timestamp, "notebooks": {},
            "problems": [message], "status": "grader error"}
