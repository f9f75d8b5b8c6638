"""`kit export`: the gradebook's grades in Canvas's and Moodle's import layouts, and as CSV.

A released course whose gradebook is filled through nbgrader's own Gradebook API: every
test cell passed, written answers graded by hand, one student a day late (10 % per day
late, worked out by the kit's late-penalty plugin from the points as they stand), one whose id a spreadsheet would run as a formula, one with a
written answer not graded yet. Every file is read back with the `csv` module.
"""
import csv
import datetime

import pytest

from kit import export
from kit.__main__ import main as kit_main
from kit.course import ASSIGNMENT, Course, KitError
from kit.spreadsheet import FORMULA_STARTS
from kit_helpers import make_course

EVIL = '=HYPERLINK("x")'
DUE = datetime.datetime(2026, 11, 30, 17, 0)   # naive UTC, as nbgrader stores times


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A fresh release (its gradebook knows the assignment's cells) with three graded students."""
    import warnings
    course = make_course(tmp_path_factory.mktemp("export"))
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("c.KitLatePenalty.penalty_method = 'per_day'\nc.KitLatePenalty.per_day = 0.1\n")
    with warnings.catch_warnings(), Course(course).gradebook() as gb:
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings; they are harmless
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.add_student("alice", first_name="Alice", last_name="Liddell", email="alice@uni.example",
                       lms_user_id="1001")
        gb.add_student("bob", first_name="Bob", last_name="Builder")
        gb.add_student(EVIL, first_name="@SUM(A1)")
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
        for student in ("alice", "bob", EVIL):
            arrived = DUE + datetime.timedelta(hours=20 if student == "bob" else -1)
            submission = gb.add_submission(ASSIGNMENT, student, timestamp=arrived)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.cell.cell_type == "code":
                        grade.auto_score = grade.max_score
                    elif student != EVIL:        # EVIL's written answers wait for a grader
                        grade.manual_score = grade.max_score / 2
        gb.db.commit()
    return course


@pytest.fixture(scope="module")
def points(course):
    """(auto max, manual max) of the assignment, from the gradebook."""
    with Course(course).gradebook() as gb:
        cells = [c for nb in gb.find_assignment(ASSIGNMENT).notebooks for c in nb.grade_cells]
        return (sum(c.max_score for c in cells if c.cell_type == "code"),
                sum(c.max_score for c in cells if c.cell_type != "code"))


@pytest.fixture
def roster(tmp_path):
    """alice and bob with their LMS ids, zoe (no submission); EVIL is missing."""
    path = tmp_path / "roster.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "first_name", "last_name", "email", "lms_user_id", "sis_user_id",
                         "sis_login_id", "section", "id_number", "notes"])
        writer.writerow(["alice", "", "", "", "", "S-1", "alice.l", "Lab 1", "2024001", "x"])
        writer.writerow(["bob", "Robert", "", "bob@uni.example", "1002", "S-2", "bob.b", "Lab 2", "2024002", ""])
        writer.writerow(["zoe", "Zoe", "Zed", "zoe@uni.example", "1003", "S-3", "zoe.z", "Lab 1", "2024003", ""])
    return path


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def no_formula(rows):
    """No cell a spreadsheet would run: none starts with a formula character."""
    return all(not cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


def test_canvas_layout(course, points, roster, tmp_path):
    auto, manual = points
    result = export.run(course=course, format="canvas", roster=roster, out=tmp_path / "canvas.csv",
                        title="Linear classifiers", lms_assignment_id="4242", verbose=False)
    rows = read(tmp_path / "canvas.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Linear classifiers (4242)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", f"{auto + manual:g}"]
    by_name = {r[0]: r for r in rows[2:]}
    # the roster's ids, nbgrader's where the roster says nothing (alice's Canvas ID)
    assert by_name["Liddell, Alice"] == ["Liddell, Alice", "1001", "S-1", "alice.l", "Lab 1", f"{auto + manual / 2:g}"]
    # bob was a day late: 10 % of his points come off his total
    assert by_name["Builder, Robert"] == ["Builder, Robert", "1002", "S-2", "bob.b", "Lab 2",
                                         f"{0.9 * (auto + manual / 2):g}"]
    # zoe is on the roster with no submission: a row, no grade (Canvas changes nothing)
    assert by_name["Zed, Zoe"] == ["Zed, Zoe", "1003", "S-3", "zoe.z", "Lab 1", ""]
    # EVIL has no id Canvas matches by: left out of the file (Canvas would put the grade
    # nowhere or abort), listed with the reason in the side file, formula neutralized there too
    assert not any(r[-1] == f"{auto:g}" and "SUM" in r[0] for r in rows)
    assert no_formula(rows) and len(rows) == 2 + 3
    assert result["not_on_roster"] == [EVIL] and result["not_graded"] == ["zoe"]
    assert result["unmatched"] == [EVIL] and result["incomplete"] == [EVIL]
    side = read(result["left_out"])
    assert side == [["student", "reason", "total", "max"],
                    ["'" + EVIL, "no id Canvas can match the student by", f"{auto:g}", f"{auto + manual:g}"]]


def test_the_warnings_count_students_and_say_how_many_answers_each(course, roster, tmp_path, capsys):
    """Not "1 nothing canvas can match them by" nor "2 written answers not graded yet" when
    2 students have 18 each: students are listed, with their count of ungraded answers."""
    result = export.run(course=course, format="canvas", roster=roster, out=tmp_path / "c.csv", verbose=False)
    (student, count), = result["ungraded_answers"].items()
    with Course(course).gradebook() as gb:
        written = sum(c.cell_type != "code" for nb in gb.find_assignment(ASSIGNMENT).notebooks
                      for c in nb.grade_cells)
    assert student == EVIL and count == written > 1
    export.report(result, "canvas")
    err = " ".join(capsys.readouterr().err.split())
    assert "students Canvas cannot match" in err
    assert ("students with written answers not graded yet, counted as 0 (grade them in formgrader); "
            f"ungraded answers each: {export.printable(EVIL)} ({count})") in err


def test_moodle_layout(course, points, roster, tmp_path):
    auto, manual = points
    export.run(course=course, format="moodle", roster=roster, out=tmp_path / "moodle.csv", verbose=False)
    rows = read(tmp_path / "moodle.csv")
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", ASSIGNMENT]
    assert ["Alice", "Liddell", "2024001", "alice@uni.example", f"{auto + manual / 2:g}"] in rows
    assert ["Robert", "Builder", "2024002", "bob@uni.example", f"{0.9 * (auto + manual / 2):g}"] in rows
    assert ["Zoe", "Zed", "2024003", "zoe@uni.example", ""] in rows
    # Moodle's import aborts on (or misfiles) a row it cannot match: EVIL (no email, no ID
    # number) stays out of the file (issue 24)
    assert not any(r[0] == "'@SUM(A1)" for r in rows)
    assert all(r[2] or r[3] for r in rows[1:]), "every Moodle row has an ID number or an email"
    assert no_formula(rows) and len(rows) == 1 + 3


def test_plain_csv_has_every_column_and_the_formula_id_arrives_neutralized(course, points, tmp_path):
    auto, manual = points
    result = export.run(course=course, format="csv", out=tmp_path / "grades.csv", verbose=False)
    rows = read(tmp_path / "grades.csv")
    assert rows[0] == export.CSV_HEADER
    table = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert set(table) == {"alice", "bob", "'" + EVIL}
    bob = table["bob"]
    assert (bob["auto"], bob["manual"], bob["late_penalty"], bob["total"], bob["max"]) == (
        f"{auto:g}", f"{manual / 2:g}", f"{0.1 * (auto + manual / 2):g}", f"{0.9 * (auto + manual / 2):g}",
        f"{auto + manual:g}")
    assert table["'" + EVIL]["first_name"] == "'@SUM(A1)"
    assert no_formula(rows)
    # no roster: nobody is missing from it, and nothing is listed as such
    assert result["not_on_roster"] == [] and result["not_graded"] == []


def test_the_command_line_lists_a_roster_mismatch(course, roster, tmp_path, capsys):
    code = kit_main(["export", "--format", "canvas", "--course", str(course), "--roster", str(roster),
                     "--out", str(tmp_path / "c.csv")])
    assert code == 1   # written, but someone needs looking at
    err = capsys.readouterr().err
    assert f"graded, but not on the roster (their rows carry nbgrader's ids only): {EVIL}" in err
    assert "on the roster, but no graded submission (their grade is left empty): zoe" in err
    assert (tmp_path / "c.csv").is_file()


def test_a_bad_roster_says_what_to_fix(course, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("name,email\nalice,a@x\n")
    with pytest.raises(KitError, match="expected a header row with a column `id`"):
        export.run(course=course, format="csv", roster=path, out=tmp_path / "x.csv", verbose=False)
    path.write_text("id,email\nalice,a@x\nalice,b@x\n")
    with pytest.raises(KitError, match="line 3: student 'alice' is listed twice"):
        export.run(course=course, format="csv", roster=path, out=tmp_path / "x.csv", verbose=False)
    with pytest.raises(KitError, match="expected a format among canvas, moodle, csv, got 'xls' instead"):
        export.run(course=course, format="xls", out=tmp_path / "x.csv", verbose=False)


def test_an_unknown_submission_time_is_never_exported_as_on_time(tmp_path):
    """A due date is set and one submission has no time (no timestamp.txt): its late penalty
    is undecided, so Canvas and Moodle files leave it out and the command exits 1 (issue 24:
    it was exported as full marks without a warning)."""
    import datetime
    import warnings
    course = make_course(tmp_path / "late")
    due = datetime.datetime(2026, 12, 1, 17, 0)
    with warnings.catch_warnings(), Course(course).gradebook() as gb:
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.update_or_create_assignment(ASSIGNMENT, duedate=due)
        for student, when in (("ontime", due - datetime.timedelta(hours=1)), ("nostamp", None)):
            gb.add_student(student, email=f"{student}@uni.example", lms_user_id=f"id-{student}")
            submission = gb.add_submission(ASSIGNMENT, student, timestamp=when)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    grade.auto_score = grade.max_score if grade.cell.cell_type == "code" else None
        gb.db.commit()
    for format in ("canvas", "moodle"):
        out = tmp_path / f"{format}.csv"
        code = kit_main(["export", "--format", format, "--course", str(course), "--out", str(out)])
        assert code == 1
        text = out.read_text()
        assert "ontime" in text and "nostamp" not in text, text
        side = read(tmp_path / f"{format}-left-out.csv")
        assert side[1][:2] == ["nostamp", "submission time unknown: late penalty undecided"]
