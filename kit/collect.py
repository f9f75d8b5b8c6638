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
import shutil
import stat
import struct
import sys
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from .course import ASSIGNMENT, NOTEBOOKS as EXPECTED_NOTEBOOKS
from .lock import course_lock
from .notebook_limits import NotebookTooLarge, check_text

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's default Exchange.timestamp_format
CONTENT_DIRS = frozenset({"classifiers", "utils"})  # never mistaken for a wrapper folder
JUNK_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

COLLECTED, REPLACED, REFUSED = "collected", "replaced", "refused"
MB = 1024 * 1024
# A letter, digit or "_" first: ids become folder names and spreadsheet cells, where a
# leading "-" reads as an option or a formula ("=", "+", "@" are not allowed at all).
_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
ID_RULE = ("letters, digits, '.', '_', '-', at most 64 characters, starting with a "
           "letter, digit or '_'")
_DRIVE_RE = re.compile(r"[A-Za-z]:")
_CHUNK = 1 << 20
# Reading a damaged zip can fail in any of these ways; each becomes a refusal.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
               struct.error, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class Limits:
    """Size limits for ONE submission; the defaults suit a notebook assignment.

    max_total_bytes: sum of the uncompressed file sizes (also caps the zip file's own size).
    max_member_bytes: any single file.
    max_members: entries in a zip (all of them, junk included) or kept files in a folder.
    max_ratio: uncompressed / compressed size of a zip member (zip bomb guard); it applies
      to members of at least ratio_min_bytes only, since small text files can legitimately
      compress very well.
    """
    max_total_bytes: int = 200 * MB
    max_member_bytes: int = 100 * MB
    max_members: int = 2000
    max_ratio: float = 100.0
    ratio_min_bytes: int = 1 * MB


@dataclass
class CollectResult:
    """What happened to one PATH.

    path: the PATH as given; student: the student id (None if it could not be derived);
    destination: <course>/submitted/<student>/<assignment> (None if unknown);
    status: "collected", "replaced" or "refused"; message: one human-readable line.
    """
    path: str
    student: Optional[str]
    destination: Optional[str]
    status: str
    message: str

    @property
    def refused(self) -> bool:
        return self.status == REFUSED


class CollectError(ValueError):
    """Bad arguments to run(); raised before anything is read or changed."""


class RefusedSubmission(Exception):
    """One submission cannot be collected; the message says what, where and how to fix it."""


@dataclass
class _Entry:
    parts: tuple   # path inside the submission, one item per component
    size: int      # uncompressed size in bytes
    source: object  # zipfile.ZipInfo for zips, Path for folders


@dataclass
class _Plan:
    path: str
    source: Path
    student: str
    destination: Path
    is_zip: bool
    entries: List[_Entry]
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
            result = item if isinstance(item, CollectResult) else _install(item, stamp, assignment)
            if verbose:
                _print_result(result)
            results.append(result)
    if verbose:
        print(format_table(results))
    return results


def parse_arrival(text):
    """--time as an aware datetime; a time without its zone is refused (it would be guessed)."""
    import dateutil.parser
    import dateutil.tz
    head, _, last = " ".join(str(text).split()).rpartition(" ")
    zone = dateutil.tz.gettz(last) if head and last[:1].isalpha() else None
    try:
        when = dateutil.parser.parse(head).replace(tzinfo=zone) if zone else dateutil.parser.parse(text)
    except (ValueError, OverflowError):
        when = None
    if when is None or when.tzinfo is None:
        raise CollectError(f"expected --time with its zone, such as '2026-12-01 16:53 Europe/Paris' or "
                           f"'2026-12-01T16:53+01:00', got {text!r} instead")
    return when


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
        is_zip, entries = False, _scan_folder(source, path, limits)
    elif source.is_file():
        is_zip, entries = True, _scan_zip(source, path, limits)
    else:
        raise RefusedSubmission(f"{path}: expected a zip file or a folder, got a special file")
    entries, notes = _tidy(entries, path)
    if is_zip:
        _verify_zip(source, entries, path)
    _check_notebooks(source, entries, is_zip, path)
    _check_destination(source, destination, stamp, path)
    return _Plan(path, source, who, destination, is_zip, entries, notes)


