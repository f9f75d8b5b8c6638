"""Late work: the due date and penalty policy in the course configuration, lateness decided
by nbgrader from the time `kit collect` recorded, the penalty in the gradebook, grades.csv
and feedback; a submission time that cannot be read is reported, never guessed."""
import csv
import datetime

import pytest

from kit import collect, feedback, late
from kit.__main__ import main as kit_main
from kit.course import ASSIGNMENT, Course
from kit_helpers import grade, make_course, reference_submission, total

DUE = datetime.datetime(2026, 11, 30, 17, 0, tzinfo=datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)
# student -> the time `kit collect` records for the submission
SUBMITTED = {"on_time": DUE - HOUR, "in_grace": DUE + HOUR, "a_day_late": DUE + 24 * HOUR,
             "bad_stamp": DUE - HOUR}


def plugin(**settings):
    from traitlets.config import Config
    config = Config()
    for name, value in settings.items():
        setattr(config.KitLatePenalty, name, value)
    return late.KitLatePenalty(config=config)


def test_penalty_policy_grace_and_days():
    policy = plugin(penalty_method="per_day", per_day=0.1, grace_period_hours=2.0)
    assert policy.late_submission_penalty("s", 30.0, 0) is None
    assert policy.late_submission_penalty("s", 30.0, 2 * 3600) is None          # inside the grace period
    assert policy.late_submission_penalty("s", 30.0, 2 * 3600 + 1) == pytest.approx(3.0)
    assert policy.late_submission_penalty("s", 30.0, 24 * 3600) == pytest.approx(3.0)
    assert policy.late_submission_penalty("s", 30.0, 24 * 3600 + 1) == pytest.approx(6.0)
    assert policy.late_submission_penalty("s", 30.0, 30 * 24 * 3600) == 30.0    # never more than the score
    assert plugin(penalty_method="zero").late_submission_penalty("s", 30.0, 60) == 30.0
    assert plugin(penalty_method="none").late_submission_penalty("s", 30.0, 60) is None


@pytest.mark.parametrize("text, readable", [
    ("2026-11-30 17:00:00.000000 UTC", True), ("2026-11-30 18:00:00 Europe/Paris", True),
    ("2026-11-30T17:00:00+01:00", True), ("2026-11-30 17:00:00", False),
    ("2026-11-30 17:00:00 Mars/Olympus", False), ("yesterday-ish", False), ("", False),
    ("2026-11-30 17:00:00 UTC" + " " * 200, False)])
def test_timestamp_is_read_or_reported(tmp_path, text, readable):
    (tmp_path / "timestamp.txt").write_text(text)
    stamp, problem = late.read_timestamp(tmp_path)
    assert (stamp is not None, problem is None) == (readable, readable)
    if not readable:
        assert problem.startswith("submission time unknown: expected a time such as")


def test_missing_timestamp_is_reported(tmp_path):
    assert late.read_timestamp(tmp_path) == (
        None, "submission time unknown: timestamp.txt is missing, so lateness is not decided")


def test_a_due_date_without_zone_is_refused(tmp_path):
    from kit.course import KitError
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.KitGrading.duedate = '2026-11-30 17:00'\n")
    with pytest.raises(KitError, match="expected c.KitGrading.duedate as a time with its zone"):
        late.configured_duedate(tmp_path)


def configure(course, **settings):
    with open(course / "nbgrader_config.py", "a") as f:
        for name, value in settings.items():
            f.write(f"c.{name} = {value!r}\n")


