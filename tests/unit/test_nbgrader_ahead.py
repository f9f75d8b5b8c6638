"""Which submissions `nbgrader autograde` will convert, read without changing anything
(kit/nbgrader_ahead.py), with nbgrader's own converter and course folder layout, and held
to nbgrader's own decision (its converter's init_destination, run on a twin course) rather
than to a private attribute of the converter."""

import pytest
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from kit import nbgrader_ahead
from kit.autograde import GradingResult, NotebookResult

ASSIGNMENT = "linear_classifiers"


def converter_for(root, students, graded=(), newer=(), force=False, exclude=""):
    for student in students:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "svm.ipynb").write_text("{}")
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    for student in graded:
        dest = root / "autograded" / student / ASSIGNMENT
        dest.mkdir(parents=True)
        stamp = "2026-12-01 09:00:00.000000 UTC" if student in newer else "2026-12-01 11:00:00.000000 UTC"
        (dest / "timestamp.txt").write_text(stamp)
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.assignment_id = ASSIGNMENT
    config.CourseDirectory.student_id_exclude = exclude
    coursedir = CourseDirectory(config=config)
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force = force
    converter.init_notebooks()
    return converter


def nbgrader_converts(converter, students):
    """nbgrader's own decision, by its own code: which of these submissions its converter
    takes (init_destination, which removes what it will grade again: run on a twin course)."""
    return [s for s in sorted(students) if converter.init_destination(ASSIGNMENT, s)]


COURSES = [dict(graded=["bob", "dave"], newer=["dave"], exclude="erin"),
           dict(graded=["bob"], force=True), dict(graded=["alice", "bob", "carol", "dave", "erin"])]


@pytest.mark.parametrize("course", COURSES, ids=["skips", "force", "all-graded"])
def test_the_submissions_listed_are_those_nbgrader_itself_converts(tmp_path, course):
    students = ["carol", "alice", "bob", "dave", "erin"]
    converter = converter_for(tmp_path / "read", students, **course)
    before = sorted(str(p) for p in (tmp_path / "read").rglob("*"))
    listed = nbgrader_ahead.will_convert(converter)
    assert sorted(str(p) for p in (tmp_path / "read").rglob("*")) == before   # nothing removed or written
    assert listed == nbgrader_converts(converter_for(tmp_path / "twin", students, **course), students)


def test_submissions_are_listed_in_nbgrader_order_less_those_it_skips(tmp_path):
    converter = converter_for(tmp_path, ["carol", "alice", "bob", "dave", "erin"],
                              graded=["bob", "dave"], newer=["dave"], exclude="erin")
    # bob was graded after he handed in: nbgrader skips him; dave handed in again since.
    assert nbgrader_ahead.will_convert(converter) == ["alice", "carol", "dave"]


def test_force_converts_every_listed_submission(tmp_path):
    converter = converter_for(tmp_path, ["alice", "bob"], graded=["bob"], force=True)
    assert nbgrader_ahead.will_convert(converter) == ["alice", "bob"]


def test_the_converter_is_found_from_a_preprocessor_inside_it(tmp_path):
    converter = converter_for(tmp_path, ["alice"])

    class Child:
        parent = converter
    assert nbgrader_ahead.converter_of(Child()) is converter
    assert nbgrader_ahead.converter_of(object()) is None


def test_one_notebook_part_of_a_whole_result():
    whole = GradingResult(student="alice", notebooks={"svm.ipynb": NotebookResult(graded="{}", scores={}),
                                                      "softmax.ipynb": NotebookResult(graded="{}", scores={})})
    part = nbgrader_ahead.notebook_part(whole, "svm.ipynb")
    assert list(part.notebooks) == ["svm.ipynb"] and part.student == "alice"
    assert list(whole.notebooks) == ["svm.ipynb", "softmax.ipynb"]   # the whole is left as it was
