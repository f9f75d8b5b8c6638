"""Phase 2 of `kit collect` (kit/collect.py): a checked submission written into the course,
all or nothing: into a fresh folder first, swapped in for the old one, its timestamp.txt
last; a failure leaves the course as it was.
"""
import os
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from typing import Optional

from .collect_scan import stream

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's default Exchange.timestamp_format
COLLECTED, REPLACED, REFUSED = "collected", "replaced", "refused"


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


def install(plan, stamp, assignment):
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
        stream(data, out, entry.size, where)


