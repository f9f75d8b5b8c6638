"""The host folders of one kernel: the submission folder lent to the sandbox uid, and the
run folder (connection socket, generated /etc files, empty cover file).

Inputs: a real, existing workdir; the isolation Mode.
Returns: lend_workdir/return_workdir (shared by every manager on one workdir: the owner is
restored once, after the last), make_run_dir, and check_readable for read-only paths.
"""
import os
import stat
import tempfile
import threading

from .identity import SANDBOX_GID, SANDBOX_UID
from .mounts import chown_tree

# Workdirs handed to the sandbox uid: {workdir: [original (uid, gid), users]}. Two
# managers on one workdir (a notebook kernel, then a test kernel) restore the owner once.
_lent_workdirs = {}
_lent_lock = threading.Lock()


def lend_workdir(workdir):
    """Give `workdir`'s tree to the sandbox uid; counted, so that return_workdir restores
    the owner only when its last user is done."""
    with _lent_lock:
        entry = _lent_workdirs.get(workdir)
        if entry is None:
            st = os.stat(workdir)
            entry = _lent_workdirs[workdir] = [(st.st_uid, st.st_gid), 0]
        entry[1] += 1
        chown_tree(workdir, SANDBOX_UID, SANDBOX_GID)


def return_workdir(workdir, log):
    """One user of a lent workdir is done; the last one gives the tree back to its owner
    (set-uid/set-gid bits cleared: the sandbox wrote those files)."""
    with _lent_lock:
        entry = _lent_workdirs.get(workdir)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _lent_workdirs[workdir]
        if os.path.isdir(workdir):
            try:
                chown_tree(workdir, *entry[0], strip_setid=True)
            except OSError as err:
                log.warning("sandbox: cannot give %s back to uid %d: %s", workdir, entry[0][0], err)


def relend_workdir(workdir):
    """On a restart: files the student added since are the sandbox's too."""
    chown_tree(workdir, SANDBOX_UID, SANDBOX_GID)


def make_run_dir(workdir, owner_is_sandbox):
    """A fresh /tmp/kitsb-XXXXXXXX with ipc/ (0700; sockets need short paths, ~107 bytes)
    and etc/ (passwd, group, hosts, hostname for the sandbox). Returns its path."""
    run_dir = tempfile.mkdtemp(prefix="kitsb-", dir="/tmp")
    os.chmod(run_dir, 0o755)
    os.mkdir(os.path.join(run_dir, "ipc"), 0o700)
    _write_etc(os.path.join(run_dir, "etc"), workdir)
    if owner_is_sandbox:
        os.chown(os.path.join(run_dir, "ipc"), SANDBOX_UID, SANDBOX_GID)
    return run_dir


def _write_etc(etc, workdir):
    os.mkdir(etc, 0o755)
    uid = SANDBOX_UID if os.geteuid() == 0 else os.getuid()
    gid = SANDBOX_GID if os.geteuid() == 0 else os.getgid()
    files = {
        "passwd": f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
                  f"sandbox:x:{uid}:{gid}:sandbox:{workdir}:/usr/sbin/nologin\n",
        "group": f"root:x:0:\nsandbox:x:{gid}:\n",
        "hosts": "127.0.0.1 localhost sandbox\n::1 localhost\n",
        "hostname": "sandbox\n",
    }
    for name, text in files.items():
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(etc, name), 0o644)


def check_readable(readonly, log):
    """Warn about read-only paths the sandbox uid could not read (bind mounts keep modes)."""
    for path in readonly:
        st = os.stat(path)
        need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(st.st_mode) else 0)
        if st.st_mode & need != need and st.st_uid != SANDBOX_UID:
            log.warning("sandbox: %s (mode %o) is not readable by uid %d inside the "
                        "sandbox; make it world-readable (chmod o+rX)",
                        path, stat.S_IMODE(st.st_mode), SANDBOX_UID)
