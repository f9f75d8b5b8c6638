"""Collect student submissions (zip files or folders) into an nbgrader course folder.

`python -m kit collect PATH... [--student ID] [--course DIR] [--time TIME]` puts each submission under

    <course>/submitted/<student>/linear_classifiers/

next to a `timestamp.txt` such as "2026-11-22 16:53:00.000000 UTC". That is the layout of
`nbgrader collect` (CourseDirectory.directory_structure "{nbgrader_step}/{student_id}/
{assignment_id}") and its timestamp format (Exchange.timestamp_format "%Y-%m-%d %H:%M:%S.%f %Z"),
read back with nbgrader.utils.parse_utc, so `nbgrader autograde linear_classifiers` finds it.

Student id: --student ID when given (allowed with one PATH only); otherwise the file name
without its last extension, or the folder name, with a trailing "_linear_classifiers" removed:
    alice.zip, alice_linear_classifiers.zip, alice/  ->  alice
A valid id has only ASCII letters, digits, ".", "_" and "-", and does not start with a dot.

Content: the files may sit at the top of the zip/folder or inside ONE top-level folder of any
name except classifiers/ and utils/ (that folder is stripped). Junk is skipped: __MACOSX/,
.ipynb_checkpoints/, __pycache__/, .DS_Store, ._* (AppleDouble), Thumbs.db, desktop.ini, *.pyc.
A submitted top-level timestamp.txt is ignored (the collect time counts, not the student's;
--time TIME records when the submissions arrived instead, e.g. as the LMS shows it).
Missing notebooks are reported but accepted (the grader scores them as missing); an empty
submission is refused.

Safety: all arguments and every path are checked (zips fully read and CRC-checked) before
anything changes. Refused, with the zip path and member name: absolute names, drive letters,
".." components, control characters in names, symlinks and device files (unix mode in
external_attr), encrypted members, duplicate names, a name used as both file and folder,
non-zip or corrupt files, anything over the Limits below, and a graded notebook over the
limits of kit/notebook_limits.py (cells per notebook, JSON nesting depth, JSON objects
and arrays). Folders: symlinks and special
files inside are refused, same size limits. The original is never modified. Files are written
to a temporary folder next to the destination, which then replaces the destination; an
earlier submission is renamed to a backup until the new one is in place (restored on failure).
A submission whose timestamp is older than the one already collected is refused.

Python use (`python -m kit collect` parses its arguments in kit/__main__.py):
    from kit.collect import run
    results = run(paths=["alice.zip", "bob/"], course_dir="course")
    exit_code = 1 if any(r.refused for r in results) else 0
"""
import datetime
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from .collect_scan import Entry, Limits, RefusedSubmission, check_notebooks, scan_folder, scan_zip, tidy, verify_zip
from .collect_write import COLLECTED, REFUSED, REPLACED, CollectResult, install
from .course import ASSIGNMENT
from .lock import course_lock
from .timestamps import MAX_CHARS, parse_utc_time


# A letter, digit or "_" first: ids become folder names and spreadsheet cells, where a
# leading "-" reads as an option or a formula ("=", "+", "@" are not allowed at all).
_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
ID_RULE = ("letters, digits, '.', '_', '-', at most 64 characters, starting with a "
           "letter, digit or '_'")
class CollectError(ValueError):
    """Bad arguments to run(); raised before anything is read or changed."""


@dataclass
class _Plan:
    path: str
    source: Path
    student: str
    destination: Path
    is_zip: bool
    entries: List[Entry]
    notes: List[str] = field(default_factory=list)


def run(*, paths, course_dir, student=None, assignment=ASSIGNMENT, now=None, limits=None,
        verbose=True):
    """
    Collect submissions into <course_dir>/submitted/<student>/<assignment>/.

    Inputs:
    - paths: list of zip files and/or folders, one submission each.
    - course_dir: the nbgrader course folder; it must hold a release (`kit release`).
    - student: student id to use instead of the name rule; only with exactly one path.
    - assignment: nbgrader assignment id.
    - now: datetime written to timestamp.txt (naive means UTC); default: the current time.
    - limits: a Limits instance; default Limits().
    - verbose: print one line per path and a summary table.

    Returns:
    - list of CollectResult, one per path, in the order given. A bad submission becomes a
      "refused" result and the others are still collected.

    Raises CollectError (nothing changed) when an argument itself is wrong.
    """
    paths, course, stamp, limits = _check_arguments(paths, course_dir, student, assignment,
                                                    now, limits)
    planned = [_plan_or_refusal(p, student, course, assignment, limits, stamp) for p in paths]
    planned = _refuse_conflicts(planned)
    results = []
    with course_lock(course, "kit collect"):
        for item in planned:
            result = item if isinstance(item, CollectResult) else install(item, stamp, assignment)
            if verbose:
                _print_result(result)
            results.append(result)
    if verbose:
        print(format_table(results))
    return results


