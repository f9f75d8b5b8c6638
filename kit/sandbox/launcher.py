"""The first process of every sandboxed kernel: set the sandbox up, then exec bubblewrap.

Run as `python -I -S launcher.py CONFIG_JSON COMMAND...` by the kernel manager (never
imported there except for FAILED): no site, no imports of the kit, so it starts fast and
does not depend on the grader's environment. It runs on the host, as the grader's user
(root in uid mode), before any namespace exists.

Inputs (CONFIG_JSON, written by kit.sandbox.command.LaunchPlan.command):
- cgroup_procs: cgroup.procs files to join (so every descendant is counted and killable);
- seccomp: the compiled filter to open at SECCOMP_FD for bubblewrap's --seccomp, or None;
- reveal: None, or {"tops": folders to cover with a tmpfs, "sources": paths to bind back}:
  paths under folders the sandbox uid cannot traverse (e.g. Python under /root), shown
  again in a private mount namespace the host never sees;
- rlimits: [[RLIMIT_NAME, soft, hard]];
- nice: how much lower the kernel's priority is (where no cpu cgroup shares the cores);
- uid, gid: the identity to drop to, or None to stay;
- ppid: the grader's pid (dying with it, without a start-up race);
- env: the environment of COMMAND; cwd: where to run it, or None.
Returns: never (execs COMMAND); exits FAILED and says why on stderr when a step fails.
"""
import ctypes
import json
import os
import resource
import signal
import sys

FAILED = 121         # the sandbox could not be set up (kit.sandbox.diagnosis names it)
PARENT_GONE = 122    # the grader died before the death signal was armed
CLONE_NEWNS, MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 2, 4, 4096, 16384, 0x40000
PR_SET_PDEATHSIG = 1
SECCOMP_FD = 3       # bubblewrap reads the filter from here (kit.sandbox.command passes it)


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def join_cgroups(procs_files):
    for path in procs_files:
        with open(path, "w") as f:
            f.write(str(os.getpid()))


def reveal(plan, libc):
    """Cover each untraversable top folder with a tmpfs and bind back only the needed paths
    (opened before they are covered), in a private mount namespace."""
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    opened = [(src, os.path.isdir(src), os.open(src, os.O_PATH)) for src in plan["sources"]]
    for top in plan["tops"]:
        _check(libc.mount(b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                          b"mode=0755,size=1m"), "tmpfs on " + top)
    for src, is_dir, fd in opened:
        if is_dir:
            os.makedirs(src, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(src), exist_ok=True)
            open(src, "a").close()
        _check(libc.mount(("/proc/self/fd/%d" % fd).encode(), src.encode(), None,
                          MS_BIND | MS_REC, None), "bind " + src)
        os.close(fd)


def open_filter(path):
    """Open the seccomp program at SECCOMP_FD, inheritable, for bubblewrap to read (it
    installs the filter just before it execs the kernel, and closes the fd)."""
    fd = os.open(path, os.O_RDONLY)
    if fd != SECCOMP_FD:
        os.dup2(fd, SECCOMP_FD)
        os.close(fd)
    os.set_inheritable(SECCOMP_FD, True)


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def main(config, argv):
    libc = ctypes.CDLL(None, use_errno=True)
    join_cgroups(config["cgroup_procs"])
    if config["reveal"]:
        reveal(config["reveal"], libc)
    for name, soft, hard in config["rlimits"]:
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if config["nice"]:
        os.nice(config["nice"])
    os.closerange(3, 1 << 16)  # nothing of the grader's leaks into the kernel
    if config["seccomp"]:
        open_filter(config["seccomp"])
    if config["uid"] is not None:
        drop_privileges(config["uid"], config["gid"])
    _check(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != config["ppid"]:
        os._exit(PARENT_GONE)
    if config["cwd"]:
        os.chdir(config["cwd"])
    os.execve(argv[0], argv, config["env"])


if __name__ == "__main__":
    try:
        main(json.loads(sys.argv[1]), sys.argv[2:])
    except BaseException as exc:  # anything at all: the grader must learn why, not hang
        os.write(2, ("kit.sandbox launcher: %s: %s\n" % (type(exc).__name__, exc)).encode())
        os._exit(FAILED)
