"""One writer per course: `COURSE/.kit.lock`, held by the command that writes the course.

`kit release`, `kit autograde` and `kit feedback` (and the demo) hold it for their whole
run; nbgrader's own autograde holds it while the kit's steps run a submission's kernels
and while they store one notebook's grades (kit/nbgrader_steps.py), and its
generate_feedback checks it (kit/nbgrader_hooks.py). A second writer refuses at
once, naming the holder: nothing waits, so no command can deadlock against another.

The file holds the holder's pid, host, command and start. It is created with its content
in one step (written aside, then hard-linked into place: the link fails if a lock exists),
so a reader never sees it half-written. A lock whose holder is gone (same host, that pid
no longer running, or running but started after the lock was taken: the pid was reused)
is stale: it is removed, with a note, and taken. A lock from another host cannot be
checked from here: it is refused, saying how to remove it once that process is known gone.

Within one process the lock is re-entrant: a kit command that runs nbgrader in-process
(whose hooks ask for the lock again) goes on.
"""
import contextlib
import datetime
import json
import os
import socket
import sys
import threading
from pathlib import Path

from .course import KitError

LOCK_NAME = ".kit.lock"
_held = {}                      # resolved course folder -> nesting depth, in this process
_guard = threading.Lock()


def lock_path(course):
    return Path(course) / LOCK_NAME


def process_start(pid):
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def running(pid, start):
    """Whether `pid` on this host is still the process that took the lock."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # another user's process: it exists
    now = process_start(pid)
    return start is None or now is None or now == start


def holder_text(holder):
    return (f"`{holder.get('command', '?')}` (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"since {holder.get('since', '?')})")


def read_holder(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}   # unreadable: treated as held by someone unknown


def _create(path, content):
    """Create `path` holding `content`, atomically; False if it exists already."""
    aside = path.with_name(f"{LOCK_NAME}.{os.getpid()}.{threading.get_ident()}.tmp")
    aside.write_text(content, encoding="utf-8")
    try:
        os.link(aside, path)
        return True
    except FileExistsError:
        return False
    except OSError:   # a file system without hard links: exclusive creation instead
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        return True
    finally:
        aside.unlink(missing_ok=True)


def current_command():
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return " ".join([name, *sys.argv[1:3]])


@contextlib.contextmanager
def course_lock(course, command=None):
    """Hold the course's lock for the `with` block; KitError (exit 3) naming the holder when
    another process holds it. `command` names this holder for the others' messages."""
    course = Path(course)
    key = str(course.resolve())
    with _guard:
        if _held.get(key):
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
        return
    path = lock_path(course)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "start": process_start(os.getpid()),
          "command": command or current_command(),
          "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    acquire(path, me)
    with _guard:
        _held[key] = 1
    try:
        yield
    finally:
        with _guard:
            _held.pop(key, None)
        if (read_holder(path) or {}).get("pid") == me["pid"]:
            path.unlink(missing_ok=True)


def acquire(path, me):
    if not path.parent.is_dir():
        raise KitError(f"expected the course folder {path.parent}, found nothing there; "
                       "check --course (or run `python -m kit release` first)")
    for _ in range(3):   # a stale lock removed, or a holder that just finished: try again
        if _create(path, json.dumps(me)):
            return
        holder = read_holder(path)
        if holder is None:
            continue
        if stale(holder):
            print(f"note: removing the stale lock {path} of {holder_text(holder)}: that process is gone",
                  file=sys.stderr)
            path.unlink(missing_ok=True)
            continue
        raise refusal(path, holder)
    raise refusal(path, read_holder(path) or {})


def stale(holder):
    """Only a lock of this host can be judged: its pid gone (or reused) means stale."""
    pid = holder.get("pid")
    return (holder.get("host") == socket.gethostname() and isinstance(pid, int)
            and not running(pid, holder.get("start")))


def refusal(path, holder):
    if holder.get("host") not in (None, socket.gethostname()):
        gone = f"if that process is gone (check on {holder['host']}), delete {path}"
    else:
        gone = f"if you are sure no kit or nbgrader command works on this course, delete {path}"
    return KitError(f"expected no other command writing this course, got {holder_text(holder)} "
                    f"holding {path}; wait until it finishes ({gone}), then run this command again")


def check_free(course):
    """Refuse (KitError) when another process holds the course's lock; take nothing."""
    path = lock_path(course)
    with _guard:
        if _held.get(str(Path(course).resolve())):
            return
    holder = read_holder(path)
    if holder is not None and not stale(holder):
        raise refusal(path, holder)
