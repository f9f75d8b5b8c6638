"""The score contract (kit/scores.py): one rule for 'passed' and for adding scores up, a
score that travels typed and is stored as plain JSON, and nothing that reads scores as dicts."""
import ast
import json
import pickle

import nbformat
import pytest

from kit import grades, nbgrader_hooks, verdicts
from kit.scores import AUTO, MANUAL, CellScore, StudentScores, read_sheet
from kit_helpers import kit_lines_where



@pytest.mark.parametrize("score, most, expected", [
    (2.0, 2.0, True), (0.0, 2.0, False),
    (None, 2.0, False),   # waits for a grader
    (0.0, 0.0, True),
])
def test_one_rule_for_passed(score, most, expected):
    assert CellScore("cell", AUTO, score, most).passed is expected


def test_a_score_is_stored_as_plain_json_and_read_back_the_same():
    typed = CellScore("test_svm", AUTO, 1.0, 3.0, message="failed", feedback=("a", "b"))
    stored = json.loads(json.dumps(typed.stored()))
    assert list(stored) == ["score", "max", "kind", "message", "feedback"]
    assert stored == {"score": 1.0, "max": 3.0, "kind": "auto", "message": "failed", "feedback": ["a", "b"]}
    assert CellScore.read("test_svm", stored) == typed and not typed.passed
    answer = CellScore("q_1", MANUAL, None, 2.0, message="needs manual grading")
    assert "feedback" not in answer.stored()
    assert read_sheet({"q_1": answer.stored()}) == {"q_1": answer}
    assert pickle.loads(pickle.dumps(typed)) == typed   # to a pool or a Dask worker and back


def test_a_students_totals_and_final_grade():
    student = StudentScores(student="s", status="ok", late={"penalty": 1.5, "seconds_late": 60}, scores={
        "svm.ipynb": {"t1": CellScore("t1", AUTO, 5.0, 5.0), "q": CellScore("q", MANUAL, 2.0, 3.0, by_hand=True,
                                                                          state="graded")},
        "softmax.ipynb": {"t2": CellScore("t2", AUTO, 0.0, 4.0),
                          "q2": CellScore("q2", MANUAL, None, 1.0, state="pending")}})
    assert student.totals() == (5.0, 9.0) and student.totals(MANUAL) == (2.0, 4.0)
    assert student.most == 13.0 and student.final_total == 5.5
    assert student.hand_points == 2.0 and student.ungraded == 1
    assert student.answer_counts() == {"graded": 1, "pending": 1, "unanswered": 0}
    # The penalty never takes a grade below 0.
    assert StudentScores("s", "ok", {"penalty": 99.0}, student.scores).final_total == 0.0


def test_the_pass_rates_use_the_rule():
    summaries = [StudentScores("a", "ok", {}, {"svm.ipynb": {"t": CellScore("t", AUTO, 1.0, 1.0)}}),
                 StudentScores("b", "ok", {}, {"svm.ipynb": {"t": CellScore("t", AUTO, None, 1.0)}})]
    assert grades.pass_rates(summaries, ["t"]) == {"t": 0.5}


def test_nbgraders_feedback_scores_come_from_the_gradebook():
    """KitFeedback (nbgrader's generate_feedback) reads the score GetGrades put in the cell,
    hand grades included, as `kit feedback` does; alone, the kit's verdict decides."""
    failed = ["A test failed."]
    cell = nbformat.v4.new_code_cell("assert f()", metadata={
        "nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 2, "score": 2.0},
        "kit": {"feedback": failed}})
    entry = nbgrader_hooks.graded_score(cell)
    assert entry == CellScore("t", AUTO, 2.0, 2.0, feedback=tuple(failed)) and entry.passed
    del cell.metadata["nbgrader"]["score"]
    assert not nbgrader_hooks.graded_score(cell).passed
    cell.metadata["kit"]["feedback"] = list(verdicts.PASSED)
    assert nbgrader_hooks.graded_score(cell).passed


def score_subscripts(tree):
    """Places that read a score as a dict: x["score"], x["kind"], x["state"], x.get("score")
    (keys no other record of the kit has: a report's rows have their "max" and "by_hand")."""
    keys = {"score", "kind", "state"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in keys:
            found.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in keys):
            found.append(node.lineno)
    return found


def test_no_module_reads_a_score_as_a_dict():
    """Scores travel as CellScores: only the store's reading of grading.json (CellScore.read)
    and the notebook metadata nbgrader writes (cells' `nbgrader.score`, `kit.feedback`)
    look a score up by key."""
    offenders = kit_lines_where(score_subscripts, allowed={"scores.py", "nbgrader_hooks.py", "notebook_rules.py"})
    assert offenders == {}, offenders
