"""Hand grades beside the autograder: a fresh release whose submissions are stored the way
`kit autograde` stores them (grades.store, with made-up scores instead of a grading run),
then graded by hand through nbgrader's own Gradebook API, as formgrader saves a score.

Whatever the order of autograding and hand grading, every reader (grades.csv, feedback,
the report, the export) shows the same, current grade (issue 24, items 5 and 7).
"""
import json
import warnings

import pytest

from kit import grades
from kit.autograde.result import GradingResult, NotebookResult
from kit.course import ASSIGNMENT, NOTEBOOKS, coursedir, gradebook_url, source_dir
from kit_helpers import make_course


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("hand-grades"))


def gradebook(course):
    from nbgrader.api import Gradebook
    return Gradebook(gradebook_url(course), coursedir(course).course_id)


def cells_of(course):
    """{notebook: [(grade_id, kind, max)]} of the release, from the gradebook."""
    with gradebook(course) as gb:
        return {nb.name + ".ipynb": [(c.name, "auto" if c.cell_type == "code" else "manual", c.max_score)
                                     for c in nb.grade_cells]
                for nb in gb.find_assignment(ASSIGNMENT).notebooks}


def graded_result(course, student, timestamp="2026-11-30 16:00:00.000000 UTC", failing=()):
    """A GradingResult as `kit autograde` returns it: every test cell passed but `failing`,
    written answers waiting for a grader; the graded notebooks are the source notebooks."""
    notebooks = {}
    for nb, found in cells_of(course).items():
        scores = {gid: {"score": (0.0 if gid in failing else most) if kind == "auto" else None,
                        "max": most, "kind": kind} for gid, kind, most in found}
        notebooks[nb] = NotebookResult(graded=(source_dir(course) / nb).read_text(), scores=scores)
    return GradingResult(student=student, timestamp=timestamp, notebooks=notebooks,
                         checks={"svm_loss_naive:loss": []})


def store(course, result):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")
        grades.store(course, result)


def grade_by_hand(course, student, points):
    """Save hand scores {grade_id: points} as formgrader does (its rule for needs_manual_grade)."""
    with gradebook(course) as gb:
        for nb in NOTEBOOKS:
            for grade in gb.find_submission_notebook(nb.replace(".ipynb", ""), ASSIGNMENT, student).grades:
                if grade.name in points:
                    grade.manual_score = points[grade.name]
                    grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gb.db.commit()


def grade_rows(course):
    with gradebook(course) as gb:
        return {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                for nb in NOTEBOOKS
                for g in gb.find_submission_notebook(nb.replace(".ipynb", ""), ASSIGNMENT, "regraded").grades}


def test_grading_again_keeps_hand_grades_and_their_done_flag(course):
    store(course, graded_result(course, "regraded", failing=("test_svm_train",)))
    before = grade_rows(course)
    assert before["q_svm_gradient"] == (None, None, True)       # a written answer waits for a grader
    assert before["test_svm_train"] == (0.0, None, False)
    # A grader marks a written answer and overrules a failed test cell (partial credit).
    grade_by_hand(course, "regraded", {"q_svm_gradient": 2.0, "test_svm_train": 3.0})

    store(course, graded_result(course, "regraded", failing=("test_svm_train",)))   # graded again
    after = grade_rows(course)
    assert after["q_svm_gradient"] == (None, 2.0, False), "a graded written answer is not to grade again"
    assert after["test_svm_train"] == (0.0, 3.0, False), "the hand score overruling the test cell stays"
    assert after["q_svm_init_loss"] == (None, None, True)        # not graded yet: still listed
    assert after["test_svm_naive_loss"] == (5.0, None, False)
    with gradebook(course) as gb:
        waiting = [g.name for nb in NOTEBOOKS for g in gb.find_submission_notebook(
            nb.replace(".ipynb", ""), ASSIGNMENT, "regraded").grades if g.needs_manual_grade]
    assert "q_svm_gradient" not in waiting and "test_svm_train" not in waiting
    assert json.loads((course / "autograded" / "regraded" / ASSIGNMENT / grades.SUMMARY).read_text())
