"""`python -m kit export`: the gradebook's grades as a file an LMS imports (Canvas, Moodle) or plain CSV.

Scores come from the gradebook, the one score store (`score_store.load_summaries`: auto and
manual points, hand grading included), with the late penalty (nbgrader's
`late_submission_penalty`, worked out from those points when they are read: kit/late.py)
taken off the total; grades.csv is written again from the same grades.
Who a student is in the LMS comes from a roster file and, where it says nothing, from
nbgrader's own student records (`nbgrader db student import` fills `lms_user_id`, email
and names). Students on only one side (graded but not on the roster, on the roster but
with no graded submission) and students the LMS could not match (no id for it) are
listed on the terminal and in the result. In a Canvas or Moodle file, a row the LMS cannot
match (no id for it) and a row whose submission time is unknown (a due date is set, so its
late penalty is undecided) are left out, never guessed: the LMS would abort the import or
put the grade on the wrong student, or take an undecided grade as on time. They go to a
side file (`export-FORMAT-left-out.csv`) with the reason, and the command exits 1. The
plain CSV keeps every row.

Every cell goes through the `csv` module and `spreadsheet.spreadsheet_safe`, so a value a
spreadsheet would read as a formula (an id like `=HYPERLINK("x")`) arrives as text.
"""
import csv
import sys
from pathlib import Path

from .course import ASSIGNMENT, Course, KitError
from .grades import write_reports
from .scores import AUTO, MANUAL
from .score_store import load_summaries
from .spreadsheet import fmt, printable, spreadsheet_safe

FORMATS = ("canvas", "moodle", "csv")
LMS_NAMES = {"canvas": "Canvas", "moodle": "Moodle", "csv": "a CSV file"}   # for messages
# The roster's columns: nbgrader's own student fields (so a file made for
# `nbgrader db student import` works as is), then the LMS identities only a roster knows.
ROSTER_FIELDS = ("id", "first_name", "last_name", "email", "lms_user_id",
                 "sis_user_id", "sis_login_id", "section", "id_number")
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Canvas's own exports start their second row so; its import reads the row as the points possible.
CANVAS_POINTS = "    Points Possible"
MOODLE_HEADER = ["First name", "Last name", "ID number", "Email address"]
CSV_HEADER = ["student", "first_name", "last_name", "email", "lms_user_id", "sis_user_id",
              "sis_login_id", "section", "id_number", "auto", "manual", "late_penalty", "total",
              "max", "status"]


def run(*, course, format, roster=None, out=None, title=ASSIGNMENT, lms_assignment_id=None, verbose=True):
    """
    Write the grades of every graded submission in an LMS's import layout.

    Inputs:
    - course: the nbgrader course folder (its gradebook.db).
    - format: "canvas", "moodle" or "csv".
    - roster: a CSV file (columns ROSTER_FIELDS, `id` required) or None.
    - out: the file to write (default course/export-<format>.csv).
    - title: the assignment's name in the LMS; lms_assignment_id: Canvas's id of it, or None.
    - verbose: print where the file went and every student listed below.

    Returns:
    - dict with "path"; "rows" (one dict per student written: ROSTER_FIELDS plus auto,
      manual, late_penalty, total, max, status; total is after the late penalty, None
      when not graded); "not_on_roster" (graded ids the roster lacks), "not_graded"
      (roster ids with no graded submission), "unmatched" (ids with nothing the LMS can
      match them by), "time_unknown" (graded ids whose submission time is unknown while a
      due date is set), "left_out" (path of the side file listing the rows a Canvas or
      Moodle file leaves out, with why; None when none), "ungraded_answers" ({id: how many written answers are not graded yet}), "incomplete" (those ids, with written
      answers still ungraded).

    Raises KitError for an unknown format or a roster that cannot be read.
    """
    if format not in FORMATS:
        raise KitError(f"expected a format among {', '.join(FORMATS)}, got {format!r} instead")
    course = Course(course)
    if not course.gradebook_file.is_file():
        raise KitError(f"expected a gradebook at {course.gradebook_file}, found none; "
                       f"run `python -m kit autograde` first")
    people = read_roster(Path(roster)) if roster is not None else None
    # The export reads the final grades: grades.csv shows the same ones (hand grading included).
    write_reports(course, table=False)
    rows, not_on_roster, not_graded, ungraded = merge(load_summaries(course), gradebook_people(course), people)
    unmatched = [r["id"] for r in rows if not identified(r, format)]
    time_unknown = [r["id"] for r in rows if r.get("time_unknown")]
    path = Path(out) if out is not None else course / f"export-{format}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    reasons = {}
    if format != "csv":
        for student in unmatched:
            reasons.setdefault(student, f"no id {LMS_NAMES[format]} can match the student by")
        for student in time_unknown:
            reasons.setdefault(student, "submission time unknown: late penalty undecided")
    write(path, format, [r for r in rows if r["id"] not in reasons], title, lms_assignment_id)
    left_out = write_left_out(path, rows, reasons)
    result = {"path": path, "rows": rows, "not_on_roster": not_on_roster, "not_graded": not_graded,
              "unmatched": unmatched, "time_unknown": time_unknown, "left_out": left_out,
              "incomplete": [student for student, _ in ungraded], "ungraded_answers": dict(ungraded)}
    if verbose:
        report(result, format)
    return result


