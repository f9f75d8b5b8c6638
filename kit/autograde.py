"""`python -m kit autograde`: grade every submission with nbgrader's cell conventions.

Grading one submission is one task with plain inputs and outputs (`GradingTask` in,
a dict of scores and graded notebooks out), so the same function runs in this
process, in a local process pool (`--jobs N`) or on Dask workers. Only the calling
process writes the course directory and the gradebook. Feedback for students is a
later stage (`python -m kit feedback`), after any grading by hand.

Per submission, the task:
1. restores every locked cell and test cell of each notebook from the instructor's
   source notebook (hidden tests included), re-inserting deleted ones and dropping
   nbgrader metadata that the source does not know (cells.py);
2. runs each student notebook in a sandboxed kernel, test cells left out, for the
   outputs a grader reads by hand;
3. at the same time, in a second sandboxed kernel that no notebook cell touches:
   imports the student's package, runs each notebook's setup cell and its test cells;
4. at the same time, in a third sandboxed kernel where no test cell (and so no hidden
   test's reference code) ever runs: the trusted checks (probes.py), on inputs drawn
   afresh and sent only inside the cells that use them, results sent back as outputs;
5. scores each test cell from the second kernel (an error, a timeout or a dead kernel
   costs the cell's points; text on stderr such as warnings does not); a passing cell
   whose functions the trusted checks find wrong scores 0; each written answer is scored
   as nbgrader does (unchanged = 0, else left for a grader). What a student's feedback
   says of a test cell is written by the kit (verdicts.py), never quoted from a kernel.
Each kernel works in its own size-limited copy of the files (kit/sandbox/); everything a
kernel sends is bounded (outputs.py), and the graded notebooks are sanitized before they
are written (sanitize.py): nothing a student wrote runs where they are opened.
A kernel that dies or a cell that times out costs that cell; a fresh kernel runs the
cells after it, so one crash never takes the rest of the submission with it.
"""
import asyncio
import copy
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import cells, late, probes, sandbox, sanitize, verdicts
from .outputs import BoundedNotebookClient, bounded_error
from .course import (ASSIGNMENT, KIT_ROOT, NOTEBOOKS, KitError, choose_students, course_config, release_dir,
                     source_dir, submitted_dir)

DEFAULT_CELL_TIMEOUT = 120      # seconds; nbgrader's 30 s is too short for training cells
DEFAULT_SUBMISSION_TIMEOUT = 1200
IMPORT_CHECK = "import classifiers"
# Run in a grading kernel before any student code: what the sandbox must show it.
ENVIRONMENT_CHECK = """\
import os as _os
_data = _os.environ.get("CIFAR10_DIR")
if _data:
    try:
        with open(_os.path.join(_data, "data_batch_1"), "rb") as _f:
            _f.read(1)
    except OSError as _err:
        raise RuntimeError("the sandbox cannot see the CIFAR-10 folder %s (%s); it is bound "
                           "read-only from the grading machine: check that the folder exists there "
                           "and is world-readable (chmod -R o+rX)" % (_data, _err.strerror)) from None
"""
MAX_NOTEBOOK_RESTARTS = 3       # after this many crashes the rest of a student notebook is skipped
LIMIT_POLL_SECONDS = 0.5        # how often a running cell's kernel is checked for a process-limit hit
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Threads count against the sandbox's process limit (64), and a kernel that hits it is
# killed: on a many-core grader, one BLAS thread per core would do that. The assignment's
# thin (N x D) x (D x 10) products gain little beyond a few threads anyway.
MAX_BLAS_THREADS = 8


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
    run_notebooks: bool = True   # False: only the setup and test cells run (scores are the same)
    blas_threads: int = None     # BLAS threads per kernel; None: see kernel_blas_threads
    require_isolation: bool = True   # False only with --allow-unisolated
    timestamp: str = None
    problems: list = field(default_factory=list)
    notebooks: tuple = NOTEBOOKS  # which to grade (nbgrader's own autograde: one at a time)


