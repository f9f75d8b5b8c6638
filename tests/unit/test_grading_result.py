"""Typed grading results: the grades.csv status comes from problem kinds, never from message
text, and grading.json is written from the dataclass and read back (old files too)."""
import json
import pickle

import pytest

from kit import score_store
from kit.autograde import GradingResult, NotebookResult, failed_result, grader_errors
from kit.course import Course, KitError
from kit.problems import Problem, ProblemKind
from kit.scores import CellScore

SCORES = {"test_a": CellScore("test_a", "auto", 0.0, 5.0, feedback=("Not run.",))}


def result_with(*problems, notebook_problems=()):
    return GradingResult(student="alice", timestamp="2026-12-01 10:00:00.000000 UTC",
                         notebooks={"svm.ipynb": NotebookResult(graded="{}", scores=SCORES,
                                                                problems=list(notebook_problems))},
                         problems=list(problems), checks={"svm_loss_naive:loss": []})


def test_status_comes_from_kinds_not_from_the_words_of_a_message():
    reworded = result_with(Problem(ProblemKind.TIMEOUT, "the cell was stopped after 20 s"),
                           notebook_problems=[Problem(ProblemKind.CELLS_RESTORED, "cell 'x': put back")])
    assert reworded.status == "timeout; cells restored"
    # Words of a status in a message that is not of that kind change nothing.
    misleading = result_with(Problem(ProblemKind.NOT_RUN, "not run: timeout, the kernel died, restored"),
                             Problem(ProblemKind.FILE_IGNORED, "classifiers/timeout.py: ignored"))
    assert misleading.status == "ok"


def test_each_kind_counts_once_in_the_order_first_met():
    result = result_with(Problem(ProblemKind.DEAD_KERNEL, "a"), Problem(ProblemKind.TIMEOUT, "b"),
                         notebook_problems=[Problem(ProblemKind.DEAD_KERNEL, "c")])
    assert result.status == "dead kernel; timeout"


def test_a_grader_error_is_told_apart_from_the_students_problems():
    failed = failed_result(result_with(), "grading crashed: OSError: disk full")
    assert failed.failed and failed.status == "grader error" and not failed.notebooks
    assert grader_errors([failed, result_with()]) == [failed]


def test_results_travel_between_processes():
    result = result_with(Problem(ProblemKind.TIMEOUT, "b"))
    assert pickle.loads(pickle.dumps(result)) == result


def test_grading_json_holds_plain_data_and_the_kinds(tmp_path):
    result = result_with(Problem(ProblemKind.TIME_UNKNOWN, "timestamp.txt is missing"),
                         notebook_problems=[Problem(ProblemKind.TRUSTED_CHECK_FAILED, "disagrees")])
    summary = json.loads(json.dumps(score_store.summary_of(result)))
    assert summary["status"] == "submission time unknown; trusted check failed"
    assert summary["kinds"] == ["submission time unknown", "trusted check failed"]
    assert summary["problems"] == ["timestamp.txt is missing"]
    assert summary["notebook_problems"] == {"svm.ipynb": ["disagrees"]}


def write_old_summary(course, status):
    """A grading.json as the kit wrote it before it stored kinds."""
    path = Course(course).autograded("alice") / score_store.SUMMARY
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"student": "alice", "status": status, "problems": ["old"],
                                "notebook_problems": {"softmax.ipynb": []}, "checks": {}, "scores": {}}))
    return path


def test_an_old_grading_json_is_merged_through_its_status(tmp_path):
    path = write_old_summary(tmp_path, "dead kernel; cells restored")
    score_store.merge_summary(tmp_path, result_with(Problem(ProblemKind.TIMEOUT, "b")))
    merged = json.loads(path.read_text())
    assert merged["kinds"] == ["dead kernel", "cells restored", "timeout"]
    assert merged["status"] == "dead kernel; cells restored; timeout"
    assert merged["problems"] == ["old", "b"]


def test_an_unreadable_old_status_asks_for_a_regrade(tmp_path):
    write_old_summary(tmp_path, "something new")
    with pytest.raises(KitError, match="autograde"):
        score_store.merge_summary(tmp_path, result_with())


def test_grading_json_reads_back_typed(tmp_path):
    """What `store` writes to grading.json, score_store reads back as a StoredGrading: the
    same scores as CellScores, the problems, the checks and the submission time."""
    result = result_with(Problem(ProblemKind.TIMEOUT, "b"), notebook_problems=[Problem(ProblemKind.CELLS_RESTORED, "c")])
    folder = Course(tmp_path).autograded("alice")
    score_store.write_folder(folder, {score_store.SUMMARY: json.dumps(score_store.summary_of(result))},
                             result.timestamp)
    stored = score_store.stored_grading(tmp_path, "alice")
    assert stored.scores == {"svm.ipynb": SCORES} and stored.student == "alice"
    assert (stored.status, stored.problems, stored.notebook_problems) == (
        "timeout; cells restored", ["b"], {"svm.ipynb": ["c"]})
    assert stored.checks == {"svm_loss_naive:loss": []} and stored.timestamp == result.timestamp
    assert score_store.stored_gradings(tmp_path) == [stored]


@pytest.mark.parametrize("text", ["{not json", '{"scores": {"svm.ipynb": {"t": {"score": 1}}}}', "[]"])
def test_a_broken_grading_json_is_named_with_its_fix(tmp_path, text):
    path = Course(tmp_path).autograded("alice") / score_store.SUMMARY
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(KitError, match=f"{path}.*grade that student again"):
        score_store.stored_grading(tmp_path, "alice")
