"""The score store: the one module that reads and writes grading results on disk.

Two places hold them, both written by the calling process only (one writer):
- nbgrader's gradebook (`gradebook.db`), the one store of scores: formgrader's hand grades
  land there too, and every report reads scores from it (`load_summaries`);
- each graded submission's `autograded/<student>/<assignment>/`: its graded notebooks and
  `grading.json` (SUMMARY), what the gradebook has no field for: the status, the problems
  met, each trusted check's mistakes and the kit's feedback lines per test cell.
`store` writes one GradingResult to both; `current_gradebook` is the one way to open the
gradebook (late penalties refreshed on opening and closing: kit/late.py); `load_summaries`
reads the gradebook's scores, `stored_grading(s)` a grading.json.
"""
import contextlib
import json
import shutil
import warnings
from dataclasses import dataclass

from nbgrader.api import MissingEntry
from nbgrader.utils import parse_utc

from . import late
from .course import ASSIGNMENT, Course, KitError
from .notebook_rules import NOTEBOOKS, kind_of, notebook_file, notebook_id
from .problems import OK, ProblemKind, kinds_from_status, status_text
from .scores import AUTO, CellScore, StudentScores, read_sheet

SUMMARY = "grading.json"


def summary_paths(course):
    """The grading.json of every graded submission of the course, sorted by student."""
    root = Course(course).autograded()
    return sorted(root.glob(f"*/{ASSIGNMENT}/{SUMMARY}")) if root.is_dir() else []


@dataclass(frozen=True)
class StoredGrading:
    """One submission's grading.json, read: what the gradebook has no field for.

    student: the submission's folder name; status: grades.csv's few words; problems: the
    submission's messages; notebook_problems: {notebook: messages}; checks: {check: [] when
    right, else the names of the known mistakes}; scores: {notebook: {grade_id: CellScore}}
    as the autograder gave them (the gradebook's hand grades are not in them); timestamp:
    the submission time's text kept beside it (None when unknown)."""
    student: str
    status: str
    problems: list
    notebook_problems: dict
    checks: dict
    scores: dict
    timestamp: str = None


def read_grading(path):
    """The StoredGrading of one grading.json; KitError naming the file when it cannot be read."""
    try:
        summary = json.loads(path.read_text())
        stamp = path.parent / "timestamp.txt"
        return StoredGrading(
            student=path.parent.parent.name, status=summary.get("status", ""),
            problems=list(summary.get("problems", [])),
            notebook_problems=dict(summary.get("notebook_problems", {})),
            checks={c: list(n) for c, n in summary.get("checks", {}).items() if isinstance(n, list)},
            scores={nb: read_sheet(sheet) for nb, sheet in summary.get("scores", {}).items()},
            timestamp=stamp.read_text().strip() if stamp.is_file() else None)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise KitError(f"{path}: expected a grading summary written by `kit autograde`, could not "
                       f"read it ({type(err).__name__}: {err}); grade that student again") from None


def stored_gradings(course):
    """The StoredGrading of every graded submission of the course, by student."""
    return [read_grading(path) for path in summary_paths(course)]


def stored_grading(course, student):
    """One student's StoredGrading."""
    return read_grading(Course(course).autograded(student) / SUMMARY)


def store(course, result):
    """Write one GradingResult: its graded notebooks and grading.json, its gradebook scores
    and the late penalties of its notebooks. Inputs: course, a Course (or its folder)."""
    course = Course(course)
    write_folder(course.autograded(result.student), {
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
    course = Course(course)
    path = course.autograded(result.student) / SUMMARY
    new = summary_of(result)
    if path.is_file():
        old = json.loads(path.read_text())
        for key in ("scores", "notebook_problems"):
            new[key] = {**{nb: v for nb, v in old.get(key, {}).items() if nb in NOTEBOOKS}, **new[key]}
        new["checks"] = dict(sorted({**old.get("checks", {}), **new["checks"]}.items()))
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
            "scores": {nb: {gid: s.stored() for gid, s in r.scores.items()}
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
    course = Course(course)
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
    and hand grading. Inputs: course, a Course (or its folder); students, the ids to refresh
    (None: all).
    """
    course = Course(course)
    with course.gradebook() as gb:
        late.refresh_penalties(course, gb, students)
        yield gb
        late.refresh_penalties(course, gb, students)


def _write_gradebook(course, result):
    student = result.student
    with current_gradebook(course, students=[student]) as gb:
        gb.update_or_create_student(student)
        stamp = result.timestamp
        # An unknown time is stored as unknown (reported in the status), never as the old one.
        gb.update_or_create_submission(ASSIGNMENT, student, timestamp=parse_utc(stamp) if stamp else None)
        for nb in result.notebooks:   # all of them, or the one nbgrader's autograde asked for
            graded = result.notebooks[nb].scores
            notebook = gb.find_notebook(notebook_id(nb), ASSIGNMENT)
            for cell in notebook.grade_cells:
                grade = gb.find_grade(cell.name, notebook.name, ASSIGNMENT, student)
                grade.auto_score = graded[cell.name].score if cell.name in graded else None
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

    Returns [StudentScores] (kit/scores.py), by student id: each cell's CellScore has its
    score None while not graded, by_hand True when a grader gave it, state answer_state();
    late is late.late_info() (the penalty worked out from the current scores, None without
    a due date).
    """
    course = Course(course)
    statuses = {stored.student: stored.status for stored in stored_gradings(course)}
    summaries = []
    with current_gradebook(course) as gb:
        try:
            assignment = gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            return []
        for submission in sorted(assignment.submissions, key=lambda sub: sub.student.id):
            scores = {}
            for nb in submission.notebooks:
                solutions = {cell.name for cell in nb.notebook.solution_cells}
                scores[notebook_file(nb.name)] = {grade.name: stored_score(grade, solutions)
                                                  for grade in nb.grades}
            student = submission.student.id
            summaries.append(StudentScores(student=student, scores=scores, late=late.late_info(submission),
                                           status=statuses.get(student, "graded by nbgrader")))
    return summaries


def stored_score(grade, solutions):
    """A gradebook Grade as a CellScore (`solutions`: the names of its notebook's solution cells)."""
    kind = gradebook_kind(grade, solutions)
    graded = grade.auto_score is not None or grade.manual_score is not None
    return CellScore(grade.name, kind, score=grade.score if graded else None, max=float(grade.max_score),
                     by_hand=grade.manual_score is not None, state=answer_state(grade, kind))


def gradebook_kind(grade, solutions):
    """A gradebook Grade's kind by the notebook rules' one rule (notebook_rules.kind_of):
    its cell's type, and whether a solution cell of its name exists (`solutions`)."""
    return kind_of(grade.cell.cell_type, grade.name in solutions)


def answer_state(grade, kind):
    """A gradebook Grade of a written answer: "graded" (by hand), "unanswered" (left as
    released: the autograder scored it 0, as nbgrader does, cells.scores) or "pending";
    None for a test cell (kind "auto")."""
    if kind == AUTO:
        return None
    if grade.manual_score is not None:
        return "graded"
    return "unanswered" if grade.auto_score is not None else "pending"
