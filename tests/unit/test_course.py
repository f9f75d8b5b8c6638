"""The typed Course (kit/course.py): where a course's parts are is said in one place, a
Course is a path for what only needs the folder, and it travels to worker processes."""
import ast
import os
import pickle
from pathlib import Path

import pytest

from kit.course import ASSIGNMENT, Course
from kit_helpers import kit_lines_where

# nbgrader's folders of a course: only kit/course.py spells them.
LAYOUT = {"source", "release", "submitted", "autograded", "feedback", "gradebook.db"}
# collect takes the assignment's name as an argument (nbgrader's layout for any assignment);
# the hub's setup builds the exchange's folders (inbound, outbound, feedback), not a course's.
SPELLS_LAYOUT = {"course.py", "collect.py", "setup.py"}


def test_a_course_says_where_its_parts_are(tmp_path):
    course = Course(tmp_path)
    assert course.source == tmp_path / "source" / ASSIGNMENT
    assert course.release == tmp_path / "release" / ASSIGNMENT
    assert course.submitted("ann") == tmp_path / "submitted" / "ann" / ASSIGNMENT
    assert course.autograded("ann") == tmp_path / "autograded" / "ann" / ASSIGNMENT
    assert course.feedback("ann") == tmp_path / "feedback" / "ann" / ASSIGNMENT
    assert (course.submitted(), course.autograded(), course.feedback()) == (
        tmp_path / "submitted", tmp_path / "autograded", tmp_path / "feedback")
    assert course.gradebook_url == "sqlite:///" + str((tmp_path / "gradebook.db").resolve())


def test_a_course_is_a_path_that_does_not_change(tmp_path):
    course = Course(tmp_path)
    assert os.fspath(course) == str(course) == str(tmp_path) and Path(course) == tmp_path
    assert course / "grades.csv" == tmp_path / "grades.csv"
    assert Course(course) == course and Course(str(tmp_path)) == course
    assert hash(Course(tmp_path)) == hash(course) and course != tmp_path
    with pytest.raises(AttributeError):
        course.root = Path("/elsewhere")
    assert pickle.loads(pickle.dumps(course)) == course   # to a pool or a Dask worker


def test_a_course_reads_its_own_settings(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.KitGrading.cell_timeout = 7.0\nc.CourseDirectory.course_id = 'cs231n'\n")
    course = Course(tmp_path)
    assert course.grading().cell_timeout == 7.0 and course.course_id == "cs231n"
    assert Course(tmp_path / "elsewhere").grading().cell_timeout != 7.0   # never the cwd's


def layout_paths(tree):
    """Line numbers of `x / "release"`-like expressions: a course folder part spelled by hand."""
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
            and isinstance(node.right, ast.Constant) and node.right.value in LAYOUT]


def test_only_the_course_spells_its_layout():
    offenders = kit_lines_where(layout_paths, allowed=SPELLS_LAYOUT)
    assert offenders == {}, offenders
