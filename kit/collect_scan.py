"""Phase 1 of `kit collect` (kit/collect.py): a submission's zip file or folder checked
entry by entry before anything is written: unsafe names (absolute paths, `..`, links),
zip bombs, oversized or corrupt files, notebooks over kit/notebook_limits.py's limits. A
problem raises RefusedSubmission, naming what and where, and how to fix it.
"""
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .notebook_rules import NOTEBOOKS as EXPECTED_NOTEBOOKS
from .notebook_limits import NotebookTooLarge, check_text

CONTENT_DIRS = frozenset({"classifiers", "utils"})  # never mistaken for a wrapper folder
JUNK_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
MB = 1024 * 1024
_DRIVE_RE = re.compile(r"[A-Za-z]:")
CHUNK = 1 << 20
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


class RefusedSubmission(Exception):
    """One submission cannot be collected; the message says what, where and how to fix it."""


@dataclass
class Entry:
    parts: tuple   # path inside the submission, one item per component
    size: int      # uncompressed size in bytes
    source: object  # zipfile.ZipInfo for zips, Path for folders



def scan_zip(source, path, limits):
    """Check every member of a zip file's directory; return its files as Entry list."""
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
            entries.append(Entry(parts, info.file_size, info))
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


def scan_folder(source, path, limits):
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
            entries.append(Entry(parts, info.st_size, Path(item.path)))
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


def tidy(entries, path):
    """Drop junk, strip a single wrapper folder, drop timestamp.txt; refuse empty; notes."""
    entries = [e for e in entries if not _is_junk(e.parts)]
    notes = []
    tops = {e.parts[0] for e in entries}
    if len(tops) == 1 and all(len(e.parts) > 1 for e in entries):
        top = tops.pop()
        if top not in CONTENT_DIRS:
            entries = [Entry(e.parts[1:], e.size, e.source) for e in entries]
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


def verify_zip(source, entries, path):
    """Read every kept member once (CRC and size checked) so extraction cannot fail later."""
    with zipfile.ZipFile(source) as archive:
        for entry in entries:
            where = f"{path}: member {entry.source.filename!r}"
            try:
                with archive.open(entry.source) as data:
                    stream(data, None, entry.size, where)
            except _ZIP_ERRORS as err:
                raise RefusedSubmission(f"{where} cannot be read ({err}); the zip is damaged, "
                                        f"ask the student for a new copy") from err


def check_notebooks(source, entries, is_zip, path):
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


def stream(data, out, limit, where):
    """Copy data to out (None: just read) in chunks; refuse more than limit bytes."""
    copied = 0
    while True:
        chunk = data.read(CHUNK)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise RefusedSubmission(f"{where} holds more than the {limit} bytes it declared "
                                    f"or had when checked")
        if out is not None:
            out.write(chunk)
