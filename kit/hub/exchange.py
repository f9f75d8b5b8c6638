"""nbgrader's exchange on a shared machine, with the kit's guarantees.

`kit hub` names these classes in the graders' nbgrader configuration
(`c.ExchangeFactory.collect`, `.release_assignment`), so formgrader's Collect and Release
buttons and nbgrader's own commands use them; see KitReleaseAssignment for the release.

Students write into the course's `inbound` folder themselves (nbgrader's submit), so what
is there is untrusted, names included. nbgrader's own collect takes the student id and
the submission time from the folder's name (`alice+linear_classifiers+<time>+<random>`),
which the student writes, only warns when the folder's owner is someone else, and copies
with `shutil.copytree`, which follows symbolic links as the grader. `KitCollect` instead:

- refuses a submission whose folder is not owned by the OS user it names (a student
  submitting as someone else), that holds a file or folder of another user (nbgrader
  leaves submission folders writable by everyone: another student who learned its name
  could replace a file), or anything but folders and regular files (a link to the
  course's solutions or another student's files would otherwise be copied with the
  grader's rights);
- takes the submission time from the exchange itself: the latest status change (ctime)
  of the folder and of everything in it, which no unprivileged user can set back, and
  writes it to the collected `timestamp.txt` (what nbgrader and the kit's late penalties
  read). The time the student's client wrote is kept in `timestamp.student.txt`;
- copies without following any link (every folder opened with O_NOFOLLOW, files read
  through their folder's descriptor), so a link swapped in after the check is refused too.

(The exchange's root stays world-writable, as every nbgrader command requires, but with
the sticky bit: `kit hub` makes the course's folder first, owned by the grader account, so
no student can take its name or delete it.)
"""
import datetime
import os
import stat
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.utils import ignore_patterns, parse_utc

from ..release import check_release

STUDENT_TIMESTAMP = "timestamp.student.txt"
MAX_ENTRIES = 10_000   # a submission is a handful of files; more is refused


class Refused(Exception):
    """A submission the collect refuses; the message says why."""


def owner_name(st):
    import pwd
    try:
        return pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        return "uid %d" % st.st_uid


def exchange_time(path):
    """The submission's time as the exchange saw it: the latest ctime of the folder and of
    everything under it (links not followed), as a naive UTC datetime. Raises Refused on
    anything but folders and regular files."""
    latest, count = 0.0, 0
    owner = os.lstat(path).st_uid
    stack = [path]
    while stack:
        folder = stack.pop()
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode):
            raise Refused("%s is not a folder" % folder)
        latest = max(latest, st.st_ctime)
        with os.scandir(folder) as entries:
            for entry in entries:
                count += 1
                if count > MAX_ENTRIES:
                    raise Refused("more than %d files" % MAX_ENTRIES)
                est = entry.stat(follow_symlinks=False)
                if est.st_uid != owner:
                    # nbgrader leaves a submission folder writable by everyone: a file of
                    # someone else's in it was put there by another user.
                    raise Refused("%s belongs to %s, not to the submitter %s (put there by another "
                                  "user?)" % (os.path.relpath(entry.path, path), owner_name(est),
                                              owner_name(st)))
                if stat.S_ISDIR(est.st_mode):
                    stack.append(entry.path)
                elif stat.S_ISREG(est.st_mode):
                    latest = max(latest, est.st_ctime)
                else:
                    kind = "a symbolic link" if stat.S_ISLNK(est.st_mode) else "a special file"
                    raise Refused("%s is %s (only folders and regular files are collected)"
                                  % (os.path.relpath(entry.path, path), kind))
    return datetime.datetime.fromtimestamp(latest, datetime.timezone.utc).replace(tzinfo=None)


def copy_without_links(src, dest, ignore=None):
    """Copy the tree `src` to the new folder `dest`, never following a link: every folder
    is opened with O_NOFOLLOW and files through their folder's descriptor. Raises Refused
    on a link or special file (what was copied so far stays for the caller to remove)."""
    flags_dir = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    flags_file = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0)

    def copy(dir_fd, shown, target):
        os.mkdir(target, 0o755)
        names = sorted(os.listdir(dir_fd))
        skipped = set(ignore(shown, names)) if ignore else set()
        for name in names:
            if name in skipped:
                continue
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                fd = os.open(name, flags_dir, dir_fd=dir_fd)
                try:
                    copy(fd, os.path.join(shown, name), os.path.join(target, name))
                finally:
                    os.close(fd)
            elif stat.S_ISREG(st.st_mode):
                fd = os.open(name, flags_file, dir_fd=dir_fd)
                try:
                    if not stat.S_ISREG(os.fstat(fd).st_mode):
                        raise Refused("%s changed into a special file" % os.path.join(shown, name))
                    with open(fd, "rb", closefd=False) as source, \
                            open(os.path.join(target, name), "xb") as out:
                        while chunk := source.read(1 << 20):
                            out.write(chunk)
                finally:
                    os.close(fd)
            else:
                raise Refused("%s is a link or special file" % os.path.join(shown, name))

    try:
        top = os.open(src, flags_dir)
    except OSError as err:
        raise Refused("cannot open %s as a folder (%s)" % (src, err.strerror)) from None
    try:
        copy(top, src, dest)
    except OSError as err:
        raise Refused("could not copy it without following links (%s)" % err) from None
    finally:
        os.close(top)


