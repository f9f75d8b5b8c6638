"""Hand grades beside the autograder: a fresh release whose submissions are stored the way
`kit autograde` stores them (score_store.store, with made-up scores instead of a grading run),
then graded by hand through nbgrader's own Gradebook API, as formgrader saves a score.

Whatever the order of autograding and hand grading, every reader (grades.csv, feedback,
the report, the export) shows the same, current grade (issue 24, items 5 and 7).
"""
import csv
import json
import re
import warnings

import pytest

from kit import export, feedback, grades, mistakes, score_store
from kit.__main__ import main as kit_main
from kit.autograde.result import GradingResult, NotebookResult
from kit.course import ASSIGNMENT, Course
from kit.notebook_rules import NOTEBOOKS
from kit.scores import CellScore
from kit_helpers import make_course


ON_TIME, A_DAY_LATE = "2026-11-30 16:00:00.000000 UTC", "2026-12-01 12:00:00.000000 UTC"
# Hand points for written answers (and partial credit on a failed test cell) in both notebooks.
HAND = {"q_svm_gradient": 2.0, "q_svm_weights": 3.0, "test_svm_train": 3.0, "q_softmax_gradient": 1.5}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A release due 2026-11-30 17:00 UTC, 10 % off per started day late."""
    course = make_course(tmp_path_factory.mktemp("hand-grades"))
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("c.KitGrading.duedate = '2026-11-30 17:00:00 UTC'\n"
                "c.KitLatePenalty.penalty_method = 'per_day'\nc.KitLatePenalty.per_day = 0.1\n")
    return course


def gradebook(course):
    return Course(course).gradebook()


def cells_of(course):
    """{notebook: [(grade_id, kind, max)]} of the release, from the gradebook."""
    with gradebook(course) as gb:
        return {nb.name + ".ipynb": [(c.name, "auto" if c.cell_type == "code" else "manual", c.max_score)
                                     for c in nb.grade_cells]
                for nb in gb.find_assignment(ASSIGNMENT).notebooks}


def graded_result(course, student, timestamp=ON_TIME, failing=(), unanswered=(), checks=None):
    """A GradingResult as `kit autograde` returns it: every test cell passed but `failing`,
    written answers waiting for a grader but those `unanswered` (left as released: 0, as
    cells.scores gives them); the graded notebooks are the source notebooks."""
    notebooks = {}
    for nb, found in cells_of(course).items():
        scores = {gid: CellScore(gid, kind, score=(0.0 if gid in failing else most) if kind == "auto" else
                                 (0.0 if gid in unanswered else None), max=most)
                  for gid, kind, most in found}
        notebooks[nb] = NotebookResult(graded=(Course(course).source / nb).read_text(), scores=scores)
    return GradingResult(student=student, timestamp=timestamp, notebooks=notebooks,
                         checks=checks or {"svm_loss_naive:loss": []})


def store(course, result):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")
        score_store.store(course, result)


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
    assert json.loads((course / "autograded" / "regraded" / ASSIGNMENT / score_store.SUMMARY).read_text())


def grades_csv(course):
    with open(course / "grades.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def final_columns(row):
    return {k: row[k] for k in ("auto", "manual", "late penalty", "total", "max")}


def test_hand_points_are_penalised_whatever_the_order(course, tmp_path):
    # hand_after: autograded, then graded by hand (nbgrader's AssignLatePenalties ran before
    # the hand points existed). hand_before: graded by hand, then autograded again.
    for student in ("hand_after", "hand_before"):
        store(course, graded_result(course, student, A_DAY_LATE, failing=("test_svm_train",)))
        grade_by_hand(course, student, HAND)
    store(course, graded_result(course, "hand_before", A_DAY_LATE, failing=("test_svm_train",)))

    grades.write_reports(course, plot=False)
    rows = grades_csv(course)
    after, before = final_columns(rows["hand_after"]), final_columns(rows["hand_before"])
    assert after == before
    points = float(after["auto"]) + float(after["manual"])
    assert float(after["manual"]) == sum(v for k, v in HAND.items() if k.startswith("q_"))
    assert float(after["late penalty"]) == pytest.approx(0.1 * points)     # hand points included
    assert float(after["total"]) == pytest.approx(0.9 * points)

    # The export and the feedback read the same penalty.
    result = export.run(course=course, format="csv", out=tmp_path / "export.csv", verbose=False)
    exported = {r["id"]: r for r in result["rows"]}
    for student in ("hand_after", "hand_before"):
        assert exported[student]["late_penalty"] == pytest.approx(0.1 * points)
        assert exported[student]["total"] == pytest.approx(0.9 * points)
    feedback.run(course=course, students=["hand_after", "hand_before"], progress=False)
    with gradebook(course) as gb:
        scores = {nb: gb.find_submission_notebook(nb.replace(".ipynb", ""), ASSIGNMENT, "hand_after").score
                  for nb in NOTEBOOKS}
    for nb in NOTEBOOKS:
        notes = [re.findall(r"late penalty [0-9.]+ point\(s\) on this notebook",
                            (Course(course).feedback(student) / nb.replace(".ipynb", ".html")).read_text())
                 for student in ("hand_after", "hand_before")]
        assert notes[0] == notes[1] == [f"late penalty {0.1 * scores[nb]:g} point(s) on this notebook"]


def test_report_and_export_rewrite_grades_csv_after_hand_grading(course, tmp_path):
    store(course, graded_result(course, "stale", ON_TIME))
    grades.write_reports(course, plot=False)   # as `kit autograde` ends
    assert grades_csv(course)["stale"]["manual"] == "0"

    grade_by_hand(course, "stale", {"q_svm_gradient": 2.0})
    assert kit_main(["report", "--course", str(course)]) == 0
    assert grades_csv(course)["stale"]["manual"] == "2"
    assert grades_csv(course)["stale"]["q_svm_gradient"] == "2"

    grade_by_hand(course, "stale", {"q_svm_gradient": 3.0, "q_softmax_gradient": 1.0})
    assert kit_main(["export", "--course", str(course), "--format", "csv",
                     "--out", str(tmp_path / "export.csv")]) in (0, 1)   # 1: answers left to grade
    row = grades_csv(course)["stale"]
    assert (row["manual"], row["q_svm_gradient"], row["q_softmax_gradient"]) == ("4", "3", "1")


CAUSES = {"svm_loss_naive:loss": [mistakes.NOT_IMPLEMENTED], "svm_loss_vectorized:loss": [mistakes.IMPORT_FAILED],
          "softmax_loss_naive:loss": [mistakes.RAISED], "softmax_loss_vectorized:loss": [mistakes.OTHER],
          "LinearClassifier:predict": [mistakes.NO_RESULT]}


def test_report_shows_the_whole_grade(course):
    hostile = "<b>x"
    store(course, graded_result(course, "whole", A_DAY_LATE, failing=("test_svm_train",),
                                unanswered=("q_svm_init_loss",), checks=CAUSES))
    store(course, graded_result(course, hostile))
    grade_by_hand(course, "whole", {"q_svm_gradient": 2.0, "test_svm_train": 3.0})
    assert kit_main(["report", "--course", str(course)]) == 0
    data = json.loads((course / "reports" / "report.json").read_text())
    whole = data["grades"]["by_student"]["whole"]
    written = sum(1 for found in cells_of(course).values() for _, kind, _ in found if kind == "manual")
    assert whole["answers"] == {"graded": 1, "pending": written - 2, "unanswered": 1}
    assert whole["by_hand"] == 5.0 and whole["written"] == 2.0
    row = grades_csv(course)["whole"]
    assert whole["late_penalty"] == pytest.approx(float(row["late penalty"])) and whole["late_penalty"] > 0
    assert whole["total"] == pytest.approx(float(row["total"]))
    assert data["grades"]["written_answers"]["unanswered"] >= 1 and data["grades"]["late_students"] >= 1
    # One bucket per cause, none merged into another.
    named = {f["function"]: [m["name"] for m in f["mistakes"]] for f in data["functions"]}
    assert named["svm_loss_naive"] == ["not_implemented"] and named["svm_loss_vectorized"] == ["import_failed"]
    assert named["softmax_loss_naive"] == ["raised"] and named["softmax_loss_vectorized"] == ["other"]
    assert named["LinearClassifier"] == ["no_result"]
    page = (course / "reports" / "report.html").read_text()
    assert "Whole grades" in page and f"<td>{float(row['late penalty']):g}</td>" in page
    assert "<td>1 / " in page and "not_implemented" in page and "import_failed" in page
    assert "&lt;b&gt;x" in page and "<b>x" not in page
