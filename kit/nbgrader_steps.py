"""The kit's grading as steps of nbgrader's own autograde pipeline, one preprocessor each.

The course's `nbgrader_config.py` (kit/course.py) lists them in `c.Autograde.autograde_preprocessors`,
followed by nbgrader's own `AssignLatePenalties`:

- `KitRestoreCells`: the submission's notebooks with the instructor's cells restored
  (steps.restore); hands on this notebook, restored;
- `KitSandboxedExecute`: the submission's sandboxed kernels, all its notebooks, the test
  cells and the trusted checks side by side (steps.run_sandboxed), as `kit autograde` runs them;
- `KitTrustedChecks`: what the checking kernel sent judged, the test cells concluded (steps.judge);
- `KitSaveGrades`: this notebook's scores to the gradebook and the kit's summary
  (steps.finish, score_store); hands nbgrader the sanitized graded notebook. A submission
  the grader itself failed on raises, so nbgrader reports it and the gradebook keeps its scores.

These are the same step functions `kit autograde` calls (kit/autograde/steps.py), in the
same order. nbgrader converts a submission notebook by notebook, with fresh preprocessors
and fresh `resources` for each: at the submission's first notebook the steps grade the
WHOLE submission (its kernels side by side), and its other notebooks are served from that
grading. Within a notebook the steps pass the submission on in `resources["kit"]`; between
notebooks it is kept in one slot here (`_LATEST`, the one thing nbgrader gives no place
for), keyed by the course, the student and the submitted files. A submission's first
notebook is always graded afresh (a changed submission, one graded again, one whose
grading failed). Nothing here reads nbgrader's list of submissions or its rule
for which it skips: each submission is graded when nbgrader asks for it.

The course is nbgrader's own `CourseDirectory` built from this preprocessor's configuration
(`course_of`): nbgrader's converters run from the course root (they chdir there), and a
root set in the configuration (the kit writes `c.CourseDirectory.root`) wins.
"""
import hashlib
from dataclasses import replace

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from . import autograde, score_store, shared_data
from .autograde import reference_times, stage, steps
from .autograde.runner import blas_share
from .course import ASSIGNMENT, Course, KitError
from .lock import course_lock
from .notebook_rules import NOTEBOOKS, notebook_file
from .settings import KitGrading

KIT = "kit"   # the key of the steps' own entry in nbconvert's resources


class GraderFailed(Exception):
    """The grader, not the student, failed on a submission."""


def course_of(preprocessor):
    """The Course nbgrader converts in: its CourseDirectory from the preprocessor's
    configuration (a configured root, else the folder nbgrader changed into). The grading
    settings are the preprocessor's configuration's (nbgrader's command line may override
    the course's file), not the Course's."""
    return Course(CourseDirectory(config=preprocessor.config).root)


class Submission:
    """One student's submission while nbgrader's notebooks of it go through the steps:
    restored once, its kernels run once, judged once, finished once."""

    def __init__(self, key, course, task):
        self.key, self.course, self.task = key, course, task
        self.graded = steps.restore(task)
        self.run = None        # steps.KernelRun, once the kernels ran
        self.result = None     # the GradingResult, once finished
        self.served = set()    # the notebooks nbgrader has been handed

    def notebook(self, name, nb):
        """This submission's current `name` notebook (restored, then run and judged), else `nb`."""
        restored = self.graded.get(name)
        return restored.nb if restored is not None and restored.nb is not None else nb


_LATEST = {}   # "submission" -> the Submission whose notebooks nbgrader is converting


def submission_key(course, task):
    """What makes a grading reusable for another notebook: the course, the student, the
    submitted files and the submission's time."""
    digest = hashlib.sha256()
    for rel, data in sorted(task.files.items()):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return (str(course), task.student, digest.hexdigest(), task.timestamp)


def current_submission(preprocessor, resources):
    """The Submission of the notebook in `resources` (nbgrader's student and notebook):
    the one being served, else a new one restored from the course's files."""
    info = resources["nbgrader"]
    if info["assignment"] != ASSIGNMENT:
        raise GraderFailed(f"expected assignment {ASSIGNMENT!r}, got {info['assignment']!r} instead")
    course, name = course_of(preprocessor), notebook_file(info["notebook"])
    if name not in NOTEBOOKS:
        raise GraderFailed(f"expected one of the assignment's notebooks {', '.join(NOTEBOOKS)}, got {name!r} "
                           "instead: remove it from the submission, or grade it by hand")
    settings = KitGrading(config=preprocessor.config)
    common = autograde.task_settings(settings)
    task = autograde.make_task(course, info["student"], notebooks=NOTEBOOKS,
                               **{**common, "blas_threads": blas_share(jobs=1, run_notebooks=common.get("run_notebooks", True))})
    key = submission_key(course, task)
    latest = _LATEST.get("submission")
    # Another notebook of the submission whose first notebook was handed over just now. A
    # first notebook is always graded afresh: a grading that failed is never served again.
    if latest is not None and latest.key == key and latest.served and name not in latest.served:
        return latest
    _LATEST["submission"] = latest = Submission(key, course, batch_resources(course, settings, task))
    return latest


