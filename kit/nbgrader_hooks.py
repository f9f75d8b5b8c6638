"""The kit's grading inside nbgrader's own commands and formgrader's buttons.

`python -m kit release` writes a course `nbgrader_config.py` that puts these preprocessors
in nbgrader's pipelines, so `nbgrader autograde`, `nbgrader generate_feedback` (and the
formgrader buttons that run them) grade and hand back exactly as `python -m kit autograde`
and `python -m kit feedback` do:

- `KitAutograde` (Autograde's autograde pass): grades one notebook of one submission with
  the kit's grading task (restored cells, sandboxed kernels, trusted checks, bounded and
  sanitized outputs), writes its scores to the gradebook, and hands nbgrader the graded
  notebook. A submission the grader itself failed on raises, so nbgrader reports it and
  leaves the gradebook's scores alone.
- `KitFeedback` (GenerateFeedback): every test cell cut to its visible source and the
  kit's own feedback lines (kept in the graded cell's `kit.feedback` metadata), everything
  else sanitized: no hidden test, no script.
The grading settings (`KitGrading`) are kit/settings.py's, read from the same configuration file.
"""
import contextlib
from dataclasses import replace
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from . import autograde, cells, feedback, nbgrader_ahead, score_store, shared_data, verdicts
from .autograde import reference_times, stage
from .course import ASSIGNMENT, KitError
from .i18n import DEFAULT_LANGUAGE
from .lock import check_free, course_lock
from .notebook_rules import NOTEBOOKS, notebook_file
from .phrases import course_language
from .settings import KitGrading


class GraderFailed(Exception):
    """The grader, not the student, failed on a submission."""


def course_root(preprocessor):
    """The course folder of the converter running this preprocessor (nbgrader's CourseDirectory)."""
    node = preprocessor
    while node is not None:
        coursedir = getattr(node, "coursedir", None)
        if coursedir is not None:
            return Path(coursedir.root)
        node = getattr(node, "parent", None)
    raise GraderFailed("expected to run inside an nbgrader converter, got no course directory")


class KitAutograde(NbGraderPreprocessor):
    """Grade this notebook the kit's way; write its scores to the gradebook."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        if info["assignment"] != ASSIGNMENT:
            raise GraderFailed(f"expected assignment {ASSIGNMENT!r}, got {info['assignment']!r} instead")
        course = course_root(self)
        # One writer per course (kit/lock.py): held while this notebook is graded and
        # stored, released before nbgrader's next notebook, so a `kit` command waiting
        # for its turn is refused with a clear message rather than blocked, and the
        # other way round; nothing ever waits.
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(course_lock(course, "nbgrader autograde"))
            except KitError as err:
                raise GraderFailed(str(err)) from None
            return self.grade(nb, resources, course)

    def grade(self, nb, resources, course):
        settings = KitGrading(parent=self)
        info = resources["nbgrader"]
        student, name = info["student"], notebook_file(info["notebook"])
        common = autograde.task_settings(settings)

        def make_task(student_id, notebooks, blas_threads=None):
            task = autograde.make_task(course, student_id, notebooks=notebooks, blas_threads=blas_threads,
                                       **common)
            return batch_resources(course, settings, task)

        result = nbgrader_ahead.graded_notebook(
            self, student, name, make_task=lambda s, threads: make_task(s, NOTEBOOKS, threads),
            grade_one=lambda: autograde.grade_or_fail(make_task(student, (name,))))
        if result.failed:
            raise GraderFailed(f"{student} {name}: " + "; ".join(p.message for p in result.problems))
        score_store.write_gradebook(course, result)
        score_store.merge_summary(course, result)   # the status and feedback lines `kit feedback` reads
        graded = nbformat.reads(result.notebooks[name].graded, as_version=4)
        return graded, resources


def batch_resources(course, settings, task):
    """What `kit autograde` makes once per batch, made once per nbgrader process here (it
    grades notebook after notebook): the shared CIFAR-10 arrays and the reference timings."""
    if settings.share_data:
        prepared = shared_data.for_this_process(data_dir=task.data_dir,
                                                notebook_texts=stage.source_notebooks(course))
        task = replace(task, shared_data=prepared.folder if prepared else None)
    if settings.reference_limits:
        # Timed for the whole submission, as `kit autograde` does: every notebook's cells.
        whole = replace(task, notebooks=NOTEBOOKS)
        task = replace(task, reference_times=reference_times.load_or_measure(course, whole, progress=False))
    return task


class KitFeedback(NbGraderPreprocessor):
    """A graded notebook as the kit hands it back (see kit/feedback.py)."""

    def preprocess(self, nb, resources):
        lang = DEFAULT_LANGUAGE
        try:   # nbgrader writes the feedback files itself: not while a kit command writes
            course = course_root(self)
            check_free(course)
            lang = course_language(course)   # in the course's edition, as `kit feedback` writes it
        except KitError as err:
            raise GraderFailed(str(err)) from None
        except GraderFailed:
            pass   # run on its own, outside a converter (no course): nothing to check
        scores = {cells.grade_id(cell): graded_score(cell) for cell in nb.cells if cells.is_test(cell)}
        return feedback.sanitize(nb, scores, lang), resources


def graded_score(cell):
    """A test cell's score entry for feedback.sanitize: the kit's lines (its `kit.feedback`
    metadata) and the score nbgrader's GetGrades put in its metadata (the gradebook's, hand
    grades included, as `kit feedback` reads it); without GetGrades (the preprocessor run
    alone), full marks exactly when the kit's verdict is a pass."""
    lines = cell.get("metadata", {}).get("kit", {}).get("feedback")
    nbgrader = cells.meta(cell)
    if nbgrader.get("score") is not None and nbgrader.get("points") is not None:
        return {"feedback": lines, "score": float(nbgrader["score"]), "max": float(nbgrader["points"])}
    return {"feedback": lines, "score": 1.0 if lines == verdicts.PASSED else 0.0, "max": 1.0}
