"""A released course (English or Korean) holding one submission stored the way `kit autograde`
stores it, its feedback lines written by the kit's own verdicts (a failed test with a known
mistake, a passing test the trusted checks contradict, a cell the grader stopped, passed
cells), then `kit feedback` and `kit report` run on it. No grading run: the feedback and the
report read only what is stored (tests/unit/test_hand_grades.py does the same)."""
import copy
import warnings

import nbformat

from kit import feedback, release, report, score_store, verdicts
from kit.autograde.result import GradingResult, NotebookResult
from kit.cells import grade_id, is_test, meta
from kit.course import Course
from kit.scores import CellScore
from kit_helpers import REPO

STUDENT = "feedback_student"
# The stored findings and mistakes, as kit/checks.py and kit/mistakes.py write them.
FINDING = "svm_loss_naive: the gradient is wrong (case 'reg')"
CHECKS = {"svm_loss_naive:loss": ["reg_missing_loss"], "svm_loss_naive:grad": ["reg_grad_factor_2"],
          "softmax_loss_vectorized:offset": ["no_max_shift"], "LinearClassifier:predict": []}


def failed_cell(cell, line, ename="AssertionError"):
    """A test cell as the checking kernel leaves it after failing at `line` of the cell."""
    cell = copy.deepcopy(cell)
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="hidden text",
                                           traceback=[f"Cell In[7], line {line}", "hidden text"])]
    return cell


def lines_for(cell, kind):
    """The kit's feedback lines for a test cell, by kind of outcome."""
    if kind == "failed":
        return verdicts.test_cell_feedback(failed_cell(cell, 2), mistakes=["reg_missing_loss"])
    if kind == "hidden":
        return verdicts.test_cell_feedback(failed_cell(cell, 10 ** 4, "ValueError"), mistakes=["no_max_shift"])
    if kind == "contradicted":
        return verdicts.test_cell_feedback(cell, disagreements=[FINDING], mistakes=["reg_grad_factor_2"])
    if kind == "stopped":
        return verdicts.test_cell_feedback(cell, grader_note="the cell ran past its time limit")
    return list(verdicts.PASSED)


def stored_result(course):
    """A GradingResult: in each notebook the first test cell failed, the second contradicted by
    the checks, the third stopped, one with a hidden test failing, the rest passed; written
    answers waiting for a grader."""
    notebooks = {}
    for name in ("svm.ipynb", "softmax.ipynb"):
        nb = nbformat.read(Course(course).source / name, as_version=4)
        tests = [c for c in nb.cells if is_test(c)]
        kinds = dict(zip((grade_id(c) for c in tests), ("failed", "contradicted", "stopped", "hidden")))
        scores = {}
        for cell in nb.cells:
            if not meta(cell).get("grade"):
                continue
            gid, points = grade_id(cell), float(meta(cell)["points"])
            if is_test(cell):
                kind = kinds.get(gid, "passed")
                scores[gid] = CellScore(gid, "auto", score=points if kind == "passed" else 0.0, max=points,
                                        feedback=tuple(lines_for(cell, kind)))
            else:
                scores[gid] = CellScore(gid, "manual", score=None, max=points)
        notebooks[name] = NotebookResult(graded=nbformat.writes(nb), scores=scores)
    return GradingResult(student=STUDENT, timestamp="2026-11-30 16:00:00.000000 UTC",
                         notebooks=notebooks, checks=CHECKS)


def course_with_feedback(root, lang="en"):
    """Release the kit in `lang` into root/course, then add_feedback(); return the course folder."""
    course = root / "course"
    release.run(kit_root=REPO, course=course, dist=root / "dist", lang=lang)
    return add_feedback(course)


def add_feedback(course):
    """Store the submission in a released course, write its feedback and the report."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")
        score_store.store(course, stored_result(course))
    feedback.run(course=course, students=[STUDENT], progress=False)
    report.run(course=course, plot=False)
    return course


def feedback_page(course, name="svm.ipynb"):
    return (Course(course).feedback(STUDENT) / name.replace(".ipynb", ".html")).read_text()