def grade_submission(task):
    """Grade one submission in private working folders; return its scores and graded notebooks."""
    deadline = time.monotonic() + task.submission_timeout
    graded = {name: restore_notebook(task, name) for name in task.notebooks}
    with tempfile.TemporaryDirectory(prefix="kit-grade-") as tmp:
        # A copy of the files per kernel (each kernel also works on a private copy of it).
        folders = {role: Path(tmp) / role for role in ("notebooks", "tests", "checks")}
        for folder in folders.values():
            write_files(folder, {**task.master_files, **task.files})
        environment = []   # problems of the grader's own making: the student is not to blame
        found = {}         # check -> names of the known mistakes that explain it (mistakes.py)
        problems = run_to_completion(lambda: run_kernels(task, graded, folders, deadline, environment,
                                                         found))
    if environment:
        return failed_result(task, "; ".join(dict.fromkeys(environment)))
    notebooks = {name: finish_notebook(task, name, graded[name]) for name in task.notebooks}
    result = {"student": task.student, "timestamp": task.timestamp, "notebooks": notebooks,
              "problems": list(task.problems) + problems, "checks": found}
    result["status"] = summarize_status(result)
    return result


def run_to_completion(make_coroutine):
    """asyncio.run, also where an event loop is already running in this thread (nbgrader's
    autograde inside the Jupyter server behind formgrader's button): then in a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def write_files(root, files):
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def restore_notebook(task, name):
    """The submitted notebook with the instructor's cells restored; nb None when unusable."""
    source = nbformat.reads(task.source_notebooks[name], as_version=4)
    release = nbformat.reads(task.release_notebooks[name], as_version=4)
    submitted, problem = read_submitted(task.files.get(name), name)
    if submitted is None:
        return {"nb": None, "source": source, "release": release, "problems": [problem]}
    nb, problems = cells.restore(submitted, source, release)
    return {"nb": nb, "source": source, "release": release, "problems": problems}


async def run_kernels(task, graded, folders, deadline, environment, found=None):
    """The notebooks (one after the other), the test cells and the trusted checks, each in
    kernels of their own, at the same time; returns submission-wide problems. Problems that
    are not the student's (a kernel that cannot start, data the sandbox cannot see) are
    appended to `environment`; each judged check's mistake names to `found`."""
    tests = TestPlan(graded)
    checks = CheckPlan(tests.targets, seed=probes.new_seed())
    jobs = [run_tests(task, tests, folders["tests"], deadline, environment),
            run_checks(task, checks, folders["checks"], deadline, environment)]
    if task.run_notebooks:
        jobs.append(run_student_cells(task, graded, folders["notebooks"], deadline, environment))
    test_problems, check_problems = (await asyncio.gather(*jobs))[:2]
    found = {} if found is None else found
    verdicts_by_check = checks.judge(found)
    return test_problems + tests.conclude(graded, verdicts_by_check, task.files, found) + check_problems


async def run_student_cells(task, graded, workdir, deadline, environment):
    """Every code cell but the test cells, for the outputs a grader reads by hand."""
    runner = grading_runner(task, workdir, environment)
    for name, g in graded.items():
        if g["nb"] is None:
            continue
        nb = g["nb"]
        indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not cells.is_test(c)]
        problems = await runner.run(nb, indices, deadline, max_restarts=MAX_NOTEBOOK_RESTARTS)
        g["problems"] += [f"{name} cell {index}: {text}" if index is not None else f"{name}: {text}"
                          for index, text in problems]


async def run_tests(task, plan, workdir, deadline, environment):
    """The import check, then per notebook its setup cell and test cells, in one fresh kernel."""
    if not plan.slots:
        return []
    runner = grading_runner(task, workdir, environment)
    problems = await runner.run(plan.nb, plan.pending, deadline, max_restarts=len(plan.pending),
                                contexts=plan.contexts, fatal=[0])
    plan.stopped = runner.notes
    return [f"{plan.label(index)}: {text}" for index, text in problems]