def grades_rows(course):
    with open(course / "grades.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.mark.slow
def test_late_work_through_collect_autograde_and_feedback(tmp_path, cifar10_dir):
    from nbgrader.api import Gradebook
    course = make_course(tmp_path)
    configure(course, **{"KitGrading.duedate": "2026-11-30 18:00:00 Europe/Paris",   # 17:00 UTC
                         "KitLatePenalty.penalty_method": "per_day", "KitLatePenalty.per_day": 0.1,
                         "KitLatePenalty.grace_period_hours": 2.0})
    for student, when in SUBMITTED.items():
        folder = reference_submission(course, tmp_path / "subs" / student)
        results = collect.run(paths=[str(folder)], course_dir=course, now=when, verbose=False)
        assert not results[0].refused, results[0].message
    (Course(course).submitted("bad_stamp") / "timestamp.txt").write_text("last Tuesday, around noon")

    results = grade(course, list(SUBMITTED), cifar10_dir, run_notebooks=False)
    rows = grades_rows(course)
    full = float(rows["on_time"]["auto"])
    assert full > 0 and full == total(results["on_time"])[1]   # the reference: full marks
    assert rows["on_time"]["late penalty"] == "0" and float(rows["on_time"]["total"]) == full
    assert rows["in_grace"]["late penalty"] == "0" and float(rows["in_grace"]["total"]) == full
    # A day late: 10 % of each notebook's score (nbgrader's penalties are per notebook).
    assert float(rows["a_day_late"]["late penalty"]) == pytest.approx(0.1 * full)
    assert float(rows["a_day_late"]["total"]) == pytest.approx(0.9 * full)
    # Unreadable: reported in the status, the penalty "unknown", nothing taken off or guessed.
    assert rows["bad_stamp"]["late penalty"] == "unknown" and float(rows["bad_stamp"]["total"]) == full
    assert "submission time unknown" in rows["bad_stamp"]["status"]
    assert any("last Tuesday" in p.message for p in results["bad_stamp"].problems)
    for student in ("on_time", "in_grace", "a_day_late"):
        assert "submission time" not in rows[student]["status"]

    with Gradebook(Course(course).gradebook_url) as gb:
        assert gb.find_assignment(ASSIGNMENT).duedate == DUE.replace(tzinfo=None)
        late_sub = gb.find_submission(ASSIGNMENT, "a_day_late")
        assert late_sub.total_seconds_late == 24 * 3600
        assert late_sub.late_submission_penalty == pytest.approx(0.1 * full)
        assert gb.find_submission(ASSIGNMENT, "bad_stamp").timestamp is None

    feedback.run(course=course, students=["a_day_late", "on_time"], progress=False)
    page = (Course(course).feedback("a_day_late") / "svm.html").read_text()
    assert "Submitted 1.0 days after the due date (2026-11-30 17:00 UTC): late penalty" in page
    assert "late penalty" not in (Course(course).feedback("on_time") / "svm.html").read_text()

    # Another policy, as configured: a late submission scores nothing.
    configure(course, **{"KitLatePenalty.penalty_method": "zero"})
    assert kit_main(["autograde", "--course", str(course), "--tests-only", "--data", cifar10_dir,
                     "a_day_late"]) == 0
    rows = grades_rows(course)
    assert float(rows["a_day_late"]["late penalty"]) == full and float(rows["a_day_late"]["total"]) == 0

    # nbgrader's own autograde (formgrader's button) applies the same configured policy.
    configure(course, **{"KitLatePenalty.penalty_method": "per_day"})
    nbgrader_autograde(course, "a_day_late", cifar10_dir)
    with Gradebook(Course(course).gradebook_url) as gb:
        assert gb.find_submission(ASSIGNMENT, "a_day_late").late_submission_penalty == pytest.approx(0.1 * full)


def test_collect_records_the_arrival_time_given_with_its_zone(tmp_path, capsys):
    folder = tmp_path / "alice"
    (folder / "classifiers").mkdir(parents=True)
    (folder / "classifiers" / "linear_svm.py").write_text("# work\n")
    course = tmp_path / "course"
    (course / "release" / ASSIGNMENT).mkdir(parents=True)   # collect takes only a released course
    assert kit_main(["collect", str(folder), "--course", str(course),
                     "--time", "2026-11-30 19:30 Europe/Paris"]) == 0
    stamp = (Course(course).submitted("alice") / "timestamp.txt").read_text()
    assert stamp == "2026-11-30 18:30:00.000000 UTC"
    assert late.read_timestamp(Course(course).submitted("alice")) == (stamp, None)
    # Without a zone the time would be guessed: refused, nothing collected.
    assert kit_main(["collect", str(folder), "--course", str(tmp_path / "other"),
                     "--time", "2026-11-30 19:30"]) == 3
    assert "expected --time with its zone" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def nbgrader_autograde(course, student, cifar10_dir):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", student,
                           "--force", "--KitGrading.tests_only=True", f"--KitGrading.data_dir={cifar10_dir}"],
                          cwd=course, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
