"""`python -m kit report`: what the class got wrong, per function, for the instructor.

Written after every `kit autograde` too. From each graded submission's grading.json
(its `checks`: every trusted check judged, [] when right, else the names of the known
mistakes that explain it, see kit/mistakes.py) and from the gradebook (scores, hand
grading included, as grades.csv has them), it writes into <course>/reports/:
- report.json: per function, how many submissions were checked and fully right, and each
  mistake with its count and students (a missing result by its cause, kit/mistakes.py);
  the score summary and per-cell pass rates; the whole grade (`grades`: written answers
  graded, pending and unanswered, points given by hand, late penalties, each student's
  total as grades.csv has it);
- report.csv: one row per function and mistake (a function without mistakes: one row);
- report.html: the same as a static page (kit/page_templates/report.html.j2, rendered with
  Jinja2's autoescaping: no script, every text escaped) with the score histogram and
  per-cell pass rates the kit draws (grades.plot_summary) embedded as PNG.
Student ids and statuses are data: escaped in HTML, neutralized for spreadsheets in CSV.
The report is in the course's language (kit/phrases.py: the page, the mistakes' descriptions
in all three files), and names each test cell as its students saw it (utils/cell_names.py).
"""
import base64
import csv
import json

from . import cells, grades, mistakes, phrases, score_store
from .checks import ASPECTS
from .course import ASSIGNMENT, Course, KitError
from .i18n import DEFAULT_LANGUAGE
from .pages import render
from .phrases import N_
from .scores import AUTO, MANUAL
from .spreadsheet import fmt, spreadsheet_safe

FOLDER = "reports"
CSV_HEADER = ("function", "checked", "fully right", "mistake", "description", "count", "students")


def load_checks(course):
    """{student: {check: [mistake names]}} from every graded submission's grading.json."""
    return {stored.student: stored.checks for stored in score_store.stored_gradings(course)}


def by_function(checks, lang=DEFAULT_LANGUAGE):
    """Per function (the checks' target), in the order the assignment introduces them.

    Inputs: {student: {check: [mistake names]}} (load_checks); lang, the descriptions' language.
    Returns [{function, checked, fully_right, students_right, mistakes: [{name, description,
    count, students}]}], the mistakes most common first.
    """
    say = phrases.translator(lang)
    rows = []
    for target in ASPECTS:
        judged = {s: [names for check, names in c.items() if check.split(":")[0] == target]
                  for s, c in checks.items()}
        judged = {s: found for s, found in judged.items() if found}
        if not judged:
            continue
        right = sorted(s for s, found in judged.items() if not any(found))
        named = {}
        for student, found in sorted(judged.items()):
            for name in dict.fromkeys(n for names in found for n in names):
                named.setdefault(name, []).append(student)
        # Causes (not implemented, import failed, ...) are listed after the named mistakes.
        ranked = sorted(named.items(), key=lambda item: (-len(item[1]), item[0] in mistakes.UNNAMED, item[0]))
        rows.append({"function": target, "checked": len(judged), "fully_right": len(right),
                     "students_right": right,
                     "mistakes": [{"name": name, "description": say.text(mistakes.words(name)), "count": len(who),
                                   "students": who} for name, who in ranked]})
    return rows


def run(*, course, plot=True, grades_written=False):
    """Write reports/report.json, report.csv and report.html into the course folder, and
    grades.csv with its plot (grades.write_reports: the report reads the final grades).

    Inputs: course, the course folder (graded with `kit autograde`); plot: False to leave
    out the score plot (the page then says so); grades_written: True when the caller has
    just written grades.csv and grades_summary.png from the same gradebook
    (grades.write_reports), so they are used as they are instead of written again.
    Returns the path of report.html.
    """
    course = Course(course)
    checks = load_checks(course)
    if not checks:
        raise KitError(f"no graded submissions under {course.autograded()}; run `python -m kit autograde` first")
    if not grades_written:
        grades.write_reports(course, plot=plot, table=False)
    summaries = score_store.load_summaries(course)
    columns = grades.auto_columns(summaries)
    scores = [s.totals()[0] for s in summaries]
    lang = phrases.course_language(course)
    # Each test cell as its students saw it, with its notebook (a question's name repeats).
    names = {gid: f"{nb}: {name}" for nb, found in cells.released_names(course).items()
             for gid, name in found.items()}
    data = {"lang": lang, "cell_names": names, "functions": by_function(checks, lang),
            "scores": {"students": len(scores), "max": max((s.totals()[1] for s in summaries), default=0),
                       "by_student": {s.student: s.totals()[0] for s in summaries}},
            "grades": whole_grades(summaries),
            "pass_rates": grades.pass_rates(summaries, columns),
            "problems": {s.student: s.status for s in summaries if s.status not in ("ok", "")}}
    folder = course / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(data, indent=1))
    write_csv(folder / "report.csv", data["functions"])
    image = None
    if plot and summaries:
        image = (course / "grades_summary.png").read_bytes()
    target = folder / "report.html"
    target.write_text(page(data, image))
    print(f"Report: {target}")
    return target