async def run_checks(task, plan, workdir, deadline, environment):
    """The trusted checks in a kernel of their own, where no test cell has run. Its first
    cell, run before any student code, also checks that the sandbox sees the data."""
    if not plan.calls:
        return []
    runner = grading_runner(task, workdir, environment)
    problems = await runner.run(plan.nb, list(range(len(plan.nb.cells))), deadline,
                                max_restarts=len(plan.calls), contexts=plan.contexts,
                                fatal=[0, 1, 2])
    environment += [o.get("evalue", "") for o in plan.nb.cells[0].outputs
                    if o.get("output_type") == "error"]
    return [f"trusted checks ({plan.labels.get(index, 'kernel')}): {text}"
            for index, text in problems if index is not None and index >= 3]


class TestPlan:
    """The test kernel's notebook: the import check, then per notebook its setup cell and
    test cells; which cells each cell needs run first (contexts)."""

    def __init__(self, graded):
        self.slots, self.contexts, self.labels = [], {}, {0: "importing classifiers"}
        self.stopped = {}   # cell index -> the grader's note, for cells it stopped or skipped
        self.nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORT_CHECK)])
        for name, g in graded.items():
            if g["nb"] is not None:
                self.add_tests(name, g["nb"])
        tests = [self.nb.cells[i] for _, _, i in self.slots]
        self.targets = set().union(*(probes.checks_for(c) for c in tests)) if tests else set()
        self.pending = [0] + sorted(self.contexts)

    def add_tests(self, name, nb):
        tests = [i for i, c in enumerate(nb.cells) if cells.is_test(c)]
        if not tests:
            return
        if not self.slots:
            self.nb.metadata = copy.deepcopy(nb.metadata)
        setup = self.add(cells.setup_cell(nb), f"{name} setup cell")
        for i in tests:
            cell = copy.deepcopy(nb.cells[i])
            cell.outputs, cell.execution_count = [], None
            scratch_index = self.add(cell, f"{name} test cell {cells.grade_id(cell)!r}")
            self.contexts[scratch_index] = (setup,)
            self.slots.append((name, i, scratch_index))

    def add(self, cell, label):
        self.nb.cells.append(cell)
        self.labels[len(self.nb.cells) - 1] = label
        return len(self.nb.cells) - 1

    def label(self, index):
        return self.labels.get(index, f"cell {index}") if index is not None else "test kernel"

    def conclude(self, graded, verdicts_by_check, files, found=None):
        """Copy each test cell's outputs into its notebook, let the trusted checks overrule a
        passing cell, and write the kit's own feedback lines (naming the known mistakes in
        `found`, {check: names}); returns the disagreements."""
        functions = verdicts.defined_functions(files)
        disagreements = []
        for name, index, scratch_index in self.slots:
            cell = self.nb.cells[scratch_index]
            wrong = [verdicts_by_check[c] for c in sorted(probes.checks_for(cell))
                     if verdicts_by_check.get(c)]
            note = self.stopped.get(scratch_index)
            named = [name for c in sorted(probes.checks_for(cell)) for name in (found or {}).get(c, ())]
            lines = verdicts.test_cell_feedback(cell, grader_note=note, disagreements=wrong,
                                                functions=functions, mistakes=named)
            # A failing cell fails anyway; a passing cell the trusted checks contradict was misled.
            if wrong and cells.first_error(cell) is None:
                cell.outputs.append(cells.error_output(
                    "TrustedCheckFailed", "the grader's own check of your code disagrees with this "
                    "test cell's result: " + "; ".join(wrong)))
                disagreements += [f"trusted check ({self.label(scratch_index)}): {v}" for v in wrong]
            target = graded[name]["nb"].cells[index]
            target.outputs = cell.outputs
            # Kept with the graded notebook, where nbgrader's generate_feedback finds it too.
            target.metadata.setdefault("kit", {})["feedback"] = lines
            graded[name].setdefault("feedback", {})[cells.grade_id(target)] = lines
        return disagreements


