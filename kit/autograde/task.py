"""One submission to grade, as plain data (`GradingTask`), and its notebooks restored from
the instructor's source before any of its code runs."""
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import cells, late, notebook_limits
from ..course import Course
from ..notebook_rules import NOTEBOOKS
from ..problems import Problem, ProblemKind
from ..scores import RestoredNotebook
from ..settings import DEFAULT_CELL_TIMEOUT, DEFAULT_SUBMISSION_TIMEOUT


@dataclass
class GradingTask:
    """Everything needed to grade one submission, as plain data (picklable, no paths to share)."""
    student: str
    files: dict                  # relative path -> bytes: the student's notebooks and classifiers/*.py
    master_files: dict           # relative path -> bytes: everything else, from the release
    source_notebooks: dict       # notebook name -> source notebook JSON (with hidden tests)
    release_notebooks: dict      # notebook name -> released notebook JSON
    data_dir: str = None         # CIFAR-10 folder, bound read-only into the sandbox
    shared_data: str = None      # the batch's prepared arrays (kit/shared_data.py), bound read-only
    reference_times: dict = None  # cell key -> seconds the reference took (limits.py); None: unknown
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    submission_timeout: float = DEFAULT_SUBMISSION_TIMEOUT
    run_notebooks: bool = True   # False: only the setup and test cells run (scores are the same)
    blas_threads: int = None     # BLAS threads per kernel; None: see runner.kernel_blas_threads
    require_isolation: bool = True   # False only with --allow-unisolated
    timestamp: str = None
    problems: list = field(default_factory=list)   # Problem, found before grading
    notebooks: tuple = NOTEBOOKS  # which to grade (nbgrader's own autograde: one at a time)


def make_task(course, student, **settings):
    """The GradingTask of one collected submission of `course`.

    Inputs: course, a Course (or its folder); student id; settings, GradingTask fields (see task_settings).
    Returns a GradingTask holding the files themselves, so that it can be graded elsewhere.
    """
    course = Course(course)
    submission = course.submitted(student)
    release = course.release
    files, ignored = cells.student_files(submission)
    master = {str(p.relative_to(release)): p.read_bytes() for p in sorted(release.rglob("*"))
              if p.is_file() and p.suffix != ".ipynb" and "__pycache__" not in p.parts
              and str(p.relative_to(release)) not in files}
    timestamp, unknown = late.read_timestamp(submission)
    problems = [Problem(ProblemKind.FILE_IGNORED, text) for text in ignored]
    if unknown:
        problems.append(Problem(ProblemKind.TIME_UNKNOWN, unknown))
    return GradingTask(
        student=student, files=files, master_files=master,
        source_notebooks={nb: (course.source / nb).read_text() for nb in NOTEBOOKS},
        release_notebooks={nb: (release / nb).read_text() for nb in NOTEBOOKS},
        timestamp=timestamp, problems=problems, **settings)


def write_files(root, files):
    """Write {relative path: bytes} under the folder `root`."""
    for rel, data in files.items():
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def restore_notebook(task, name):
    """The submitted notebook with the instructor's cells restored.

    Returns a RestoredNotebook (its `nb` None when missing or unreadable).
    """
    source = nbformat.reads(task.source_notebooks[name], as_version=4)
    release = nbformat.reads(task.release_notebooks[name], as_version=4)
    submitted, problem = read_submitted(task.files.get(name), name)
    if submitted is None:
        return RestoredNotebook(nb=None, source=source, release=release, problems=[problem])
    nb, problems = cells.restore(submitted, source, release)
    return RestoredNotebook(nb=nb, source=source, release=release, problems=problems)


def read_submitted(data, name):
    """(the notebook, None), or (None, the Problem) when it is missing or unreadable.

    A notebook over kit/notebook_limits.py's limits is unreadable too: it reaches the
    grader when collect was bypassed (nbgrader's own commands, a folder copied in).
    """
    if data is None:
        return None, Problem(ProblemKind.MISSING_NOTEBOOK, f"{name}: missing notebook (not in the submission)")
    try:
        text = data.decode("utf-8")
        notebook_limits.check_text(text, name)
        return nbformat.reads(text, as_version=4), None
    except Exception as err:  # any unreadable file is the student's problem, not the grader's
        return None, Problem(ProblemKind.UNREADABLE_NOTEBOOK,
                             f"{name}: unreadable notebook ({type(err).__name__}: {err})")
