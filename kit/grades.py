"""Store grading results (one writer: the calling process) and report them.

`store` writes one submission's graded notebooks, a `grading.json` summary and its
scores in nbgrader's gradebook; `write_reports` turns every stored summary into `course/grades.csv`, a terminal table, a summary line per test cell and
a plot of the score distribution and the pass rates.
"""
import contextlib
import csv
import json
import shutil
import statistics
import warnings
from pathlib import Path

from . import late
from .course import ASSIGNMENT, NOTEBOOKS, KitError, autograded_dir, coursedir, gradebook_url
from .problems import OK, ProblemKind, kinds_from_status, status_text

SUMMARY = "grading.json"


def store(course, result):
    """Write one GradingResult: its graded notebooks and grading.json, its gradebook scores
    and the late penalties of its notebooks."""
    write_folder(autograded_dir(course, result.student), {
        **{nb: r.graded for nb, r in result.notebooks.items()},
        SUMMARY: json.dumps(summary_of(result), indent=1)}, result.timestamp)
    write_gradebook(course, result)


def write_folder(target, files, timestamp):
    """Replace `target` by a folder holding `files`, never leaving a half-written one."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, text in files.items():
        (partial / name).write_text(text)
    if timestamp:
        (partial / "timestamp.txt").write_text(timestamp)
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    partial.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def merge_summary(course, result):
    """Write one notebook's grading (nbgrader's own autograde grades one at a time) into the
    student's grading.json, keeping what it says of the other notebooks."""
    path = autograded_dir(course, result.student) / SUMMARY
    new = summary_of(result)
    if path.is_file():
        old = json.loads(path.read_text())
        for key in ("scores", "notebook_problems"):
            new[key] = {**{nb: v for nb, v in old.get(key, {}).items() if nb in NOTEBOOKS}, **new[key]}
        new["checks"] = {**old.get("checks", {}), **new["checks"]}
        new["problems"] = list(dict.fromkeys(old.get("problems", []) + new["problems"]))
        kinds = dict.fromkeys([*stored_kinds(old, path), *result.kinds])
        new["kinds"], new["status"] = [k.value for k in kinds], status_text(kinds)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(new, indent=1))


def summary_of(result):
    """grading.json's content for a GradingResult: plain JSON, the problems as their messages
    and the status's problem kinds apart (`kinds`, each a ProblemKind value)."""
    return {"student": result.student, "status": result.status,
            "kinds": [k.value for k in result.kinds],
            "problems": [p.message for p in result.problems],   # the submission's; each notebook's below
            "notebook_problems": {nb: [p.message for p in r.problems] for nb, r in result.notebooks.items()},
            # Every trusted check judged: [] when right, else the known mistakes (mistakes.py).
            "checks": result.checks,
            "scores": {nb: {gid: {k: s[k] for k in ("score", "max", "kind", "message", "feedback") if k in s}
                            for gid, s in r.scores.items()}
                       for nb, r in result.notebooks.items()}}


def stored_kinds(summary, path):
    """The ProblemKinds a stored grading.json gives; one written before kinds were stored gives
    them through its status. Raises KitError when neither can be read (grade it again)."""
    try:
        if "kinds" in summary:
            return [ProblemKind(k) for k in summary["kinds"]]
        return kinds_from_status(summary.get("status", OK))
    except (ValueError, TypeError) as err:
        raise KitError(f"{path}: {err}; run `python -m kit autograde` for this student again") from None


def write_gradebook(course, result):
    with warnings.catch_warnings():
        # nbgrader's own submission code trips SQLAlchemy's autoflush warnings; they are harmless.
        warnings.filterwarnings("ignore", category=Warning, module="nbgrader.api")
        warnings.filterwarnings("ignore", message=".*not in session.*")
        _write_gradebook(course, result)


@contextlib.contextmanager
def current_gradebook(course, students=None):
    """The course's gradebook, open, with its late penalties worked out from the scores it
    holds now (late.refresh_penalties) on opening and again on closing, so whatever is
    written between (a grading) leaves no penalty behind its score.

    The one way the kit opens the gradebook for grades: grades.csv, feedback, the report
    and the export all read the same, current penalty, whatever the order of autograding
    and hand grading. Inputs: course folder; students, the ids to refresh (None: all).
    """
    from nbgrader.api import Gradebook
    with Gradebook(gradebook_url(course), coursedir(course).course_id) as gb:
        late.refresh_penalties(course, gb, students)
        yield gb
        late.refresh_penalties(course, gb, students)