class CheckPlan:
    """The checking kernel's notebook: the environment check, the runner, the import check,
    then one cell per unit (each needing the runner run first)."""

    def __init__(self, targets, seed):
        self.seed, self.targets = seed, set(targets)
        runner, calls = probes.prepare(self.targets, seed) if self.targets else ("", {})
        self.calls = {}   # unit -> cell index
        # The grader's own cells first, before any student module loads: the environment
        # check, then the runner, which takes its own references.
        self.nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
            ENVIRONMENT_CHECK, runner, IMPORT_CHECK)])
        self.labels = {0: "environment check", 1: "runner", 2: "importing classifiers"}
        self.contexts = {}
        for unit, source in calls.items():
            self.nb.cells.append(nbformat.v4.new_code_cell(source))
            index = len(self.nb.cells) - 1
            self.calls[unit], self.labels[index], self.contexts[index] = index, unit, (1,)

    def judge(self, found=None):
        if not self.targets:
            return {}
        outputs = {unit: self.nb.cells[index].outputs for unit, index in self.calls.items()}
        return probes.judge(outputs, self.targets, self.seed, found)


def finish_notebook(task, name, graded):
    if graded["nb"] is None:
        scores = cells.zero_scores(graded["source"], graded["problems"][0])
        for s in scores.values():
            s["feedback"] = [f"Not graded: {graded['problems'][0]}."]
        return {"graded": task.release_notebooks[name], "scores": scores, "problems": graded["problems"]}
    nb = graded["nb"]
    scores = cells.scores(nb, graded["release"])
    for gid, s in scores.items():
        if s["kind"] == "auto":
            s["feedback"] = graded.get("feedback", {}).get(gid) or \
                (list(verdicts.PASSED) if s["score"] == s["max"] else ["Not run."])
    return {"graded": nbformat.writes(sanitize.graded_notebook(nb)), "scores": scores,
            "problems": graded["problems"]}


def grading_runner(task, workdir, environment=None):
    """Kernels for grading: sandboxed, with the data folder in their env; a kernel that
    cannot start is the grader's problem (appended to `environment`)."""
    # Set always: kernels graded side by side would otherwise each start one BLAS thread per core.
    env = {var: str(kernel_blas_threads(task)) for var in BLAS_THREAD_VARIABLES}
    readonly = []
    if task.data_dir:
        env["CIFAR10_DIR"] = task.data_dir
        readonly.append(task.data_dir)
    limit = task.submission_timeout
    return KernelRunner(
        make_kernel_manager=lambda: sandbox.kernel_manager(
            workdir=workdir, readonly=readonly, require_isolation=task.require_isolation,
            hidden=[KIT_ROOT],  # the grader's own code and solutions, should they be in view
            client_class="kit.outputs.BoundedKernelClient"),
        workdir=workdir, env=env, cell_timeout=task.cell_timeout, environment=environment,
        time_limit_note=f"the submission's time limit ({limit:.0f} s) was reached")


def kernel_blas_threads(task):
    """The task's share of cores (--jobs); else what this process was given (a Dask nanny
    sets one thread per worker); else every core. At most MAX_BLAS_THREADS."""
    wanted = task.blas_threads or next(
        (int(os.environ[v]) for v in BLAS_THREAD_VARIABLES if os.environ.get(v, "").isdigit()),
        os.cpu_count() or 1)
    return max(1, min(wanted, MAX_BLAS_THREADS))


def read_submitted(data, name):
    if data is None:
        return None, f"{name}: missing notebook (not in the submission)"
    try:
        return nbformat.reads(data.decode("utf-8"), as_version=4), None
    except Exception as err:  # any unreadable file is the student's problem, not the grader's
        return None, f"{name}: unreadable notebook ({type(err).__name__}: {err})"


