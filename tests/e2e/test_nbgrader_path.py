"""nbgrader's own commands on a course `kit release` made grade and hand back as the kit does.

An instructor in the course folder runs `nbgrader autograde`, `nbgrader generate_feedback`
and `nbgrader release_feedback` (what formgrader's buttons run). The configuration the
release wrote puts the kit's grading in nbgrader's pipelines, so: the scores nbgrader
stores are the kit's, a submission that copies the hidden tests' reference code scores
nothing, student code stays in the sandbox, and no line of a hidden test or of a solution
reaches any feedback file.
"""
import html
import re
import subprocess
import sys

import pytest

from kit import sandbox
from kit.course import ASSIGNMENT, Course
from kit.release import secret_lines
from kit_helpers import (collect_all, gradebook_auto_scores, grade, graded_cells, make_course, notebook,
                         reference_submission, scores, untouched_submission)
from payloads import LEAK_HIDDEN, STEAL_REFERENCE, append

ISOLATED, WHY_NOT = sandbox.isolation_status()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not ISOLATED, reason=f"grading refuses without a sandbox: {WHY_NOT}")]
STUDENTS = ("nbg_reference", "nbg_untouched", "nbg_steal", "nbg_leak")


def nbgrader(course, *args, timeout=900):
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def course_graded_both_ways(tmp_path_factory, cifar10_dir):
    root = tmp_path_factory.mktemp("nbgrader-path")
    course = make_course(root)
    folders = [reference_submission(course, root / STUDENTS[0])]
    folders += [untouched_submission(course, root / s) for s in STUDENTS[1:]]
    append(folders[2], "linear_svm.py", STEAL_REFERENCE)
    append(folders[3], "linear_svm.py", LEAK_HIDDEN)
    collect_all(course, folders)
    for student in STUDENTS:  # as `nbgrader submit` leaves it, for release_feedback to key on
        (course / "submitted" / student / ASSIGNMENT / "submission_secret.txt").write_text(student * 3)
    by_kit = grade(course, list(STUDENTS), cifar10_dir, run_notebooks=False)
    nbgrader(course, "autograde", ASSIGNMENT, "--force", "--KitGrading.tests_only=True",
             f"--KitGrading.data_dir={cifar10_dir}")
    return course, {s: scores(r) for s, r in by_kit.items()}, root


def test_nbgrader_autograde_stores_the_kits_scores(course_graded_both_ways):
    course, by_kit, _ = course_graded_both_ways
    by_nbgrader = gradebook_auto_scores(course, STUDENTS)
    assert by_nbgrader == by_kit
    full = sum(float(c["metadata"]["nbgrader"]["points"]) for name in ("svm.ipynb", "softmax.ipynb")
               for c in graded_cells(notebook(Course(course).source, name)))
    assert full > 0 and sum(by_nbgrader["nbg_reference"].values()) == full
    assert sum(by_nbgrader["nbg_steal"].values()) == sum(by_nbgrader["nbg_untouched"].values()) == 0


def test_one_course_row_in_the_gradebook(course_graded_both_ways):
    from nbgrader.api import Course as CourseRow
    course, _, _ = course_graded_both_ways
    nbgrader(course, "db", "assignment", "list")
    with Course(course).gradebook() as gb:
        ids = {c.id for c in gb.db.query(CourseRow).all()}
    # The kit writes the configured course only (it wrote an empty id before); nbgrader's
    # own preprocessors open the gradebook without a course id and add "default_course".
    assert "linear_classifiers_course" in ids and ids <= {"linear_classifiers_course", "default_course"}, ids


def test_nbgrader_feedback_leaks_no_hidden_test_or_solution(course_graded_both_ways):
    course, _, root = course_graded_both_ways
    exchange = root / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)  # nbgrader wants a world-writable exchange
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    nbgrader(course, "release_feedback", ASSIGNMENT, f"--Exchange.root={exchange}")
    secrets = secret_lines(Course(course).source)
    assert len(secrets) > 50, "expected the source to hold solution and hidden-test lines"
    files = [p for folder in (course / "feedback", exchange) for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files if "nbg_leak" in str(p))
    # The reference submission's own code and answers are the solution: skip its files,
    # also where release_feedback put them in the exchange (named by a hash there).
    reference = {p.read_bytes() for p in files if "nbg_reference" in p.parts}
    leaks = {}
    for path in files:
        if "nbg_reference" in path.parts or path.read_bytes() in reference:
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".html":  # the text a browser shows, line by line
            text = html.unescape(re.sub(r"<[^>]*>", "", text))
        found = secrets & {line.strip() for line in text.splitlines()}
        if found:
            leaks[str(path)] = sorted(found)[:3]
    assert not leaks, leaks
