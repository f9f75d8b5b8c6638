"""Late work, through nbgrader's own machinery: a due date, a grace period, a penalty.

nbgrader already decides lateness: an assignment's `duedate` in the gradebook, a
submission's `timestamp` (from its timestamp.txt; `kit collect` writes the time it took
the submission in), `SubmittedAssignment.total_seconds_late`, and the preprocessor
`AssignLatePenalties`, which asks a `LateSubmissionPlugin` for each notebook's penalty
and stores it as the notebook's `late_submission_penalty`. The kit only adds:
- the due date in the course configuration (`c.KitGrading.duedate`, with its time zone),
  written to the gradebook whenever grades are stored (so formgrader shows it too); left
  empty, the gradebook's own due date (set in formgrader) counts;
- `KitLatePenalty`, a LateSubmissionPlugin with a grace period and a per-day policy
  (`c.KitLatePenalty.*`), which the course configuration names as the plugin;
- `refresh_penalties`: every notebook's penalty worked out again from its score as the
  gradebook holds it now, whenever the kit reads or writes grades (score_store.current_gradebook).
  nbgrader's AssignLatePenalties runs only when a notebook is autograded, so points given
  by hand afterwards would escape the penalty until the next grading; here the order of
  autograding and hand grading never matters;
- `read_timestamp`: a submission time that is missing or cannot be read is a problem
  reported for that student, never taken as "on time" (read by kit/timestamps.py's rule,
  as `kit collect` reads it too).
"""
from pathlib import Path

from . import settings
from .course import ASSIGNMENT, Course, KitError
from .notebook_rules import notebook_id
from .phrases import N_
from .timestamps import MAX_CHARS, parse_utc_time

# The policy is a setting (kit/settings.py); nbgrader imports it by this name, which the
# course configuration gives (c.AssignLatePenalties.plugin_class = "kit.late.KitLatePenalty").
KitLatePenalty = settings.KitLatePenalty


def read_timestamp(folder):
    """The submission time of a collected submission.

    Inputs: folder, the submission's folder (its timestamp.txt, as `kit collect` writes it).
    Returns (its text, None), or (None, the problem to report) when it is missing or cannot
    be read with its time zone: lateness is then not decided.
    """
    path = Path(folder) / "timestamp.txt"
    if not path.is_file():
        return None, "submission time unknown: timestamp.txt is missing, so lateness is not decided"
    with open(path, "rb") as f:
        raw = f.read(MAX_CHARS + 1)
    try:
        text = raw.decode("utf-8").strip()
        if len(raw) > MAX_CHARS:
            raise ValueError("too long")
        parse_utc_time(text)
    except (ValueError, OverflowError) as err:
        shown = raw[:40].decode("utf-8", "replace").encode("unicode_escape").decode("ascii")
        return None, (f"submission time unknown: expected a time such as '2026-12-01 17:00:00.000000 "
                      f"UTC' in timestamp.txt, got '{shown}' instead ({err}), so lateness is not decided")
    return text, None


def configured_duedate(course):
    """The due date `c.KitGrading.duedate` of the course (naive UTC), or None when not set."""
    course = Course(course)
    text = course.grading().duedate
    if not text.strip():
        return None
    try:
        return parse_utc_time(text)
    except ValueError as err:
        raise KitError(f"{course / 'nbgrader_config.py'}: expected c.KitGrading.duedate as a time "
                       f"with its zone such as '2026-12-01 17:00:00 Europe/Paris', got {text!r} instead "
                       f"({err})") from None


def sync_duedate(course, gb):
    """Write the configured due date (if any) to the gradebook's assignment, through `gb`."""
    duedate = configured_duedate(course)
    if duedate is not None:
        assignment = gb.find_assignment(ASSIGNMENT)
        if assignment.duedate != duedate:
            assignment.duedate = duedate
            gb.db.commit()


def refresh_penalties(course, gb, students=None):
    """Work out every notebook's late penalty again from its current score, and store it.

    Inputs: course, a Course (or its folder); gb, an open nbgrader Gradebook; students, ids to refresh (None:
    every submission). The penalty is what AssignLatePenalties would store now: the plugin
    the course names (`c.AssignLatePenalties.plugin_class`, KitLatePenalty's policy) asked
    with the notebook's score (hand grades included) and the submission's lateness, kept
    between 0 and the score as nbgrader keeps it; None when on time, when the time is
    unknown or without a due date. The configured due date is written first (sync_duedate).
    Returns nothing; commits only when something changed.
    """
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties
    try:
        assignment = gb.find_assignment(ASSIGNMENT)
    except MissingEntry:   # not released into this gradebook: nothing graded yet
        return
    sync_duedate(course, gb)
    step = AssignLatePenalties(config=Course(course).config)
    step.init_plugin()
    changed = False
    for submission in assignment.submissions:
        student = submission.student.id
        if students is not None and student not in students:
            continue
        seconds = submission.total_seconds_late   # 0 without a due date or a known time
        for notebook in submission.notebooks:
            penalty = None
            if seconds > 0:
                score = float(notebook.score)
                penalty = step.plugin_inst.late_submission_penalty(student, score, seconds)
                if penalty is not None:
                    penalty = min(max(float(penalty), 0.0), score)
            if notebook.late_submission_penalty != penalty:
                notebook.late_submission_penalty = penalty
                changed = True
    if changed:
        gb.db.commit()


def late_info(submission):
    """{seconds_late, penalty} of a gradebook SubmittedAssignment; seconds None when its time
    is unknown (with a due date set), penalty None when no due date is set."""
    duedate = submission.duedate
    if duedate is None:
        return {"seconds_late": 0.0, "penalty": None}
    if submission.timestamp is None:
        return {"seconds_late": None, "penalty": None}
    return {"seconds_late": float(submission.total_seconds_late),
            "penalty": float(submission.late_submission_penalty or 0.0)}


def feedback_note(gb, student, notebook):
    """One line for a notebook's feedback when its submission was late, else None.

    Inputs: gb, an open nbgrader Gradebook; student; notebook, e.g. "svm.ipynb".
    """
    from nbgrader.api import MissingEntry
    try:
        submission = gb.find_submission(ASSIGNMENT, student)
        penalty = gb.find_submission_notebook(notebook_id(notebook), ASSIGNMENT,
                                              student).late_submission_penalty or 0.0
    except MissingEntry:
        return None
    info = late_info(submission)
    if not info["seconds_late"]:
        return None
    hours = info["seconds_late"] / 3600
    when = (N_("{days} days").format(days=f"{hours / 24:.1f}") if hours >= 24 else
            N_("{hours} hours").format(hours=f"{hours:.1f}"))
    due = submission.duedate.strftime("%Y-%m-%d %H:%M UTC")
    # Stored in English, translated when the feedback page is rendered (kit/phrases.py).
    return (N_("Submitted {when} after the due date ({due}): late penalty {penalty} point(s) on "
               "this notebook.").format(when=when, due=due, penalty=f"{penalty:g}") if penalty else
            N_("Submitted {when} after the due date ({due}), within the grace period: no late "
               "penalty.").format(when=when, due=due))
