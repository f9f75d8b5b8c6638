"""The score contract (kit/scores.py): one rule for 'passed', and the typed readings."""
import pytest

from kit import grades, scores
from kit.scores import CellScore


@pytest.mark.parametrize("score, expected", [
    ({"score": 2.0, "max": 2.0, "kind": "auto"}, True),
    ({"score": 0.0, "max": 2.0, "kind": "auto"}, False),
    ({"score": None, "max": 2.0, "kind": "manual"}, False),   # waits for a grader
    ({"score": 0.0, "max": 0.0, "kind": "auto"}, True),
    (None, False), ({}, False),
])
def test_one_rule_for_passed(score, expected):
    assert scores.passed(score) is expected
    if score:
        assert CellScore.read("cell", score).passed is expected


def test_a_stored_score_reads_as_a_typed_one():
    stored = {"score": 1.0, "max": 3, "kind": "auto", "message": "failed", "feedback": ["a", "b"]}
    typed = CellScore.read("test_svm", stored)
    assert typed == CellScore("test_svm", "auto", 1.0, 3.0, "failed", ("a", "b"))
    assert not typed.passed


def test_the_pass_rates_use_the_rule():
    summaries = [{"scores": {"svm.ipynb": {"t": {"score": 1.0, "max": 1.0, "kind": "auto"}}}},
                 {"scores": {"svm.ipynb": {"t": {"score": None, "max": 1.0, "kind": "auto"}}}}]
    assert grades.pass_rates(summaries, ["t"]) == {"t": 0.5}


def test_nbgraders_feedback_scores_come_from_the_gradebook():
    """KitFeedback (nbgrader's generate_feedback) reads the score GetGrades put in the cell,
    hand grades included, as `kit feedback` does; alone, the kit's verdict decides."""
    import nbformat

    from kit import nbgrader_hooks, verdicts
    failed = ["A test failed."]
    cell = nbformat.v4.new_code_cell("assert f()", metadata={
        "nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 2, "score": 2.0},
        "kit": {"feedback": failed}})
    entry = nbgrader_hooks.graded_score(cell)
    assert entry == {"feedback": failed, "score": 2.0, "max": 2.0} and scores.passed(entry)
    del cell.metadata["nbgrader"]["score"]
    assert not scores.passed(nbgrader_hooks.graded_score(cell))
    cell.metadata["kit"]["feedback"] = list(verdicts.PASSED)
    assert scores.passed(nbgrader_hooks.graded_score(cell))
