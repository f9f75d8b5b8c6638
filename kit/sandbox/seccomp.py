"""The seccomp filter of every sandboxed kernel: system calls grading never needs are refused.

Namespaces keep a kernel from seeing the host; they do not keep two sandboxes that run at
the same time from signalling to each other through state the kernel keeps per file or per
user rather than per namespace. Both sandboxes see the same read-only files (the Python
installation, the CIFAR-10 folder, the submission's seed folder), and in uid mode they run
as the same uid. So, besides what bubblewrap already forbids, a kernel may not:

- lock files or watch them (fcntl record and OFD locks, flock, leases, dnotify, inotify,
  fanotify): a lock on a shared read-only file is visible to every process that opens it,
  so it carries bytes between sandboxes (the channel a red-team submission used);
- keep state in the kernel's per-user tables (keyrings, POSIX message queues) or look into
  another process (ptrace, process_vm_*, kcmp, pidfd_getfd);
- evict or probe the page cache of shared files (mincore, cachestat; posix_fadvise;
  madvise's MADV_COLD/MADV_PAGEOUT), a timing channel with a large signal;
- read the host-wide counters of sysinfo (number of processes, free memory), which another
  sandbox moves at will (the same counters in /proc are covered: kit.sandbox.command);
- reach kernel interfaces that widen the attack surface and that no numpy code uses
  (bpf, perf_event_open, userfaultfd, io_uring, kernel modules, kexec, reboot, swap,
  clock setting, quotas, open_by_handle_at, TIOCSTI);
- make namespaces or mounts (mount, umount2, pivot_root, chroot, the new mount API,
  unshare, setns, clone with a CLONE_NEW* flag). clone3 answers ENOSYS, as in container
  runtimes: its flags sit in memory the filter cannot read, and the C library then falls
  back to clone, whose flags it can.

Every refusal is EPERM (ENOSYS for clone3), never a kill: Python code sees an OSError it
can report, and a library that tries a lock (SQLite, IPython's history) gets an error it
handles. System calls of another architecture (32-bit calls from a 64-bit process) are
killed by libseccomp's default for a foreign architecture.

Inputs: nothing (the machine's architecture, through libseccomp).
Returns: `filter_file(folder)`, the path of the compiled BPF program for bubblewrap's
`--seccomp FD`, and `DENIED`, the reviewed list (docs/sandbox.md explains it).
The program is made by libseccomp (the Debian package libseccomp2, through the `seccomp`
bindings where installed, else `pyseccomp`, ctypes bindings with the same API).
"""
import errno
import os

try:  # libseccomp's own Python bindings, where the system has them
    import seccomp as _libseccomp
except ImportError:
    try:  # the same API over ctypes, from PyPI (see pyproject.toml)
        import pyseccomp as _libseccomp
    except (ImportError, OSError, AttributeError) as err:  # no libseccomp.so.2 on the machine
        _libseccomp, _MISSING = None, err

# fcntl commands (asm-generic/fcntl.h, the same on every Linux architecture the kit runs on)
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_SETLEASE, F_GETLEASE, F_NOTIFY = 1024, 1025, 1026
LOCK_COMMANDS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
                 F_SETLEASE, F_GETLEASE, F_NOTIFY)
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
MADV_COLD, MADV_PAGEOUT = 20, 21
CLONE_NEW_FLAGS = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000,
                   "CLONE_NEWUTS": 0x04000000, "CLONE_NEWIPC": 0x08000000,
                   "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
                   "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080}

# Refused whatever their arguments, grouped by why (the module docstring says more).
DENIED = {
    "locks and watches on shared files": (
        "flock", "inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_init",
        "fanotify_mark"),
    "per-user kernel state and other processes": (
        "keyctl", "add_key", "request_key", "mq_open", "mq_unlink", "mq_timedsend",
        "mq_timedreceive", "mq_notify", "mq_getsetattr", "ptrace", "process_vm_readv",
        "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise", "process_mrelease"),
    "page-cache probes": ("mincore", "fadvise64", "fadvise64_64", "arm_fadvise64_64",
                          "cachestat"),
    "kernel attack surface": (
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
        "io_uring_register", "init_module", "finit_module", "delete_module", "kexec_load",
        "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl",
        "quotactl_fd", "lookup_dcookie", "ioperm", "iopl", "settimeofday", "clock_settime",
        "clock_adjtime", "adjtimex", "name_to_handle_at", "open_by_handle_at", "uselib",
        "vhangup", "nfsservctl", "memfd_secret", "sethostname", "setdomainname"),
    "host-wide counters": ("sysinfo",),
    "namespaces and mounts": (
        "mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns",
        "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
        "mount_setattr"),
}
# Refused only with these arguments: (system call, argument index, values).
DENIED_ARGUMENTS = (
    ("fcntl", 1, LOCK_COMMANDS),
    ("fcntl64", 1, LOCK_COMMANDS),
    ("ioctl", 1, (TIOCSTI, TIOCLINUX)),
    ("madvise", 2, (MADV_COLD, MADV_PAGEOUT)),
)
FILE_NAME = "seccomp.bpf"


def build():
    """The filter as a libseccomp SyscallFilter (allow by default, refuse the reviewed list).

    A name this architecture does not have (fcntl64 on x86_64, say) is skipped: there is
    no such call to refuse."""
    lib = _libseccomp
    if lib is None:
        raise RuntimeError(f"the sandbox's seccomp filter needs libseccomp, which did not load "
                           f"({_MISSING}); install it (Debian: apt-get install libseccomp2; "
                           f"Python: pip install pyseccomp)")
    refuse = lib.ERRNO(errno.EPERM)
    f = lib.SyscallFilter(defaction=lib.ALLOW)

    def add(action, name, *args):
        try:
            f.add_rule(action, name, *args)
        except (RuntimeError, ValueError, OSError):
            pass  # not a system call of this architecture

    for names in DENIED.values():
        for name in dict.fromkeys(names):
            add(refuse, name)
    for name, index, values in DENIED_ARGUMENTS:
        for value in values:
            add(refuse, name, lib.Arg(index, lib.EQ, value))
    for flag in CLONE_NEW_FLAGS.values():
        add(refuse, "clone", lib.Arg(0, lib.MASKED_EQ, flag, flag))
    add(lib.ERRNO(errno.ENOSYS), "clone3")
    return f


def filter_file(folder):
    """Write the compiled program into `folder` (once) and return its path.

    Inputs: folder, a directory the grader owns (the launch's run folder).
    Returns the path of a file holding the BPF program, readable by the launcher.
    """
    path = os.path.join(folder, FILE_NAME)
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as out:
            build().export_bpf(out)
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)
    return path