def parse_arrival(text):
    """--time as an aware UTC datetime, read by the rule of kit/timestamps.py; a time without
    its zone is refused (it would be guessed)."""
    try:
        when = parse_utc_time(text)
    except ValueError as err:
        raise CollectError(f"expected --time with its zone, such as '2026-12-01 16:53 Europe/Paris' or "
                           f"'2026-12-01T16:53+01:00', got {text!r} instead ({err})") from None
    return when.replace(tzinfo=datetime.timezone.utc)


def valid_id(text) -> bool:
    """True if text is a usable student/assignment id: letters, digits, '.', '_', '-', at most
    64 characters, starting with a letter, digit or '_'."""
    return isinstance(text, str) and _ID_RE.fullmatch(text) is not None


def student_from_path(path, assignment=ASSIGNMENT) -> str:
    """
    Student id from a submission's name: the file name without its last extension (or the
    folder name), with a trailing "_<assignment>" removed. Raises RefusedSubmission if the
    result is not a valid id.
    """
    is_dir = os.path.isdir(path)
    name = os.path.basename(os.path.abspath(path))
    stem = name if is_dir else os.path.splitext(name)[0]
    if stem.endswith("_" + assignment):
        stem = stem[:-len(assignment) - 1]
    kind = "folder" if is_dir else "file"
    if stem == assignment:
        raise RefusedSubmission(
            f"{path}: the {kind} name is the assignment name, not a student id; "
            f"rename it to <student>.zip or pass --student ID")
    if not valid_id(stem):
        raise RefusedSubmission(
            f"{path}: expected a student id in the {kind} name ({ID_RULE}), got {stem!r} instead; "
            f"rename it or pass --student ID")
    return stem


