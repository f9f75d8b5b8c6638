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
- report.html: the same as a static page (no script; every text escaped) with the score
  histogram and per-cell pass rates the kit draws (grades.plot_summary) embedded as PNG.
Student ids and statuses are data: escaped in HTML, neutralized for spreadsheets in CSV.
The report is in the course's language (kit/phrases.py: the page, the mistakes' descriptions
in all three files), and names each test cell as its students saw it (utils/cell_names.py).
"""
import base64
import csv
import html
import json
from pathlib import Path

from . import cells, grades, mistakes, phrases, score_store
from .checks import ASPECTS
from .course import ASSIGNMENT, KitError
from .i18n import DEFAULT_LANGUAGE
from .phrases import N_
from .spreadsheet import fmt, spreadsheet_safe

FOLDER = "reports"
CSV_HEADER = ("function", "checked", "fully right", "mistake", "description", "count", "students")


def load_checks(course):
    """{student: {check: [mistake names]}} from every graded submission's grading.json."""
    found = {}
    for path in score_store.summary_paths(course):
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise KitError(f"{path}: expected a grading summary written by `kit autograde`, could not "
                           f"read it ({err}); grade that student again") from None
        checks = summary.get("checks", {})
        found[path.parent.parent.name] = {c: list(n) for c, n in checks.items() if isinstance(n, list)}
    return found


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
    course = Path(course)
    checks = load_checks(course)
    if not checks:
        raise KitError(f"no graded submissions under {course / 'autograded'}; run `python -m kit autograde` first")
    if not grades_written:
        grades.write_reports(course, plot=plot, table=False)
    summaries = score_store.load_summaries(course)
    columns = grades.auto_columns(summaries)
    scores = [grades.totals(s)[0] for s in summaries]
    lang = phrases.course_language(course)
    # Each test cell as its students saw it, with its notebook (a question's name repeats).
    names = {gid: f"{nb}: {name}" for nb, found in cells.released_names(course).items()
             for gid, name in found.items()}
    data = {"lang": lang, "cell_names": names, "functions": by_function(checks, lang),
            "scores": {"students": len(scores), "max": max((grades.totals(s)[1] for s in summaries), default=0),
                       "by_student": {s["student"]: grades.totals(s)[0] for s in summaries}},
            "grades": whole_grades(summaries),
            "pass_rates": grades.pass_rates(summaries, columns),
            "problems": {s["student"]: s["status"] for s in summaries if s["status"] not in ("ok", "")}}
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
        (auto, auto_max), (written, written_max) = grades.totals(s), grades.totals(s, "manual")
        by_student[s["student"]] = {
            "auto": auto, "written": written, "by_hand": grades.hand_points(s),
            "answers": grades.answer_counts(s), "late_penalty": s["late"]["penalty"],
            "time_unknown": s["late"]["seconds_late"] is None,
            "total": grades.final_total(s), "max": auto_max + written_max}
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


STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.bar { background: #c0392b; height: 0.8em; display: inline-block; }
.right { color: #1e7d32; font-weight: bold; }
"""


def e(value):
    """Any value as HTML text (student ids and statuses are data, never markup)."""
    return html.escape(str(value), quote=True)


def num(value):
    """A number as the report shows it (grades.csv's format), escaped like any text."""
    return e(fmt(value))


def grades_section(whole, say):
    """The whole grade as HTML parts: written answers, hand points, late penalties, a row per
    student (every text escaped), in the language of `say` (a phrases.Translator)."""
    answers = whole["written_answers"]
    heads = (N_("student"), N_("autograded"), N_("written answers"), N_("by hand"),
             N_("answers graded / pending / unanswered"), N_("late penalty"), N_("total"))
    heading = say.say(N_("Whole grades"))   # (N_ outside f-strings: the extractor skips them)
    parts = [f"<h2>{e(heading)}</h2>",
             "<p>" + e(say.say(N_("Written answers: {graded} graded, {pending} pending, {unanswered} "
                                  "unanswered. Points given by hand: {points}. Late penalties: {late} "
                                  "point(s) from {students} submission(s)."),
                              graded=answers["graded"], pending=answers["pending"],
                              unanswered=answers["unanswered"], points=fmt(whole["hand_points"]),
                              late=fmt(whole["late_points"]), students=whole["late_students"])) + "</p>",
             "<table><tr>" + "".join(f"<th>{e(say.say(h))}</th>" for h in heads) + "</tr>"]
    for student, r in whole["by_student"].items():
        late = say.say(N_("unknown")) if r["time_unknown"] else f"{r['late_penalty'] or 0:g}"
        counts = r["answers"]
        parts.append(f"<tr><td>{e(student)}</td><td>{num(r['auto'])}</td><td>{num(r['written'])}</td>"
                     f"<td>{num(r['by_hand'])}</td><td>{e(counts['graded'])} / {e(counts['pending'])} / "
                     f"{e(counts['unanswered'])}</td><td>{e(late)}</td>"
                     f"<td>{num(r['total'])} / {num(r['max'])}</td></tr>")
    parts.append("</table>")
    return parts


def page(data, image):
    """The report as one static HTML page: no script, every text escaped.

    Inputs: data, what report.json holds (its `lang` the page's language, its `cell_names`
    how each test cell is named); image, the PNG bytes of the score plot or None.
    Returns the page's text.
    """
    say = phrases.translator(data.get("lang", DEFAULT_LANGUAGE))
    # Every sentence first, outside the f-strings (the catalogue's extractor skips those).
    word = {key: e(say.say(english)) for key, english in (
        ("scores", N_("Scores and pass rates")), ("plot", N_("score histogram and pass rate per test cell")),
        ("test", N_("test")), ("passed_by", N_("passed by")), ("problems", N_("Submissions with problems")),
        ("student", N_("student")), ("status", N_("status")), ("students", N_("students")))}
    title = e(say.say(N_("Common mistakes: {assignment}"), assignment=ASSIGNMENT))
    submissions = e(say.say(N_("{count} graded submission(s)."), count=data["scores"]["students"]))
    parts = ["<!DOCTYPE html>", f"<html lang='{e(say.lang)}'><head><meta charset='utf-8'>",
             # Nothing but this page's own style and the embedded image may load.
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
             "img-src data:; style-src 'unsafe-inline'\">",
             f"<title>{title}</title><style>{STYLE}</style></head><body>",
             f"<h1>{title}</h1>",
             f"<p>{submissions}</p>"]
    for row in data["functions"]:
        checked = row["checked"]
        parts.append(f"<h2><code>{e(row['function'])}</code></h2>")
        parts.append("<p>" + e(say.say(N_("{right} of {checked} submission(s) fully right."),
                                       right=row["fully_right"], checked=checked)) + "</p>")
        if not row["mistakes"]:
            continue
        parts.append("<table><tr>" + "".join(f"<th>{e(say.say(h))}</th>" for h in (
            N_("mistake"), N_("what it means"), N_("count"))) + "<th></th>"
                     f"<th>{word['students']}</th></tr>")
        for m in row["mistakes"]:
            width = round(100 * m["count"] / max(1, checked))
            parts.append(f"<tr><td><code>{e(m['name'])}</code></td><td>{e(m['description'])}</td>"
                         f"<td>{e(m['count'])}</td><td><span class='bar' style='width:{width}px'></span></td>"
                         f"<td>{e(', '.join(m['students']))}</td></tr>")
        parts.append("</table>")
    parts.append(f"<h2>{word['scores']}</h2>")
    if image:
        parts.append(f"<img alt='{word['plot']}' "
                     "src='data:image/png;base64," + base64.b64encode(image).decode("ascii") + "'>")
    names = data.get("cell_names", {})
    parts.append(f"<table><tr><th>{word['test']}</th><th>{word['passed_by']}</th></tr>")
    parts += [f"<tr><td>{e(names.get(cell, cell))}</td><td>{rate:.0%}</td></tr>"
              for cell, rate in data["pass_rates"].items()]
    parts.append("</table>")
    if data.get("grades"):
        parts += grades_section(data["grades"], say)
    if data["problems"]:
        parts.append(f"<h2>{word['problems']}</h2><table><tr>"
                     f"<th>{word['student']}</th><th>{word['status']}</th></tr>")
        parts += [f"<tr><td>{e(s)}</td><td>{e(status)}</td></tr>" for s, status in data["problems"].items()]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