def _scan_zip(source, path, limits):
    """Check every member of a zip file's directory; return its files as _Entry list."""
    if source.stat().st_size > limits.max_total_bytes:
        raise RefusedSubmission(f"{path}: the zip file is {source.stat().st_size} bytes, over "
                                f"the {limits.max_total_bytes}-byte limit")
    declared = _declared_entry_count(source)
    if declared is not None and declared > limits.max_members:
        raise RefusedSubmission(f"{path}: the zip declares {declared} members, over the "
                                f"limit of {limits.max_members}")
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except _ZIP_ERRORS as err:
        raise RefusedSubmission(f"{path}: expected a zip file, got an unreadable or non-zip "
                                f"file instead ({err}); ask the student for a new zip") from err
    if len(infos) > limits.max_members:
        raise RefusedSubmission(f"{path}: the zip has {len(infos)} members, over the limit "
                                f"of {limits.max_members}")
    entries, folders, total = [], [], 0
    for info in infos:
        parts, is_dir = _check_member(info, path, limits)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise RefusedSubmission(f"{path}: more than {limits.max_total_bytes} bytes once "
                                    f"unpacked (reached at member {info.filename!r})")
        if is_dir:
            folders.append(parts)
        else:
            entries.append(_Entry(parts, info.file_size, info))
    _check_names_unique(entries, folders, path)
    return entries


def _declared_entry_count(source):
    """Entry count from the zip's end record, read before zipfile parses every entry."""
    size = source.stat().st_size
    with open(source, "rb") as handle:
        handle.seek(max(0, size - 22 - 65535))  # end record (22 bytes) + longest comment
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None  # not a zip; zipfile gives the error message
    count = struct.unpack_from("<H", tail, at + 10)[0]
    return None if count == 0xFFFF else count  # 0xFFFF: zip64, zipfile checks it later


def _check_member(info, path, limits):
    """Refuse an unsafe zip member; return (name parts, is_dir)."""
    where = f"{path}: member {info.filename!r}"
    mode = info.external_attr >> 16  # unix st_mode, 0 if the zip tool did not store one
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise RefusedSubmission(f"{where} is a symbolic link; links can point outside the "
                                f"submission, ask the student to zip the real files")
    if kind and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise RefusedSubmission(f"{where} is a device or special file, expected a regular file")
    if info.flag_bits & 0x1:
        raise RefusedSubmission(f"{where} is encrypted (password protected); ask for a zip "
                                f"without a password")
    is_dir = info.is_dir() or stat.S_ISDIR(mode)
    parts = _safe_parts(info.filename, where)
    if not parts and not is_dir:
        raise RefusedSubmission(f"{where} has an empty file name")
    if info.file_size > limits.max_member_bytes:
        raise RefusedSubmission(f"{where} is {info.file_size} bytes unpacked, over the "
                                f"{limits.max_member_bytes}-byte limit per file")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= limits.ratio_min_bytes and ratio > limits.max_ratio:
        raise RefusedSubmission(f"{where} unpacks {ratio:.0f} times larger than it is packed "
                                f"(limit {limits.max_ratio:g}); this looks like a zip bomb")
    return parts, is_dir