def read_roster(path):
    """{student id: {field: value}} from a roster CSV (header names as ROSTER_FIELDS, any case;
    other columns ignored), in the file's order."""
    if not path.is_file():
        raise KitError(f"expected --roster to be a CSV file, got {path} instead")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        if "id" not in header:
            raise KitError(f"{path}: expected a header row with a column `id` (the nbgrader student id) "
                           f"and any of {', '.join(ROSTER_FIELDS[1:])}, got {header} instead")
        people = {}
        for line, values in enumerate(reader, 2):
            if not any(v.strip() for v in values):
                continue
            row = {name: value.strip() for name, value in zip(header, values) if name in ROSTER_FIELDS}
            student = row.get("id", "")
            if not student:
                raise KitError(f"{path}, line {line}: expected a student id in column `id`, got nothing; "
                               f"fill it in or delete the line")
            if student in people:
                raise KitError(f"{path}, line {line}: student {student!r} is listed twice; keep one line")
            people[student] = row
    return people


def gradebook_people(course):
    """{student id: nbgrader's fields of the student (ROSTER_FIELDS it has)}."""
    with course.gradebook() as gb:
        return {student.id: {"id": student.id, "first_name": student.first_name or "",
                             "last_name": student.last_name or "", "email": student.email or "",
                             "lms_user_id": student.lms_user_id or ""} for student in gb.students}


def merge(summaries, known, roster):
    """The rows to write (graded students in id order, then roster students with no graded
    submission), and the ids on one side only and those not fully graded."""
    rows, graded = [], set()
    incomplete = []
    for summary in summaries:
        student = summary.student
        graded.add(student)
        if summary.ungraded:
            incomplete.append((student, summary.ungraded))
        fields = identity(student, known.get(student, {}), (roster or {}).get(student, {}))
        rows.append({**fields, "auto": summary.totals(AUTO)[0], "manual": summary.totals(MANUAL)[0],
                     "late_penalty": summary.late["penalty"] or 0.0,
                     "total": summary.final_total, "max": summary.most,
                     "status": summary.status, "time_unknown": summary.late["seconds_late"] is None})
    not_on_roster = [s for s in sorted(graded) if roster is not None and s not in roster]
    not_graded = [s for s in (roster or {}) if s not in graded]
    most = max((r["max"] for r in rows), default=None)
    for student in not_graded:
        rows.append({**identity(student, known.get(student, {}), roster[student]), "auto": None,
                     "manual": None, "late_penalty": None, "total": None, "max": most,
                     "status": "no graded submission"})
    return rows, not_on_roster, not_graded, incomplete


def identity(student, from_gradebook, from_roster):
    """ROSTER_FIELDS of a student: the roster's value where it has one, else nbgrader's."""
    return {name: from_roster.get(name) or from_gradebook.get(name) or "" for name in ROSTER_FIELDS} | {"id": student}


def identified(row, format):
    """Whether the LMS can match the row to a student."""
    if format == "canvas":
        return any(row[k] for k in ("lms_user_id", "sis_user_id", "sis_login_id"))
    if format == "moodle":
        return any(row[k] for k in ("email", "id_number"))
    return True


def write(path, format, rows, title, lms_assignment_id):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)

        def put(cells):
            writer.writerow([spreadsheet_safe("" if c is None else c) for c in cells])

        if format == "canvas":
            column = f"{title} ({lms_assignment_id})" if lms_assignment_id else title
            most = max((r["max"] for r in rows if r["max"] is not None), default=None)
            put(CANVAS_HEADER + [column])
            put([CANVAS_POINTS, "", "", "", "", fmt(most)])
            for r in rows:
                name = ", ".join(n for n in (r["last_name"], r["first_name"]) if n) or r["id"]
                put([name, r["lms_user_id"], r["sis_user_id"], r["sis_login_id"], r["section"], fmt(r["total"])])
        elif format == "moodle":
            put(MOODLE_HEADER + [title])
            for r in rows:
                put([r["first_name"], r["last_name"], r["id_number"], r["email"], fmt(r["total"])])
        else:
            put(CSV_HEADER)
            for r in rows:
                put([r["id"], *(r[k] for k in ROSTER_FIELDS[1:]),
                     *(fmt(r[k]) for k in ("auto", "manual", "late_penalty", "total", "max")), r["status"]])


def write_left_out(path, rows, reasons):
    """The side file beside `path` listing the rows left out of it and why; None (and any old
    side file removed) when nothing was left out."""
    side = path.with_name(f"{path.stem}-left-out.csv")
    if not reasons:
        side.unlink(missing_ok=True)
        return None
    with open(side, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "reason", "total", "max"])
        for r in rows:
            if r["id"] in reasons:
                writer.writerow([spreadsheet_safe(c) for c in
                                 (r["id"], reasons[r["id"]], fmt(r["total"]), fmt(r["max"]))])
    return side


def report(result, format):
    print(f"Grades for {format}: {result['path']} ({len(result['rows'])} students)")
    lists = [("graded, but not on the roster (their rows carry nbgrader's ids only)", result["not_on_roster"]),
             ("on the roster, but no graded submission (their grade is left empty)", result["not_graded"]),
             (f"students {LMS_NAMES.get(format, format)} cannot match (add their LMS ids to the roster)"
              + ("; left out of the file" if format != "csv" else ""), result["unmatched"]),
             ("submission time unknown, so the late penalty is undecided (collect the submission "
              "again with its timestamp.txt)" + ("; left out of the file" if format != "csv" else ""),
              result["time_unknown"]),
             ("students with written answers not graded yet, counted as 0 (grade them in formgrader); "
              "ungraded answers each", list(result["ungraded_answers"].items()))]
    for what, students in lists:
        if students:
            named = [printable(s) if isinstance(s, str) else f"{printable(s[0])} ({s[1]})" for s in students]
            print(f"warning: {what}: {', '.join(named)}", file=sys.stderr)
    if result["left_out"]:
        print(f"Left out of the file, with the reasons: {result['left_out']}", file=sys.stderr)