def _write_gradebook(course, result):
    from nbgrader.utils import parse_utc
    student = result.student
    with current_gradebook(course, students=[student]) as gb:
        gb.update_or_create_student(student)
        stamp = result.timestamp
        # An unknown time is stored as unknown (reported in the status), never as the old one.
        gb.update_or_create_submission(ASSIGNMENT, student, timestamp=parse_utc(stamp) if stamp else None)
        for nb in result.notebooks:   # all of them, or the one nbgrader's autograde asked for
            graded = result.notebooks[nb].scores
            notebook = gb.find_notebook(nb.replace(".ipynb", ""), ASSIGNMENT)
            for cell in notebook.grade_cells:
                grade = gb.find_grade(cell.name, notebook.name, ASSIGNMENT, student)
                grade.auto_score = graded[cell.name]["score"] if cell.name in graded else None
                grade.needs_manual_grade = needs_grading(grade)
        gb.db.commit()


def needs_grading(grade):
    """Whether a gradebook Grade still waits for a grader: formgrader's own rule when a grader
    saves a score (no hand score and no autograded one). A hand score stands however often the
    submission is graded again, so a cell a grader finished never returns to formgrader's list
    (nbgrader's SaveAutoGrades flags every hand-graded cell again)."""
    return grade.manual_score is None and grade.auto_score is None


def load_summaries(course):
    """The scores of every graded submission as the gradebook holds them now (scores given
    by hand in formgrader included), each with the status its grading.json gives.

    Returns [{student, status, late, scores: {notebook: {grade_id: {score, max, kind, by_hand,
    state}}}}]: a test cell is "auto", a written answer "manual"; score None while not graded;
    by_hand True when a grader gave the score; state answer_state(); late is
    late.late_info() (the penalty worked out from the current scores, None without a due
    date).
    """
    from nbgrader.api import MissingEntry
    statuses = {}
    root = Path(course) / "autograded"
    for path in sorted(root.glob(f"*/{ASSIGNMENT}/{SUMMARY}")) if root.is_dir() else []:
        summary = json.loads(path.read_text())
        statuses[summary["student"]] = summary.get("status", "")
    summaries = []
    with current_gradebook(course) as gb:
        try:
            assignment = gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            return []
        for submission in sorted(assignment.submissions, key=lambda sub: sub.student.id):
            scores = {}
            for nb in submission.notebooks:
                scores[nb.name + ".ipynb"] = {
                    grade.name: {"score": grade.score if grade.auto_score is not None or
                                 grade.manual_score is not None else None,
                                 "max": float(grade.max_score),
                                 "kind": "auto" if grade.cell.cell_type == "code" else "manual",
                                 "by_hand": grade.manual_score is not None, "state": answer_state(grade)}
                    for grade in nb.grades}
            student = submission.student.id
            summaries.append({"student": student, "scores": scores, "late": late.late_info(submission),
                              "status": statuses.get(student, "graded by nbgrader")})
    return summaries


def answer_state(grade):
    """A gradebook Grade of a written answer: "graded" (by hand), "unanswered" (left as
    released: the autograder scored it 0, as nbgrader does, cells.scores) or "pending";
    None for a test cell."""
    if grade.cell.cell_type == "code":
        return None
    if grade.manual_score is not None:
        return "graded"
    return "unanswered" if grade.auto_score is not None else "pending"


def hand_points(summary):
    """The points graders gave by hand (written answers, test cells they overruled)."""
    return sum(s["score"] or 0 for nb in summary["scores"].values() for s in nb.values() if s.get("by_hand"))


def answer_counts(summary):
    """{graded, pending, unanswered}: how many written answers of a summary are in each state."""
    counts = dict.fromkeys(("graded", "pending", "unanswered"), 0)
    for nb in summary["scores"].values():
        for s in nb.values():
            if s.get("state") in counts:
                counts[s["state"]] += 1
    return counts


def columns_of(summaries, kind):
    columns = []
    for summary in summaries:
        for nb in NOTEBOOKS:
            for gid, s in summary["scores"].get(nb, {}).items():
                if s["kind"] == kind and gid not in columns:
                    columns.append(gid)
    return columns


def auto_columns(summaries):
    return columns_of(summaries, "auto")


def totals(summary, kind="auto"):
    chosen = [s for nb in summary["scores"].values() for s in nb.values() if s["kind"] == kind]
    return sum(s["score"] or 0 for s in chosen), sum(s["max"] for s in chosen)