class KernelRunner:
    """Execute chosen cells of a notebook in sandboxed kernels, replacing dead or stuck ones.

    `contexts` maps a cell to the cells a kernel must have run before it (a setup cell):
    run when the cell's context differs from the kernel's, outputs kept from their first
    run only. When a `fatal` cell times out or kills its kernel, no further cell runs.
    Returns the problems met, as (cell index or None, text).
    """

    def __init__(self, *, make_kernel_manager, workdir, env, cell_timeout, time_limit_note,
                 environment=None):
        self.make_kernel_manager, self.workdir, self.env = make_kernel_manager, workdir, env
        self.environment = environment if environment is not None else []
        self.cell_timeout, self.time_limit_note = cell_timeout, time_limit_note
        self.limit_baseline = 0   # process-limit hits of the running kernel at its launch
        self.notes = {}           # cell index -> why the grader stopped or skipped it

    async def run(self, nb, indices, deadline, max_restarts, contexts=None, fatal=()):
        pending, contexts, problems, restarts, seen = list(indices), contexts or {}, [], 0, set()
        while pending:
            client = self._client(nb)
            try:
                async with client.async_setup_kernel(env=self.env, cleanup_kc=True):
                    # Per launch, not per cell: hits a finished cell left behind still count.
                    self.limit_baseline = process_limit_hits(client.km)
                    loaded = ()
                    while pending:
                        index = pending[0]
                        needed = contexts.get(index, ())
                        if needed != loaded:
                            failure = await self._run_context(client, nb, needed, deadline, seen)
                            if failure:
                                problems.append(failure)
                                break
                            loaded = needed
                        pending.pop(0)
                        failure = await self._execute(client, nb, index, deadline)
                        if failure:
                            problems.append((index, failure))
                            if index in fatal:
                                return problems + self._skip(nb, pending, failure)
                            break
                        if any(index in context for context in contexts.values()):
                            loaded = (*loaded, index)  # run in order: it is not run again
            except (RuntimeError, TimeoutError, OSError) as err:
                reason = f"the kernel could not start ({type(err).__name__}: {err})"
                self.environment.append(reason)
                return problems + self._skip(nb, pending, reason)
            restarts += 1
            if pending and restarts > max_restarts:
                return problems + self._skip(nb, pending, "not run after repeated kernel failures")
        return problems

    async def _run_context(self, client, nb, needed, deadline, seen):
        """Run a kernel's setup cells; (index, why) when one times out or kills the kernel."""
        for index in needed:
            saved = nb.cells[index].outputs if index in seen else None
            failure = await self._execute(client, nb, index, deadline)
            if saved is not None:
                nb.cells[index].outputs = saved
            seen.add(index)
            if failure:
                return index, failure
        return None

    async def _execute(self, client, nb, index, deadline):
        """Run one cell; return why its kernel must be replaced (timeout, death) or None."""
        cell = nb.cells[index]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            message = self.time_limit_note
            cell.outputs = [cells.error_output("TimeLimit", message)]
            self.notes[index] = message
            return message
        client.timeout = int(max(1, min(self.cell_timeout, remaining)))
        try:
            await stop_at_process_limit(client.km, client.async_execute_cell(cell, index),
                                        self.limit_baseline)
        except CellTimeoutError:
            message = f"timeout: the cell ran longer than {client.timeout} s and was stopped"
        except DeadKernelError:
            message = sandbox.death_reason(client.km)
        else:
            return None
        cell.outputs.append(cells.error_output("KernelFailure", message))
        self.notes[index] = message
        return message

    def _client(self, nb):
        km = self.make_kernel_manager()
        # "immediate": the sandbox kills the kernel's whole cgroup anyway; a graceful
        # shutdown only waits for a process nobody needs any more.
        return BoundedNotebookClient(nb, km=km, timeout=int(self.cell_timeout), allow_errors=True,
                                     interrupt_on_timeout=False, kernel_name="python3",
                                     shutdown_kernel="immediate", on_cell_executed=record_silent_error,
                                     resources={"metadata": {"path": str(self.workdir)}})

    def _skip(self, nb, pending, reason):
        for index in pending:
            nb.cells[index].outputs = [cells.error_output("NotRun", f"not run: {reason}")]
            self.notes[index] = f"not run: {reason}"
        pending.clear()
        return [(None, f"not run: {reason}")]