def whole_grades(summaries):
    """The whole grade, as grades.csv has it: the written answers graded, pending and
    unanswered (over the class and per student), the points given by hand and the late
    penalties. Returns {written_answers, hand_points, late_students, late_points,
    by_student: {student: {auto, by_hand, written, late_penalty, total, max}}}."""
    by_student = {}
    for s in summaries:
        by_student[s.student] = {
            "auto": s.totals(AUTO)[0], "written": s.totals(MANUAL)[0], "by_hand": s.hand_points,
            "answers": s.answer_counts(), "late_penalty": s.late["penalty"],
            "time_unknown": s.late["seconds_late"] is None,
            "total": s.final_total, "max": s.most}
    rows = by_student.values()
    return {"written_answers": {state: sum(r["answers"][state] for r in rows)
                                for state in ("graded", "pending", "unanswered")},
            "hand_points": sum(r["by_hand"] for r in rows),
            "late_students": sum(1 for r in rows if r["late_penalty"]),
            "late_points": sum(r["late_penalty"] or 0 for r in rows),
            "by_student": by_student}


def write_csv(path, functions):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for row in functions:
            found = row["mistakes"] or [{"name": "", "description": "", "count": 0, "students": []}]
            for m in found:
                writer.writerow([spreadsheet_safe(v) for v in (
                    row["function"], row["checked"], row["fully_right"], m["name"], m["description"],
                    m["count"], " ".join(m["students"]))])


def grades_section(whole, say):
    """The whole grade as the page shows it: written answers, hand points, late penalties,
    a row per student, in the language of `say` (a phrases.Translator); plain text, which
    the template escapes."""
    answers = whole["written_answers"]
    heads = (N_("student"), N_("autograded"), N_("written answers"), N_("by hand"),
             N_("answers graded / pending / unanswered"), N_("late penalty"), N_("total"))
    summary = say.say(N_("Written answers: {graded} graded, {pending} pending, {unanswered} "
                         "unanswered. Points given by hand: {points}. Late penalties: {late} "
                         "point(s) from {students} submission(s)."),
                      graded=answers["graded"], pending=answers["pending"],
                      unanswered=answers["unanswered"], points=fmt(whole["hand_points"]),
                      late=fmt(whole["late_points"]), students=whole["late_students"])
    rows = [{"student": student, "auto": fmt(r["auto"]), "written": fmt(r["written"]),
             "by_hand": fmt(r["by_hand"]), **r["answers"], "total": fmt(r["total"]), "max": fmt(r["max"]),
             "late": say.say(N_("unknown")) if r["time_unknown"] else f"{r['late_penalty'] or 0:g}"}
            for student, r in whole["by_student"].items()]
    return {"heading": say.say(N_("Whole grades")), "summary": summary,
            "heads": [say.say(h) for h in heads], "rows": rows}


def page(data, image):
    """The report as one static HTML page (kit/page_templates/report.html.j2): no script,
    every text escaped by the template.

    Inputs: data, what report.json holds (its `lang` the page's language, its `cell_names`
    how each test cell is named); image, the PNG bytes of the score plot or None.
    Returns the page's text.
    """
    say = phrases.translator(data.get("lang", DEFAULT_LANGUAGE))
    # Every sentence marked N_ here, outside f-strings (the catalogue's extractor skips those).
    word = {key: say.say(english) for key, english in (
        ("scores", N_("Scores and pass rates")), ("plot", N_("score histogram and pass rate per test cell")),
        ("test", N_("test")), ("passed_by", N_("passed by")), ("problems", N_("Submissions with problems")),
        ("student", N_("student")), ("status", N_("status")), ("students", N_("students")))}
    word["mistake_heads"] = [say.say(h) for h in (N_("mistake"), N_("what it means"), N_("count"))]
    functions = [{"function": row["function"],
                  "right": say.say(N_("{right} of {checked} submission(s) fully right."),
                                   right=row["fully_right"], checked=row["checked"]),
                  "mistakes": [{"name": m["name"], "description": m["description"], "count": m["count"],
                                "width": round(100 * m["count"] / max(1, row["checked"])),
                                "students": ", ".join(m["students"])} for m in row["mistakes"]]}
                 for row in data["functions"]]
    names = data.get("cell_names", {})
    return render(
        "report.html.j2", lang=say.lang, word=word, functions=functions,
        title=say.say(N_("Common mistakes: {assignment}"), assignment=ASSIGNMENT),
        submissions=say.say(N_("{count} graded submission(s)."), count=data["scores"]["students"]),
        image=base64.b64encode(image).decode("ascii") if image else None,
        pass_rates=[(names.get(cell, cell), f"{rate:.0%}") for cell, rate in data["pass_rates"].items()],
        grades=grades_section(data["grades"], say) if data.get("grades") else None,
        problems=list(data["problems"].items()))
