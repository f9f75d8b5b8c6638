"""`python -m kit autograde` as one call, `run(*, ...)`: the course checked, the settings
read from its configuration, one task per submission graded, the results stored by this
process only (the one writer of the course folder and the gradebook)."""
import os
from dataclasses import replace

from .. import grades, report, sandbox, score_store, shared_data
from ..course import ASSIGNMENT, Course, KitError, choose_students
from ..notebook_rules import NOTEBOOKS
from ..lock import course_lock
from ..settings import override
from . import cluster, reference_times
from .executors import execute_tasks
from .result import failed_result, grader_errors
from .runner import blas_share
from .task import make_task


def run(*, course, students=None, jobs=1, scheduler=None, certificates=None, no_worker_timeout=None, cell_timeout=None,
        submission_timeout=None, data_dir=None, run_notebooks=None, allow_unisolated=None, share_data=None, reference_limits=None,
        progress=True):
    """Grade the named (or all) submitted students; write gradebook, autograded/ and grades.csv.

    scheduler: a Dask scheduler's address, tls://HOST:PORT (a plain tcp:// one is refused:
    cluster.py says why); certificates: the folder of the client's ca.pem, cert.pem and
    key.pem (default: COURSE/.dask-tls/client, written by `python -m kit certificates`);
    no_worker_timeout: with a scheduler, seconds the batch waits while the cluster has no
    worker before the submissions still waiting become grader errors (cluster.NO_WORKER_TIMEOUT).
    Settings left None come from the course's configuration (`c.KitGrading` in its
    nbgrader_config.py, the file nbgrader's own commands read too).

    Returns every GradingResult, sorted by student. A failed result (`result.failed`) is one
    the grader failed on (not the student): nothing of it is stored, the student's previous
    results stay as they were, and `grader_errors(results)` lists them for the caller.
    """
    course = Course(course)
    check_course(course)
    with course_lock(course, "kit autograde"):   # one writer per course (kit/lock.py)
        return _run(course=course, students=students, jobs=jobs, scheduler=scheduler,
                    certificates=certificates, no_worker_timeout=no_worker_timeout, cell_timeout=cell_timeout,
                    submission_timeout=submission_timeout, data_dir=data_dir, run_notebooks=run_notebooks,
                    allow_unisolated=allow_unisolated, share_data=share_data,
                    reference_limits=reference_limits, progress=progress)


def _run(*, course, students, jobs, scheduler, certificates, no_worker_timeout, cell_timeout, submission_timeout, data_dir,
         run_notebooks, allow_unisolated, share_data, reference_limits, progress):
    if scheduler:
        scheduler = cluster.check_scheduler(scheduler, course=course, folder=certificates,
                                            no_worker_timeout=no_worker_timeout)
    elif certificates or no_worker_timeout is not None:
        option = "--certificates" if certificates else "--no-worker-timeout"
        raise KitError(f"expected {option} only with --scheduler, got it without a scheduler; "
                       f"pass --scheduler tls://HOST:PORT, or leave {option} out")
    configured = course_settings(course, cell_timeout=cell_timeout, submission_timeout=submission_timeout,
                                 tests_only=None if run_notebooks is None else not run_notebooks,
                                 allow_unisolated=allow_unisolated, data_dir=str(data_dir) if data_dir else None,
                                 share_data=share_data, reference_limits=reference_limits)
    students = pick_students(course, students)
    if jobs < 1:
        raise KitError(f"expected --jobs of at least 1, got {jobs} instead")
    settings = task_settings(configured, check_here=not scheduler, options=COMMAND_LINE,
                             data_given_as="--data" if data_dir else None)
    settings["blas_threads"] = None if scheduler else blas_share(jobs=jobs, run_notebooks=settings["run_notebooks"])
    results = []
    # Dask workers may be other machines: they cannot see a folder prepared here.
    with shared_data.shared(data_dir=settings["data_dir"], notebook_texts=source_notebooks(course),
                            enabled=configured.share_data and not scheduler) as prepared:
        settings["shared_data"] = prepared.folder if prepared else None
        tasks = [make_task(course, student, **settings) for student in students]
        if configured.reference_limits and tasks:
            reference = reference_times.load_or_measure(course, tasks[0], progress=progress)
            tasks = [replace(task, reference_times=reference) for task in tasks]
        for result in execute_tasks(tasks, jobs=jobs, scheduler=scheduler, progress=progress):
            if not result.failed:
                try:
                    score_store.store(course, result)
                except Exception as err:  # one student's results never stop the batch
                    result = failed_result(result, f"storing the results failed: {type(err).__name__}: {err}")
            results.append(result)
    results.sort(key=lambda r: r.student)
    grades.write_reports(course)
    if any(not r.failed for r in results):
        report.run(course=course, grades_written=True)  # write_reports wrote them just now
    report_grader_errors(results)
    return results


