"""What an OS user may do to a path, worked out from the file modes (as the kernel checks
them, ACLs aside) without becoming that user: `kit hub` runs as root, and must know whether
a student could read the course folder, or whether the students' Python is readable by them."""
import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gids: frozenset
    home: str

    @classmethod
    def find(cls, name):
        """The OS account `name`, or None when there is none."""
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        gids = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
        return cls(name, entry.pw_uid, frozenset(gids), entry.pw_dir)


def allowed(st, account, want):
    """Does the mode `st` give `account` every bit of `want` (a combination of R, W, X:
    4, 2, 1)? root may do anything but execute a file nobody may execute."""
    if account.uid == 0:
        return not (want & 1) or stat.S_ISDIR(st.st_mode) or bool(st.st_mode & 0o111)
    if st.st_uid == account.uid:
        bits = (st.st_mode >> 6) & 7
    elif st.st_gid in account.gids:
        bits = (st.st_mode >> 3) & 7
    else:
        bits = st.st_mode & 7
    return bits & want == want


def reachable(path, account, want=4):
    """Can `account` reach `path` (search every folder above it) and do `want` to it?
    (4: read, 2: write, 1: execute or search; the real path counts, links followed.)"""
    path = Path(os.path.realpath(path))
    try:
        for parent in reversed(path.parents):
            if not allowed(os.stat(parent), account, 1):
                return False
        return allowed(os.stat(path), account, want)
    except OSError:
        return False


def first_blocker(path, account, want=4):
    """The first folder on the way to `path` (or `path` itself) that stops `account`, or None."""
    path = Path(os.path.realpath(path))
    for parent in reversed(path.parents):
        if not allowed(os.stat(parent), account, 1):
            return parent
    return None if allowed(os.stat(path), account, want) else path


def readable_tree(root, account, limit=20000):
    """The first file or folder under `root` that `account` can not read (folders: read and
    search), or None when every one of them can be read (at most `limit` are looked at)."""
    seen = 0
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            full = os.path.join(folder, name)
            try:
                st = os.stat(full)
            except OSError:
                continue   # a dangling link nobody can use anyway
            want = 5 if stat.S_ISDIR(st.st_mode) else 4
            if not allowed(st, account, want):
                return Path(full)
            seen += 1
            if seen >= limit:
                return None
    return None