async def stop_at_process_limit(km, work, baseline):
    """Await `work` (a cell's execution); kill the kernel as soon as its sandbox has hit the
    process limit more often than `baseline` (its count at launch). A fork bomb the limit
    contains would otherwise keep every core busy until the cell's timeout, slowing the
    submissions graded beside it. The dead kernel costs the cell (DeadKernelError, also
    when the cell ended first), and sandbox.death_reason names the limit. Needs the
    cgroup pids controller: with RLIMIT_NPROC alone no hit is counted."""
    task = asyncio.ensure_future(work)
    killed = False
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=LIMIT_POLL_SECONDS)
            if not killed and process_limit_hits(km) > baseline:
                await asyncio.to_thread(km.kill_processes)
                killed = True
            if done and killed:
                task.exception()  # retrieved and set aside: the limit is what counts
                raise DeadKernelError("the kernel hit the process limit and was stopped")
            if done:
                return task.result()
    finally:
        if not task.done():  # we were cancelled: the cell's execution must not outlive us
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def process_limit_hits(km):
    events = km.limit_events() if hasattr(km, "limit_events") else {}
    return events.get("pids_max_hits") or 0


STATUS_WORDS = (("missing notebook", "missing notebook"), ("unreadable", "unreadable notebook"),
                ("timeout", "timeout"), ("time limit", "time limit"), ("exceeded", "resource limit"),
                ("died", "dead kernel"), ("importing classifiers", "import failed"),
                ("trusted check", "trusted check failed"), ("restored", "cells restored"),
                ("submission time unknown", "submission time unknown"))


def record_silent_error(cell, cell_index, execute_reply):
    """A cell whose reply says it failed fails, even if its traceback display was silenced."""
    content = execute_reply.get("content", {})
    if content.get("status") == "error" and cells.first_error(cell) is None:
        content = bounded_error(content)
        cell.outputs.append(cells.error_output(content.get("ename") or "Error",
                                               content.get("evalue") or "the cell raised an error"))


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