def _safe_parts(name, where):
    """Split a member name into components; refuse names that could escape the folder."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise RefusedSubmission(f"{where} has control characters in its name")
    name = name.replace("\\", "/")  # some Windows tools write backslashes
    if name.startswith("/"):
        raise RefusedSubmission(f"{where} has an absolute path; expected a relative name")
    if _DRIVE_RE.match(name):
        raise RefusedSubmission(f"{where} starts with a drive letter; expected a relative name")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise RefusedSubmission(f"{where} has a '..' component, which would write outside "
                                f"the submission folder")
    if any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        raise RefusedSubmission(f"{where} has a name component over 255 bytes")
    return parts


def _check_names_unique(entries, dir_parts, path):
    """Refuse two members with the same path, or one path used as a file and a folder."""
    files, folders = {}, set(dir_parts)
    for entry in entries:
        shown = "/".join(entry.parts)
        if entry.parts in files:
            raise RefusedSubmission(f"{path}: member {shown!r} appears twice; expected unique "
                                    f"names, ask the student to re-zip")
        files[entry.parts] = entry
        folders.update(entry.parts[:i] for i in range(1, len(entry.parts)))
    clash = sorted(set(files) & folders)
    if clash:
        raise RefusedSubmission(f"{path}: member {'/'.join(clash[0])!r} is both a file and a "
                                f"folder; ask the student to re-zip")


def _scan_folder(source, path, limits):
    """Check a submission folder (no symlinks or special files, size limits); list its files."""
    entries, total, todo = [], 0, [(source, ())]
    while todo:
        folder, prefix = todo.pop()
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda item: item.name)
        except OSError as err:
            raise RefusedSubmission(f"{path}: cannot read folder {folder} ({err})") from err
        for item in items:
            parts = prefix + (item.name,)
            if _is_junk(parts):
                continue  # also keeps us out of big __pycache__ or checkpoint folders
            where = f"{path}: {'/'.join(parts)}"
            info = item.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                raise RefusedSubmission(f"{where} is a symbolic link; links can point outside "
                                        f"the submission, replace it with the real file")
            if stat.S_ISDIR(info.st_mode):
                todo.append((Path(item.path), parts))
                continue
            if not stat.S_ISREG(info.st_mode):
                raise RefusedSubmission(f"{where} is a device or special file, expected a "
                                        f"regular file")
            total += info.st_size
            _check_folder_sizes(where, info.st_size, total, len(entries) + 1, limits)
            entries.append(_Entry(parts, info.st_size, Path(item.path)))
    return entries


def _check_folder_sizes(where, size, total, count, limits):
    if size > limits.max_member_bytes:
        raise RefusedSubmission(f"{where} is {size} bytes, over the "
                                f"{limits.max_member_bytes}-byte limit per file")
    if total > limits.max_total_bytes:
        raise RefusedSubmission(f"{where}: the folder holds more than "
                                f"{limits.max_total_bytes} bytes (limit)")
    if count > limits.max_members:
        raise RefusedSubmission(f"{where}: the folder holds more than {limits.max_members} "
                                f"files (limit)")


def _is_junk(parts):
    name = parts[-1]
    return (any(p in JUNK_DIRS for p in parts) or name in JUNK_FILES
            or name.startswith("._") or name.endswith(".pyc"))


def _tidy(entries, path):
    """Drop junk, strip a single wrapper folder, drop timestamp.txt; refuse empty; notes."""
    entries = [e for e in entries if not _is_junk(e.parts)]
    notes = []
    tops = {e.parts[0] for e in entries}
    if len(tops) == 1 and all(len(e.parts) > 1 for e in entries):
        top = tops.pop()
        if top not in CONTENT_DIRS:
            entries = [_Entry(e.parts[1:], e.size, e.source) for e in entries]
            notes.append(f"files were inside {top}/")
    if any(e.parts == ("timestamp.txt",) for e in entries):
        entries = [e for e in entries if e.parts != ("timestamp.txt",)]
        notes.append("ignored the submitted timestamp.txt")
    if not entries:
        raise RefusedSubmission(f"{path}: the submission is empty (no files besides junk); "
                                f"expected {', '.join(EXPECTED_NOTEBOOKS)}, classifiers/, ...")
    present = {e.parts for e in entries}
    missing = [nb for nb in EXPECTED_NOTEBOOKS if (nb,) not in present]
    if missing:
        notes.append(f"missing {', '.join(missing)} (the grader will report it)")
    return entries, notes


def _verify_zip(source, entries, path):
    """Read every kept member once (CRC and size checked) so extraction cannot fail later."""
    with zipfile.ZipFile(source) as archive:
        for entry in entries:
            where = f"{path}: member {entry.source.filename!r}"
            try:
                with archive.open(entry.source) as data:
                    _stream(data, None, entry.size, where)
            except _ZIP_ERRORS as err:
                raise RefusedSubmission(f"{where} cannot be read ({err}); the zip is damaged, "
                                        f"ask the student for a new copy") from err


def _check_notebooks(source, entries, is_zip, path):
    """Refuse a graded notebook over kit/notebook_limits.py's limits (cells, nesting).

    Only the notebooks the grader reads are checked; one that is not JSON at all is
    accepted here and graded as an unreadable notebook, as before.
    """
    for entry in entries:
        if len(entry.parts) != 1 or entry.parts[0] not in EXPECTED_NOTEBOOKS:
            continue
        if is_zip:
            with zipfile.ZipFile(source) as archive, archive.open(entry.source) as data:
                raw = data.read(entry.size + 1)
            where = f"{path}: member {entry.source.filename!r}"
        else:
            fd = os.open(entry.source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as data:
                raw = data.read(entry.size + 1)
            where = f"{path}: {entry.parts[0]}"
        try:
            check_text(raw.decode("utf-8", errors="replace"), where)
        except NotebookTooLarge as err:
            raise RefusedSubmission(f"{err}; ask the student to remove the extra cells or "
                                    f"nesting and submit again") from err


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
    """Naive UTC datetime from an nbgrader timestamp.txt, or None if absent/unreadable."""
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f UTC")  # what we write
    except ValueError:
        pass
    # Other tools' formats. dateutil is what nbgrader parses with; importing nbgrader itself
    # takes seconds, so it is not used here.
    import dateutil.parser
    import dateutil.tz
    head, _, last = text.rpartition(" ")
    # A trailing zone name ("CET", "Europe/Paris") is looked up, as nbgrader does.
    zone = dateutil.tz.gettz(last) if head and last[:1].isalpha() else None
    try:
        when = (dateutil.parser.parse(head).replace(tzinfo=zone) if zone
                else dateutil.parser.parse(text))
    except (ValueError, OverflowError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when


# ---------------------------------------------------------------- phase 2: write

def _install(plan, stamp, assignment):
    """Write a checked submission next to its destination, then swap it in."""
    parent, destination = plan.destination.parent, plan.destination
    created = _make_folders(parent)
    fresh = parent / f".{assignment}.new-{uuid.uuid4().hex[:12]}"
    try:
        os.mkdir(fresh)
        _write_files(plan, fresh)
        (fresh / "timestamp.txt").write_text(stamp.strftime(TIMESTAMP_FORMAT))
        replaced = os.path.lexists(destination)
        if replaced:
            _swap(fresh, destination, parent / f".{assignment}.old-{uuid.uuid4().hex[:12]}")
        else:
            os.rename(fresh, destination)
    except Exception as err:
        _discard(fresh, created)
        return CollectResult(plan.path, plan.student, str(destination), REFUSED,
                             f"{plan.path}: could not write {destination} ({err}); "
                             f"nothing was changed")
    except BaseException:  # e.g. Ctrl-C: clean up, then stop
        _discard(fresh, created)
        raise
    summary = (f"replaced the earlier submission with {len(plan.entries)} file(s)" if replaced
               else f"collected {len(plan.entries)} file(s)")
    message = "; ".join([summary] + plan.notes)
    return CollectResult(plan.path, plan.student, str(destination),
                         REPLACED if replaced else COLLECTED, message)


def _make_folders(folder):
    """mkdir -p; return the folders created, outermost first (to undo on failure)."""
    missing = []
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for item in reversed(missing):
        os.mkdir(item)
    return list(reversed(missing))


def _discard(fresh, created):
    """Undo a failed install: the temporary folder and any folders made for it."""
    shutil.rmtree(fresh, ignore_errors=True)
    for folder in reversed(created):
        try:
            os.rmdir(folder)  # only if still empty
        except OSError:
            pass


def _swap(fresh, destination, backup):
    """Replace destination by fresh; the old folder stays as backup until fresh is in place."""
    os.rename(destination, backup)
    try:
        os.rename(fresh, destination)
    except BaseException:
        os.rename(backup, destination)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _write_files(plan, folder):
    if plan.is_zip:
        with zipfile.ZipFile(plan.source) as archive:
            for entry in plan.entries:
                with archive.open(entry.source) as data:
                    _write_one(data, folder, entry, f"{plan.path}: {entry.source.filename!r}")
        return
    for entry in plan.entries:
        # O_NOFOLLOW: the file was checked not to be a link; do not follow one swapped in since.
        fd = os.open(entry.source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as data:
            _write_one(data, folder, entry, f"{plan.path}: {'/'.join(entry.parts)}")


def _write_one(data, folder, entry, where):
    target = folder.joinpath(*entry.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        _stream(data, out, entry.size, where)


def _stream(data, out, limit, where):
    """Copy data to out (None: just read) in chunks; refuse more than limit bytes."""
    copied = 0
    while True:
        chunk = data.read(_CHUNK)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise RefusedSubmission(f"{where} holds more than the {limit} bytes it declared "
                                    f"or had when checked")
        if out is not None:
            out.write(chunk)


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