def batch_resources(course, settings, task):
    """What `kit autograde` makes once per batch, made once per nbgrader process here (it
    grades submission after submission): the shared CIFAR-10 arrays and the reference timings."""
    if settings.share_data:
        prepared = shared_data.for_this_process(data_dir=task.data_dir,
                                                notebook_texts=stage.source_notebooks(course))
        task = replace(task, shared_data=prepared.folder if prepared else None)
    if settings.reference_limits:
        task = replace(task, reference_times=reference_times.load_or_measure(course, task, progress=False))
    return task


def held(preprocessor, resources):
    """(the Submission, the notebook's file name) the restore step left in `resources`."""
    entry = resources.get(KIT)
    if entry is None:
        raise GraderFailed(f"expected kit.nbgrader_steps.KitRestoreCells before {type(preprocessor).__name__} "
                           "in c.Autograde.autograde_preprocessors, got no restored submission instead: "
                           "run `python -m kit release` to rewrite the course's nbgrader_config.py")
    return entry["submission"], entry["name"]


class KitRestoreCells(NbGraderPreprocessor):
    """Step 1: the submission restored from the instructor's source (hidden tests included)."""

    def preprocess(self, nb, resources):
        submission = current_submission(self, resources)
        name = notebook_file(resources["nbgrader"]["notebook"])
        resources[KIT] = {"submission": submission, "name": name}
        return submission.notebook(name, nb), resources


class KitSandboxedExecute(NbGraderPreprocessor):
    """Step 2: the submission's kernels side by side, in the sandbox (once per submission)."""

    def preprocess(self, nb, resources):
        submission, name = held(self, resources)
        try:
            with course_lock(submission.course, "nbgrader autograde"):
                if submission.run is None:
                    submission.run = steps.run_sandboxed(submission.task, submission.graded)
        except KitError as err:
            raise GraderFailed(str(err)) from None
        return submission.notebook(name, nb), resources


class KitTrustedChecks(NbGraderPreprocessor):
    """Step 3: the trusted checks' verdicts and the test cells' conclusions (once per submission)."""

    def preprocess(self, nb, resources):
        submission, name = held(self, resources)
        if submission.run is None:
            raise GraderFailed("expected kit.nbgrader_steps.KitSandboxedExecute before KitTrustedChecks "
                               "in c.Autograde.autograde_preprocessors, got no kernel run instead: "
                               "run `python -m kit release` to rewrite the course's nbgrader_config.py")
        steps.judge(submission.task, submission.run)
        return submission.notebook(name, nb), resources


class KitSaveGrades(NbGraderPreprocessor):
    """Step 4: this notebook's scores to the gradebook; the graded notebook, sanitized."""

    def preprocess(self, nb, resources):
        submission, name = held(self, resources)
        if submission.run is None or submission.run.judged is None:
            raise GraderFailed("expected KitSandboxedExecute and KitTrustedChecks before KitSaveGrades "
                               "in c.Autograde.autograde_preprocessors, got an unjudged submission instead: "
                               "run `python -m kit release` to rewrite the course's nbgrader_config.py")
        if submission.result is None:
            submission.result = steps.finish(submission.task, submission.run)
        result = submission.result
        if result.failed:
            raise GraderFailed(f"{result.student} {name}: " + "; ".join(p.message for p in result.problems))
        part = notebook_part(result, name)
        try:
            with course_lock(submission.course, "nbgrader autograde"):
                score_store.write_gradebook(submission.course, part)
                score_store.merge_summary(submission.course, part)   # the status and lines `kit feedback` reads
        except KitError as err:
            raise GraderFailed(str(err)) from None
        submission.served.add(name)
        if submission.served >= set(result.notebooks) and _LATEST.get("submission") is submission:
            del _LATEST["submission"]   # every notebook handed over: let the grading go
        return nbformat.reads(part.notebooks[name].graded, as_version=4), resources


def notebook_part(result, name):
    """The result of one notebook: its NotebookResult, the submission's own problems."""
    if result.failed or name not in result.notebooks:
        return result
    return replace(result, notebooks={name: result.notebooks[name]})
