"""`python -m kit demo`: release the assignment, grade three example submissions, check the
grades, and write their feedback: every stage an instructor runs, on known submissions.

The three submissions are built from the kit itself:
- `demo_reference`: the reference solution (full autograded points expected);
- `demo_untouched`: the release as a student receives it (0 points expected);
- `demo_partial`: only the naive losses written (strictly between 0 and full).
The demo uses its own course folder (`demo-course/` by default), never an instructor's.
It is the quick look: `kit demo` grades the test cells only, a submission per core at once,
without timing the reference first (`--notebooks` runs the notebooks in full, as
`kit autograde` does); every stage still runs (release, collect, autograde, feedback, report).
With `lang="ko"` (`kit demo --lang ko`) the release is the Korean edition (kit/i18n.py).
"""
import os
import tempfile
from pathlib import Path

import nbformat

# Modules, not their functions: the tests stand in an offline download for the real one.
from utils import data_utils, download_cifar10

from . import autograde, collect, feedback, i18n, release
from .course import ASSIGNMENT, KIT_ROOT, Course, KitError
from .notebook_rules import NOTEBOOKS
from .lock import course_lock
from .problems import ProblemKind
from .reference_submission import copy_release, reference_submission

NAIVE_FUNCTIONS = ("svm_loss_naive", "softmax_loss_naive")


def run(*, course, dist, data_dir=None, lang="en", **grading):
    course = Course(course)
    data_dir = ensure_data(data_dir)
    course.root.mkdir(parents=True, exist_ok=True)
    with course_lock(course, "kit demo"):   # its stages take it again (re-entrant)
        return _run(course=course, dist=dist, data_dir=data_dir, lang=lang, **grading)


def _run(*, course, dist, data_dir, lang, **grading):
    release.run(kit_root=KIT_ROOT, course=course, dist=dist, lang=lang)
    with tempfile.TemporaryDirectory(prefix="kit-demo-") as tmp:
        folders = build_submissions(course, Path(tmp), lang)
        results = collect.run(paths=[str(f) for f in folders], course_dir=course, verbose=False)
        refused = [r for r in results if r.refused]
        if refused:
            raise KitError(f"collect refused a demo submission: {refused[0].message}")
    students = [f.name for f in folders]
    results = autograde.run(course=course, students=students, data_dir=data_dir, **grading)
    failed = autograde.grader_errors(results)
    if failed:
        raise KitError("the demo could not be graded: " + "; ".join(
            f"{r.student}: {'; '.join(p.message for p in r.problems)}" for r in failed))
    feedback.run(course=course, students=students, jobs=grading.get("jobs", 1))
    by_student = {r.student: r for r in results}
    return check_expectations(by_student) or check_reference_runs_cleanly(
        course, by_student, notebooks_ran=grading.get("run_notebooks", True))


def ensure_data(data_dir):
    """The CIFAR-10 folder to grade with. A folder the user named (--data, else $CIFAR10_DIR)
    is used or refused, never replaced: only when none is named is the data set downloaded
    into the kit's data/ (the loader's default)."""
    named = ("--data", data_dir) if data_dir else \
        ("CIFAR10_DIR", os.environ["CIFAR10_DIR"]) if os.environ.get("CIFAR10_DIR") else None
    try:
        return data_utils.find_cifar10_dir(data_dir, given_as="--data")
    except FileNotFoundError as missing:
        if named:
            raise KitError(f"{missing} Nothing was downloaded: {named[0]} names the folder to use "
                           f"({named[1]}); correct it, or drop it to have the demo download "
                           "CIFAR-10 into the kit's data/.") from None
        print(f"{missing}\nDownloading CIFAR-10 first (set CIFAR10_DIR or pass --data to use a copy "
              "elsewhere).")
    try:
        download_cifar10.download_cifar10()
        return data_utils.find_cifar10_dir(None)
    except Exception as err:   # offline, a proxy, a full disk: say how to use data already here
        raise KitError(f"could not download CIFAR-10 ({type(err).__name__}: {err}). If you have "
                       "the archive cifar-10-python.tar.gz, install it with `python -m "
                       "utils.download_cifar10 --archive FILE`; if the cifar-10-batches-py folder is "
                       "already on this machine, point at it with CIFAR10_DIR=FOLDER or "
                       "`kit demo --data FOLDER`.") from None


def build_submissions(course, root, lang="en"):
    """The demo's three submissions of `course` (a Course or its folder) in `root`: the
    reference, the release untouched, the naive losses only; returns their folders."""
    course = Course(course)
    released, source = course.release, course.source
    reference_submission(course, root / "demo_reference")
    copy_release(released, root / "demo_untouched")
    partial = copy_release(released, root / "demo_partial")
    for name in ("linear_svm.py", "softmax.py"):
        text = (source / "classifiers" / name).read_text()
        (partial / "classifiers" / name).write_text(
            release.cut_solutions(text, name, keep=NAIVE_FUNCTIONS,
                                  stub=i18n.stubs(kit_root=KIT_ROOT, lang=lang)["function"]))
    return [root / "demo_reference", root / "demo_untouched", partial]


def check_reference_runs_cleanly(course, by_student, *, notebooks_ran):
    """The reference notebooks must run top to bottom without an error: one that does not
    (data the sandbox cannot read, a broken environment) says the kit, not a student, is
    at fault. Returns 0, or 1 after naming the first failing cells."""
    failures = [p.message for p in by_student["demo_reference"].problems]
    if notebooks_ran:
        for name in NOTEBOOKS:
            nb = nbformat.read(course.autograded("demo_reference") / name, as_version=4)
            for index, cell in enumerate(nb.cells):
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        failures.append(f"{name} cell {index}: {output.get('ename')}: "
                                        f"{str(output.get('evalue'))[:300]}")
    for name, result in by_student["demo_reference"].notebooks.items():
        failures += [p.message for p in result.problems]
    if failures:
        slow = [p for p in by_student["demo_reference"].all_problems()
                if p.kind in (ProblemKind.TIMEOUT, ProblemKind.TIME_LIMIT)]
        if slow:
            print("\nThe reference solution ran past its time limits: this machine is busy or slow "
                  "for these settings. Give the cells more time (--cell-timeout SECONDS) or grade "
                  "the test cells only (--tests-only, the demo's default):")
        else:
            print("\nThe reference solution did not run cleanly, so the kit or this machine is at fault:")
        for failure in failures[:10]:
            print(f"  {failure}")
        return 1
    return 0


def check_expectations(by_student):
    expectations = [
        ("demo_reference", "full marks", lambda got, most: most > 0 and got == most),
        ("demo_untouched", "0 points", lambda got, most: got == 0),
        ("demo_partial", "strictly between 0 and full", lambda got, most: 0 < got < most),
    ]
    failures = 0
    print(f"\nDemo of {ASSIGNMENT}: expected grades")
    for student, expected, ok in expectations:
        got, most = by_student[student].totals()
        verdict = "ok" if ok(got, most) else "UNEXPECTED"
        failures += verdict != "ok"
        print(f"  {student:<16} {got:g} / {most:g}   expected {expected}: {verdict}")
    return 1 if failures else 0