def final_total(summary):
    """A summary's final grade: its points (auto and by hand) less its late penalty. nbgrader
    caps a penalty at the score; the floor only guards an odd gradebook."""
    (auto, _), (by_hand, _) = totals(summary), totals(summary, "manual")
    return max(0.0, auto + by_hand - (summary["late"]["penalty"] or 0.0))


def write_reports(course, plot=True, table=True):
    """grades.csv from the gradebook as it stands (a column per test cell and per written
    answer; auto, manual, the late penalty worked out from them and the total after it), a
    terminal table and summary (table=False: only where grades.csv went), and a summary plot.

    Every command that changes or reads final grades calls it (autograde, feedback, report,
    export), so grades.csv never lags behind a hand grade. Returns the path of grades.csv.
    """
    summaries = load_summaries(course)
    columns, manual = auto_columns(summaries), columns_of(summaries, "manual")
    path = Path(course) / "grades.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([spreadsheet_safe(c) for c in [
            "student", *columns, *manual, "auto", "manual", "late penalty", "total", "max", "status"]])
        for summary in summaries:
            flat = {gid: s for nb in summary["scores"].values() for gid, s in nb.items()}
            (auto, auto_max), (by_hand, hand_max) = totals(summary), totals(summary, "manual")
            writer.writerow([spreadsheet_safe(cell) for cell in [
                summary["student"], *(fmt(flat[c]["score"]) if c in flat else "" for c in columns + manual),
                fmt(auto), fmt(by_hand), late_cell(summary["late"]), fmt(final_total(summary)),
                fmt(auto_max + hand_max), summary["status"]]])
    if table:
        print_table(summaries)
        print_summary(summaries, columns)
    if plot and summaries:
        plot_summary(course, summaries, columns)
    print(f"Grades: {path}")
    return path


def late_cell(info):
    """grades.csv's `late penalty`: the points nbgrader took off; "" without a due date;
    "unknown" when the submission time is unknown (never guessed: see the status)."""
    if info["seconds_late"] is None:
        return "unknown"
    return "" if info["penalty"] is None else fmt(info["penalty"])


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(text):
    """`text` as a spreadsheet shows it, never run: a leading formula character gets a `'`
    (OWASP's advice for CSV injection). Numbers the kit formats are never negative."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def printable(text):
    """`text` as a terminal may show it: control characters (escape sequences) become '?'."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def fmt(value):
    return "" if value is None else f"{value:g}"


def print_table(summaries):
    width = max([len(s["student"]) for s in summaries] + [7])
    print(f"{'student':<{width}}  {'score':>11}  status")
    for summary in summaries:
        total, most = totals(summary)
        print(f"{summary['student']:<{width}}  {total:>5g} / {most:<3g}  {summary['status']}")


def pass_rates(summaries, columns):
    rates = {}
    for column in columns:
        cells = [s for summary in summaries for nb in summary["scores"].values()
                 for gid, s in nb.items() if gid == column]
        rates[column] = sum(1 for s in cells if s["score"] == s["max"]) / max(1, len(cells))
    return rates


def print_summary(summaries, columns):
    if not summaries:
        return
    scores = [totals(s)[0] for s in summaries]
    most = max(totals(s)[1] for s in summaries)
    print(f"Scores of {len(scores)} submissions (out of {most:g}): min {min(scores):g}, "
          f"median {statistics.median(scores):g}, max {max(scores):g}")
    for column, rate in pass_rates(summaries, columns).items():
        print(f"  {column:<40} passed by {rate:4.0%}")


def plot_summary(course, summaries, columns):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    scores = [totals(s)[0] for s in summaries]
    most = max(totals(s)[1] for s in summaries)
    rates = pass_rates(summaries, columns)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.4]})
    # One bar per whole point (scores are sums of whole points), so no two scores share a bar.
    left.hist(scores, bins=[b - 0.5 for b in range(int(most) + 2)], color="tab:blue")
    left.set(title="Autograded scores", xlabel=f"score (out of {most:g})", ylabel="students",
             xlim=(-0.5, most + 0.5))
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.barh(list(rates), [100 * r for r in rates.values()], color="tab:green")
    right.set(title="Pass rate per test cell", xlabel="% of submissions passing", xlim=(0, 100))
    right.invert_yaxis()
    fig.tight_layout()
    target = Path(course) / "grades_summary.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    print(f"Summary plot: {target}")