def format_table(results) -> str:
    """A short table PATH / STUDENT / STATUS and a count line."""
    rows = [("PATH", "STUDENT", "STATUS")]
    rows += [(r.path, r.student or "?", r.status.upper() if r.refused else r.status)
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
    counts = {s: sum(r.status == s for r in results) for s in (COLLECTED, REPLACED, REFUSED)}
    lines.append(f"{len(results)} submission(s): " +
                 ", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)


# ---------------------------------------------------------------- argument checks

def _check_arguments(paths, course_dir, student, assignment, now, limits):
    """Validate run()'s arguments; return (paths as str list, course Path, UTC stamp, limits)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise CollectError(f"expected a list of paths, got the single path {paths!r} instead; "
                           f"pass paths=[{paths!r}]")
    paths = list(paths)
    if not paths:
        raise CollectError("expected at least one submission path, got none")
    if not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise CollectError(f"expected paths as str or Path, got {paths!r} instead")
    paths = [os.fspath(p) for p in paths]
    if not isinstance(course_dir, (str, os.PathLike)) or not os.fspath(course_dir):
        raise CollectError(f"expected course_dir as a folder path, got {course_dir!r} instead")
    course = Path(course_dir).absolute()
    if os.path.lexists(course) and not course.is_dir():
        raise CollectError(f"expected the course folder {course} to be a folder, got a file "
                           f"instead; pass another --course DIR")
    if not valid_id(assignment) or "+" in assignment:
        raise CollectError(f"expected an assignment id of letters, digits, '.', '_', '-', "
                           f"got {assignment!r} instead")
    # A typo in --course would otherwise make a new folder and collect into it, unseen by
    # every later command: a course is one `kit release` made.
    if not (course / "release" / assignment).is_dir():
        raise CollectError(f"expected a released course at {course} (with release/{assignment}/), "
                           f"got {'no such folder' if not os.path.lexists(course) else 'no release in it'} "
                           f"instead; check --course, or run `python -m kit release --course {course}` first")
    if student is not None:
        if not valid_id(student):
            raise CollectError(f"expected --student to be {ID_RULE}, got {student!r} instead")
        if len(paths) != 1:
            raise CollectError(f"--student works with exactly one PATH, got {len(paths)} "
                               f"paths instead; collect them one at a time or drop --student")
    return paths, course, _utc_stamp(now), _check_limits(limits)


def _utc_stamp(now):
    """now (None, naive UTC or aware datetime) -> aware UTC datetime."""
    if now is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if not isinstance(now, datetime.datetime):
        raise CollectError(f"expected now to be a datetime, got {type(now).__name__} instead")
    if now.tzinfo is None:
        return now.replace(tzinfo=datetime.timezone.utc)
    return now.astimezone(datetime.timezone.utc)


def _check_limits(limits):
    if limits is None:
        return Limits()
    if not isinstance(limits, Limits):
        raise CollectError(f"expected limits to be a Limits, got {type(limits).__name__} instead")
    for name, value in vars(limits).items():
        if not isinstance(value, (int, float)) or value < 0:
            raise CollectError(f"expected Limits.{name} >= 0, got {value!r} instead")
    return limits


# ---------------------------------------------------------------- phase 1: check, change nothing

def _plan_or_refusal(path, student, course, assignment, limits, stamp):
    """Check one submission completely; return a _Plan, or a refused CollectResult."""
    who = destination = None
    try:
        who = student if student is not None else student_from_path(path, assignment)
        destination = course / "submitted" / who / assignment
        try:
            return _plan(path, who, destination, limits, stamp)
        except OSError as err:  # unreadable file or folder, permissions, ...
            raise RefusedSubmission(f"{path}: cannot read it ({err})") from err
    except RefusedSubmission as err:
        return CollectResult(path, who, destination and str(destination), REFUSED, str(err))


def _plan(path, who, destination, limits, stamp):
    source = Path(path)
    if not os.path.lexists(source):
        raise RefusedSubmission(f"{path}: no such file or folder; check the path")
    if source.is_dir():
        is_zip, entries = False, scan_folder(source, path, limits)
    elif source.is_file():
        is_zip, entries = True, scan_zip(source, path, limits)
    else:
        raise RefusedSubmission(f"{path}: expected a zip file or a folder, got a special file")
    entries, notes = tidy(entries, path)
    if is_zip:
        verify_zip(source, entries, path)
    check_notebooks(source, entries, is_zip, path)
    _check_destination(source, destination, stamp, path)
    return _Plan(path, source, who, destination, is_zip, entries, notes)


def _check_destination(source, destination, stamp, path):
    """Refuse if the destination cannot be replaced safely or holds a newer submission."""
    for folder in (destination.parent.parent, destination.parent):
        if os.path.lexists(folder) and not folder.is_dir():
            raise RefusedSubmission(f"{path}: expected {folder} to be a folder, got a file; "
                                    f"move it away first")
    if os.path.islink(destination) or (os.path.lexists(destination)
                                       and not destination.is_dir()):
        raise RefusedSubmission(f"{path}: expected {destination} to be a folder, got a file "
                                f"or link; move it away first")
    src, dst = os.path.realpath(source), os.path.realpath(destination)
    if _inside(src, dst) or (source.is_dir() and _inside(dst, src)):
        raise RefusedSubmission(f"{path}: the submission overlaps its destination "
                                f"{destination}; copy it somewhere else first")
    old = _read_timestamp(destination / "timestamp.txt")
    new = stamp.replace(tzinfo=None)
    if old is not None and new < old:
        raise RefusedSubmission(f"{path}: {destination} holds a newer submission ({old} UTC) "
                                f"than this one ({new} UTC); not replaced")


def _inside(child, parent):
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def _read_timestamp(path):
    """Naive UTC datetime from an nbgrader timestamp.txt, or None if absent or unreadable
    (by kit/timestamps.py's rule, as late work reads it: an unreadable time never blocks)."""
    try:
        with open(path, "rb") as f:
            return parse_utc_time(f.read(MAX_CHARS + 1).decode("utf-8"))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- output

def _refuse_conflicts(planned):
    """Refuse paths that clash within one run: two submissions for one student (ambiguous),
    or a submission stored inside another one's destination (both refused: replacing that
    destination would delete the other submission's original)."""
    plans = [i for i in planned if isinstance(i, _Plan)]
    by_student = {}
    for item in planned:
        if item.student is not None:
            by_student.setdefault(item.student, []).append(item.path)
    nested = {}  # path of a plan -> paths of the other plans it clashes with
    for outer in plans:
        target = os.path.realpath(outer.destination)
        for inner in plans:
            if inner is not outer and _inside(os.path.realpath(inner.source), target):
                nested.setdefault(inner.path, []).append(outer.path)
                nested.setdefault(outer.path, []).append(inner.path)
    result = []
    for item in planned:
        if isinstance(item, _Plan) and len(by_student[item.student]) > 1:
            same = by_student[item.student]
            item = _refusal(item, f"{len(same)} paths in this run are for student "
                                  f"{item.student!r} ({', '.join(same)}); collect one at a time")
        elif isinstance(item, _Plan) and item.path in nested:
            item = _refusal(item, f"it clashes with {', '.join(nested[item.path])}: one lies "
                                  f"inside the other's destination, which collect replaces; "
                                  f"move that submission out of the course folder first")
        result.append(item)
    return result


def _refusal(plan, reason):
    return CollectResult(plan.path, plan.student, str(plan.destination), REFUSED,
                         f"{plan.path}: {reason}")


def _print_result(result):
    if result.refused:
        print(f"REFUSED {result.message}", file=sys.stderr)
    else:
        print(f"{result.status} {result.path} -> {_show(result.destination)}: {result.message}")


def _show(path):
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative

