"""The command line of one sandboxed launch: the launcher, then bubblewrap, then the kernel.

`LaunchPlan` holds everything one launch needs and builds, without starting anything:
- bwrap_args(): the bubblewrap options (namespaces, the seccomp filter, system mounts,
  private /dev, /proc with its host-wide counters covered, /tmp, the binds of Python,
  read-only paths, the ipc folder and the workdir seed, the covers of hidden paths, the
  working tmpfs), then SEED_COMMAND;
- rlimits(): the rlimits in force (those a missing cgroup must stand in for included);
- reveal(): what the launcher must re-expose under folders the sandbox uid cannot cross;
- command(kernel_cmd): the full argv, `python -I -S launcher.py CONFIG bwrap ... kernel`
  (unisolated, mode None: the launcher runs the kernel directly, limits still applied).
"""
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Optional

from . import counters, launcher, seccomp
from .cgroups import Cgroups
from .identity import SANDBOX_GID, SANDBOX_UID, Mode
from .limits import Limits
from .mounts import (blocked_ancestor, inside, outermost, python_paths, reachable, system_binds,
                     system_mounts)

LAUNCHER = os.path.abspath(launcher.__file__)
# Where the host workdir is seen (read-only) inside the sandbox, and the command that
# copies it into the kernel's own tmpfs working folder (the cwd) before exec'ing the kernel.
SEED_DIR = "/kit-files"
SEED_COMMAND = ("/bin/sh", "-c", f'cp -R --preserve=mode,timestamps {SEED_DIR}/. . && exec "$@"', "kit-seed")
BWRAP_ENV = {"PATH": "/usr/bin:/bin"}  # bwrap's own; the kernel's is set with --setenv
# Without a cpu cgroup (one equal share per kernel), a kernel at least yields to the grader.
FALLBACK_NICE = 10


@dataclass
class LaunchPlan:
    """Everything one launch needs; command(kernel_cmd) gives the full argv.

    - mode: a Mode, or None when running unisolated.
    - workdir: the host submission folder (real path); run_dir: the launch's own folder;
      ipc_dir: the connection folder bound read-write, or None; etc_dir: generated /etc
      files, or None.
    - readonly: real paths bound read-only; hidden: real paths covered wherever a bind
      shows them.
    - env: the kernel's whole environment; limits: a Limits; cgroups: a created Cgroups
      or None.
    """
    mode: Optional[Mode]
    bwrap: str
    workdir: str
    run_dir: str
    ipc_dir: Optional[str]
    readonly: list
    env: dict
    limits: Limits
    etc_dir: Optional[str]
    cgroups: Optional[Cgroups] = None
    hidden: list = field(default_factory=list)

    def __post_init__(self):
        if self.mode is not None and not isinstance(self.mode, Mode):
            raise ValueError(f"expected mode to be a kit.sandbox.Mode or None, got "
                             f"{self.mode!r} instead; e.g. Mode.USER")

    @property
    def uid(self):
        return SANDBOX_UID if self.mode is Mode.UID else None

    def rlimits(self):
        """[[RLIMIT_NAME, soft, hard]]: CPU, file size and core always; address space and
        process count where no cgroup limits memory or processes (NPROC only in uid mode:
        elsewhere it would count the grader's own processes)."""
        limits, cg = self.limits, self.cgroups
        result = [["RLIMIT_CPU", limits.cpu_seconds, limits.cpu_seconds + 5],
                  ["RLIMIT_FSIZE", limits.max_file_bytes, limits.max_file_bytes],
                  ["RLIMIT_CORE", 0, 0]]
        if cg is None or cg.memory is None:
            result.append(["RLIMIT_AS", limits.memory_bytes, limits.memory_bytes])
        if (cg is None or cg.pids is None) and self.mode is Mode.UID:
            result.append(["RLIMIT_NPROC", limits.max_processes, limits.max_processes])
        return result

    def _own_binds(self):
        items = [("--ro-bind", p, p) for p in python_paths()]
        # Host-wide counters in /proc another sandbox could move: constant files instead.
        items += [("--ro-bind", src, dest) for src, dest in counters.cover_files(self.run_dir)]
        items += [("--ro-bind", p, p) for p in self.readonly]
        if self.ipc_dir:
            items.append(("--bind", self.ipc_dir, self.ipc_dir))
        # The host workdir is only read: the kernel gets a copy in a tmpfs of its own
        # (see bwrap_args), so nothing it writes can fill the host's disk.
        items.append(("--ro-bind", self.workdir, SEED_DIR) if self.mode is not None else
                     ("--bind", self.workdir, self.workdir))
        return items

    def binds(self):
        """[(option, source, destination)] in mount order (parents before children).

        Besides the binds, ("--tmpfs", None, path) and ("--ro-bind", empty file, path)
        entries cover hidden folders and files (see covers()); at equal depth a cover
        comes after the bind it covers, and binds deeper inside it come after it.
        """
        items = [(option, src, dest, 0) for option, src, dest in self._own_binds()]
        items += [(option, src, dest, 1) for option, src, dest in self.covers()]
        items.sort(key=lambda item: (item[2].count("/"), item[3]))
        return [item[:3] for item in items]

    def covers(self):
        """[(option, source, path)] hiding each hidden path that a bind would show.

        A hidden folder gets an empty tmpfs ("--tmpfs", None, path; mode 0755, remounted
        read-only at the end of set-up, after the binds deeper inside it have made their
        mount points), a hidden file a read-only bind of an empty file. A hidden path
        that no bound folder contains is invisible already; one inside another hidden
        folder (with no bind in between) is hidden by it; in uid mode, one that the
        sandbox uid cannot reach from the bind that shows it is unreachable already, and
        bwrap, running as that uid, could not mount over it.
        """
        if not self.hidden:
            return []
        shown = [dest for _, _, dest in self._own_binds()] + system_binds(self.etc_dir)
        result = []
        for path in sorted(set(self.hidden)):
            if not os.path.lexists(path):
                continue  # nothing there to hide
            containing = [folder for folder in shown if inside(path, folder)]
            if not containing:
                continue
            innermost = max(containing, key=len)
            if any(other != path and inside(path, other) and inside(other, innermost)
                   for other in self.hidden):
                continue
            if self.mode is Mode.UID and not reachable(path, innermost, SANDBOX_UID, SANDBOX_GID):
                continue
            if os.path.isdir(path):
                result.append(("--tmpfs", None, path))
            else:
                result.append(("--ro-bind", self._empty_file(), path))
        return result

    def _empty_file(self):
        path = os.path.join(self.run_dir, "empty")
        if not os.path.exists(path):
            with open(path, "w"):
                pass
            os.chmod(path, 0o444)
        return path

    def reveal(self):
        """What the launcher must re-expose for the sandbox uid, or None."""
        if self.mode is not Mode.UID:
            return None
        sources = [src for _, src, _ in self.binds() if src is not None]
        if self.etc_dir:
            sources.append(self.etc_dir)
        tops, needed = [], []
        for src in sources:
            top = blocked_ancestor(src, SANDBOX_UID, SANDBOX_GID)
            if top:
                needed.append(src)
                if top not in tops:
                    tops.append(top)
        return {"tops": outermost(tops), "sources": needed} if tops else None

    def bwrap_args(self):
        """bubblewrap's argv up to and including SEED_COMMAND (the kernel's argv follows)."""
        args = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--hostname", "sandbox", "--clearenv",
                # The launcher opens the compiled filter (kit/sandbox/seccomp.py) at this fd.
                "--seccomp", str(launcher.SECCOMP_FD)]
        for key in sorted(self.env):
            args += ["--setenv", key, self.env[key]]
        for option, src, dest in system_mounts(self.etc_dir):
            args += [option, src, dest]
        size = str(self.limits.max_file_bytes)
        # /proc read-only as a whole: a process whose uid maps to host root (root mode)
        # could otherwise write host sysctls in /proc/sys, /proc/irq, ... without any
        # capability, and bwrap only covers some of them.
        args += ["--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm",
                 "--proc", "/proc", "--remount-ro", "/proc",
                 "--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
        hidden_folders = []
        for option, src, dest in self.binds():
            if option == "--tmpfs":  # a hidden folder: empty, traversable, read-only below
                args += ["--perms", "0755", "--tmpfs", dest]
                hidden_folders.append(dest)
            else:
                args += [option, src, dest]
        # Only now: binds inside a hidden folder needed their mount points made in it.
        for dest in hidden_folders:
            args += ["--remount-ro", dest]
        # The working folder: a size-limited tmpfs, filled from SEED_DIR before the kernel starts.
        args += ["--perms", "0755", "--size", str(self.limits.workdir_bytes), "--tmpfs", self.workdir]
        # The sandbox's own root (a tmpfs holding the mount points) read-only too.
        args += ["--remount-ro", "/", "--chdir", self.workdir, "--"]
        return args + list(SEED_COMMAND)

    def command(self, kernel_cmd):
        """The full argv that starts `kernel_cmd` in this plan's sandbox."""
        config = {
            "cgroup_procs": self.cgroups.procs_files if self.cgroups else [],
            "seccomp": seccomp.filter_file(self.run_dir) if self.mode is not None else None,
            "reveal": self.reveal(),
            "rlimits": self.rlimits(),
            "nice": FALLBACK_NICE if self.cgroups is None or self.cgroups.cpu is None else 0,
            "uid": self.uid, "gid": SANDBOX_GID if self.uid is not None else None,
            "ppid": os.getpid(),
            "env": self.env if self.mode is None else dict(BWRAP_ENV),
            "cwd": self.workdir if self.mode is None else None,
        }
        wrapped = list(kernel_cmd) if self.mode is None else self.bwrap_args() + list(kernel_cmd)
        return [sys.executable, "-I", "-S", LAUNCHER, json.dumps(config)] + wrapped