def source_notebooks(course):
    """The texts of the instructor's notebooks: the data loads they make are prepared once."""
    return [(course.source / nb).read_text() for nb in NOTEBOOKS if (course.source / nb).is_file()]


def course_settings(course, **overrides):
    """The course's KitGrading (its nbgrader_config.py), with the overrides that are not None."""
    return override(course.grading(), **overrides)


# How a setting is changed, in messages: `kit` commands have options; nbgrader's own
# commands (formgrader's buttons) only read the course's configuration.
COMMAND_LINE = {"allow_unisolated": "pass --allow-unisolated"}
CONFIGURATION = {"allow_unisolated": "set c.KitGrading.allow_unisolated = True in the course's "
                                     "nbgrader_config.py"}
CONFIGURED_DATA = "c.KitGrading.data_dir in the course's nbgrader_config.py"


def task_settings(configured, *, check_here=True, options=CONFIGURATION, data_given_as=None):
    """GradingTask settings from a KitGrading (the course's configuration), for `kit autograde`
    and nbgrader's own autograde alike: isolation checked (unless the kernels run elsewhere,
    `check_here` False: a Dask worker's sandbox then refuses), the data folder resolved.
    `options` says how the caller's user changes a setting (COMMAND_LINE or CONFIGURATION);
    `data_given_as` how they gave the data folder (default: the configuration, when set)."""
    if check_here and not configured.allow_unisolated:
        check_isolation(how=options["allow_unisolated"])
    if configured.data_dir and not data_given_as:
        data_given_as = CONFIGURED_DATA
    return dict(data_dir=resolve_data_dir(configured.data_dir or None, given_as=data_given_as),
                cell_timeout=configured.cell_timeout, submission_timeout=configured.submission_timeout,
                run_notebooks=not configured.tests_only,
                require_isolation=not configured.allow_unisolated)


def report_grader_errors(results):
    failed = grader_errors(results)
    if failed:
        print(f"\nThe grader failed on {len(failed)} submission(s); their previous results, if "
              "any, were kept unchanged. Fix the cause and grade them again:")
        for result in failed:
            print(f"  {result.student}: {'; '.join(p.message for p in result.problems)}")


def check_isolation(how=COMMAND_LINE["allow_unisolated"]):
    """Refuse to run student code unisolated unless the instructor asked for it; `how` says
    how they ask (an option of `kit`, a setting for nbgrader's own commands)."""
    isolated, reason = sandbox.isolation_status()
    if not isolated:
        raise KitError(f"refusing to grade: student code would run without isolation ({reason}). "
                       f"Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap), or "
                       f"{how} to grade anyway with resource limits only.")


def check_course(course):
    for path, what in ((course.source, "source"), (course.release, "release"),
                       (course.gradebook_file, "gradebook")):
        if not path.exists():
            raise KitError(f"expected the {what} at {path}, found nothing; run `python -m kit release` first")


def pick_students(course, students):
    root = course.submitted()
    available = sorted(p.name for p in root.iterdir() if (p / ASSIGNMENT).is_dir()) if root.is_dir() else []
    return choose_students(students, available, kind="collected", root=root,
                           first="python -m kit collect PATH...")


def resolve_data_dir(data_dir, given_as=None):
    """The CIFAR-10 folder the student notebooks will load (bound read-only into the sandbox);
    `given_as` names where `data_dir` came from, for the message."""
    from utils.data_utils import find_cifar10_dir
    try:
        # Resolved: the sandbox binds the real folder, and the kernel must be told that path
        # (a data set linked in from a shared disk would otherwise be invisible inside).
        return os.path.realpath(find_cifar10_dir(str(data_dir) if data_dir else None, given_as=given_as))
    except FileNotFoundError as err:
        raise KitError(f"grading runs the notebooks, which need CIFAR-10: {err}") from None