def run(*, course, students=None, jobs=1, scheduler=None, cell_timeout=None, submission_timeout=None,
        data_dir=None, run_notebooks=None, allow_unisolated=None, progress=True):
    """Grade the named (or all) submitted students; write gradebook, autograded/ and grades.csv.

    Settings left None come from the course's configuration (`c.KitGrading` in its
    nbgrader_config.py, the file nbgrader's own commands read too).

    Returns every result, sorted by student. A result with status GRADER_ERROR is one the
    grader failed on (not the student): nothing of it is stored, the student's previous
    results stay as they were, and `grader_errors(results)` lists them for the caller.
    """
    from . import grades
    from .nbgrader_hooks import KitGrading
    course = Path(course)
    check_course(course)
    configured = KitGrading(config=course_config(course))
    overrides = {"cell_timeout": cell_timeout, "submission_timeout": submission_timeout,
                 "tests_only": None if run_notebooks is None else not run_notebooks,
                 "allow_unisolated": allow_unisolated, "data_dir": str(data_dir) if data_dir else None}
    for name, value in overrides.items():
        if value is not None:
            setattr(configured, name, value)
    students = pick_students(course, students)
    if jobs < 1:
        raise KitError(f"expected --jobs of at least 1, got {jobs} instead")
    settings = task_settings(configured, check_here=not scheduler)
    settings["blas_threads"] = None if scheduler else max(1, (os.cpu_count() or 1) // jobs)
    tasks = [make_task(course, student, **settings) for student in students]
    results = []
    for result in execute_tasks(tasks, jobs=jobs, scheduler=scheduler, progress=progress):
        if result["status"] != GRADER_ERROR:
            try:
                grades.store(course, result)
            except Exception as err:  # one student's results never stop the batch
                result = failed_result(result, f"storing the results failed: {type(err).__name__}: {err}")
        results.append(result)
    results.sort(key=lambda r: r["student"])
    grades.write_reports(course)
    if any(r["status"] != GRADER_ERROR for r in results):
        from . import report
        report.run(course=course)
    report_grader_errors(results)
    return results


def task_settings(configured, *, check_here=True):
    """GradingTask settings from a KitGrading (the course's configuration), for `kit autograde`
    and nbgrader's own autograde alike: isolation checked (unless the kernels run elsewhere,
    `check_here` False: a Dask worker's sandbox then refuses), the data folder resolved."""
    if check_here and not configured.allow_unisolated:
        check_isolation()
    return dict(data_dir=resolve_data_dir(configured.data_dir or None),
                cell_timeout=configured.cell_timeout, submission_timeout=configured.submission_timeout,
                run_notebooks=not configured.tests_only,
                require_isolation=not configured.allow_unisolated)


def grader_errors(results):
    return [r for r in results if r["status"] == GRADER_ERROR]


def report_grader_errors(results):
    failed = grader_errors(results)
    if failed:
        print(f"\nThe grader failed on {len(failed)} submission(s); their previous results, if "
              "any, were kept unchanged. Fix the cause and grade them again:")
        for result in failed:
            print(f"  {result['student']}: {'; '.join(result['problems'])}")


def check_isolation():
    """Refuse to run student code unisolated unless the instructor asked for it."""
    isolated, reason = sandbox.isolation_status()
    if not isolated:
        raise KitError(f"refusing to grade: student code would run without isolation ({reason}). "
                       "Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap), or "
                       "pass --allow-unisolated to grade anyway with resource limits only.")


def check_course(course):
    for path, what in ((source_dir(course), "source"), (release_dir(course), "release"),
                       (course / "gradebook.db", "gradebook")):
        if not path.exists():
            raise KitError(f"expected the {what} at {path}, found nothing; run `python -m kit release` first")


def pick_students(course, students):
    root = submitted_dir(course)
    available = sorted(p.name for p in root.iterdir() if (p / ASSIGNMENT).is_dir()) if root.is_dir() else []
    return choose_students(students, available, kind="collected", root=root,
                           first="python -m kit collect PATH...")


def resolve_data_dir(data_dir):
    """The CIFAR-10 folder the student notebooks will load (bound read-only into the sandbox)."""
    from utils.data_utils import find_cifar10_dir
    try:
        # Resolved: the sandbox binds the real folder, and the kernel must be told that path
        # (a data set linked in from a shared disk would otherwise be invisible inside).
        return os.path.realpath(find_cifar10_dir(str(data_dir) if data_dir else None))
    except FileNotFoundError as err:
        raise KitError(f"grading runs the notebooks, which need CIFAR-10: {err}") from None


def make_task(course, student, **settings):
    submission = submitted_dir(course, student)
    release = release_dir(course)
    files, problems = cells.student_files(submission)
    master = {str(p.relative_to(release)): p.read_bytes() for p in sorted(release.rglob("*"))
              if p.is_file() and p.suffix != ".ipynb" and "__pycache__" not in p.parts
              and str(p.relative_to(release)) not in files}
    timestamp, problem = late.read_timestamp(submission)
    return GradingTask(
        student=student, files=files, master_files=master,
        source_notebooks={nb: (source_dir(course) / nb).read_text() for nb in NOTEBOOKS},
        release_notebooks={nb: (release / nb).read_text() for nb in NOTEBOOKS},
        timestamp=timestamp, problems=problems + ([problem] if problem else []),
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


GRADER_ERROR = "grader error"


def failed_result(task, message):
    """A result for a submission the grader failed on (`task` a GradingTask or a result)."""
    student = task["student"] if isinstance(task, dict) else task.student
    timestamp = task.get("timestamp") if isinstance(task, dict) else task.timestamp
    return {"student": student, "timestamp": timestamp, "notebooks": {},
            "problems": [message], "status": GRADER_ERROR}