class KitCollect(ExchangeCollect):
    """nbgrader's collect, refusing forged and linked submissions, timed by the exchange."""

    def init_src(self):
        from nbgrader.api import Gradebook, MissingEntry
        from nbgrader.utils import check_mode
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail("Course not found: {}".format(self.inbound_path))
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail("You don't have read permissions for the directory: {}".format(self.inbound_path))
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.refused = []
        self.src_records = self.choose()

    def record(self, path):
        """nbgrader's record of an inbound folder, timed by the exchange; `refused` says why
        it is not collected."""
        record = self._path_to_record(path)
        record["claimed"] = record["timestamp"]
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                raise Refused("it is not a folder")
            owner = owner_name(st)
            if owner != record["username"]:
                raise Refused("it names %s but belongs to %s (submitting as someone else?)"
                              % (record["username"], owner))
            record["timestamp"] = exchange_time(path)
        except (Refused, OSError) as err:
            record["refused"] = str(err)
        return record

    def choose(self):
        """Each student's latest submission by the exchange's time (with --before-duedate,
        the latest on time if any), refused ones left out and logged."""
        import glob
        from collections import defaultdict
        student = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(self.inbound_path, "{}+{}+*".format(student, self.coursedir.assignment_id))
        groups = defaultdict(list)
        for path in sorted(glob.glob(pattern)):
            record = self.record(path)
            if "refused" in record:
                self.log.error("Refused the submission %s: %s", record["filename"], record["refused"])
                self.refused.append(record)
            else:
                groups[record["username"]].append(record)
        chosen = []
        for records in groups.values():
            records = self._sort_by_timestamp(records)
            if self.duedate is not None and self.before_duedate:
                records = [r for r in records if r["timestamp"] <= self.duedate] or records
            chosen.append(records[0])
        return chosen

    def do_copy(self, src, dest, log=None):
        dir_size = self.get_size(src)
        if dir_size > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError("Directory size is too big. Size is %d, maximum size is %d"
                               % (dir_size, 1000 * self.coursedir.max_dir_size))
        claimed = None
        try:
            with open(os.path.join(src, "timestamp.txt"), "rb") as fh:
                claimed = fh.read(100).decode("utf-8", "replace").strip()
        except OSError:
            pass
        try:
            when = exchange_time(src)
            copy_without_links(src, dest, ignore_patterns(
                exclude=self.coursedir.ignore, include=self.coursedir.include,
                max_file_size=self.coursedir.max_file_size, log=self.log))
        except Refused as err:
            import shutil
            shutil.rmtree(dest, ignore_errors=True)
            self.log.error("Refused the submission %s: %s", src, err)
            return
        stamp = when.replace(tzinfo=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        with open(os.path.join(dest, "timestamp.txt"), "w") as fh:
            fh.write(stamp)
        if claimed is not None:
            with open(os.path.join(dest, STUDENT_TIMESTAMP), "w") as fh:
                fh.write(claimed)
            try:
                gap = abs((parse_utc(claimed) - when).total_seconds())
            except Exception:
                gap = None
            if gap is None or gap > 300:
                self.log.warning("%s: the student's client says it was submitted at %r, the "
                                 "exchange at %s; the exchange's time counts", src, claimed, stamp)


class KitReleaseAssignment(ExchangeReleaseAssignment):
    """nbgrader's release (formgrader's Release button), refusing a release that still holds
    instructor material. Formgrader's Generate button runs nbgrader's generate_assignment,
    which copies `classifiers/*.py` from the source as they are, reference solutions
    included; only `python -m kit release` cuts them. Released to the exchange, every
    student could fetch them: so the release is checked line by line against the source
    (kit.release.check_release) before anything is copied."""

    def copy_files(self):
        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".",
                                                 self.coursedir.assignment_id))
        release = Path(self.src_path)
        problems = check_release(source, release) if source.is_dir() else []
        if problems:
            shown = "\n  ".join(problems[:10]) + ("\n  ..." if len(problems) > 10 else "")
            self.fail(f"Not released: {release} still holds instructor material (formgrader's "
                      "Generate copies the solutions in classifiers/*.py as they are). Run "
                      "`python -m kit release` for this course, then Release again.\n  " + shown)
        return super().copy_files()
