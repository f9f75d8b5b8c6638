"""The kit's grading inside nbgrader's own commands and formgrader's buttons.

`python -m kit release` writes a course `nbgrader_config.py` that puts these preprocessors
in nbgrader's pipelines, so `nbgrader autograde`, `nbgrader generate_feedback` (and the
formgrader buttons that run them) grade and hand back exactly as `python -m kit autograde`
and `python -m kit feedback` do:

- Autograde's autograde pass: the kit's grading steps, one preprocessor each
  (kit/nbgrader_steps.py: restored cells, sandboxed kernels, trusted checks, saved grades),
  then nbgrader's own AssignLatePenalties.
- `KitFeedback` (GenerateFeedback): every test cell cut to its visible source and the
  kit's own feedback lines (kept in the graded cell's `kit.feedback` metadata), everything
  else sanitized: no hidden test, no script.
The grading settings (`KitGrading`) are kit/settings.py's, read from the same configuration file.
"""
from nbgrader.preprocessors import NbGraderPreprocessor

from . import cells, feedback, verdicts
from .course import KitError
from .lock import check_free
from .nbgrader_steps import GraderFailed, course_of
from .i18n import DEFAULT_LANGUAGE
from .phrases import course_language
from .scores import AUTO, CellScore

__all__ = ["GraderFailed", "KitFeedback", "graded_score"]


class KitFeedback(NbGraderPreprocessor):
    """A graded notebook as the kit hands it back (see kit/feedback.py)."""

    def preprocess(self, nb, resources):
        lang = DEFAULT_LANGUAGE
        if "nbgrader" in resources:   # in nbgrader's generate_feedback (else run on its own: no course)
            try:   # nbgrader writes the feedback files itself: not while a kit command writes
                course = course_of(self)
                check_free(course)
                lang = course_language(course)   # in the course's edition, as `kit feedback` writes it
            except KitError as err:
                raise GraderFailed(str(err)) from None
        scores = {cells.grade_id(cell): graded_score(cell) for cell in nb.cells if cells.is_test(cell)}
        return feedback.sanitize(nb, scores, lang), resources


def graded_score(cell):
    """A test cell's CellScore for feedback.sanitize: the kit's lines (its `kit.feedback`
    metadata) and the score nbgrader's GetGrades put in its metadata (the gradebook's, hand
    grades included, as `kit feedback` reads it); without GetGrades (the preprocessor run
    alone), full marks exactly when the kit's verdict is a pass."""
    lines = cell.get("metadata", {}).get("kit", {}).get("feedback")
    lines = tuple(lines) if isinstance(lines, list) else None
    gid, nbgrader = cells.grade_id(cell), cells.meta(cell)
    if nbgrader.get("score") is not None and nbgrader.get("points") is not None:
        return CellScore(gid, AUTO, score=float(nbgrader["score"]), max=float(nbgrader["points"]), feedback=lines)
    return CellScore(gid, AUTO, score=1.0 if lines == tuple(verdicts.PASSED) else 0.0, max=1.0, feedback=lines)
