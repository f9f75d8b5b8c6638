"""Jupyter kernels for untrusted student code, isolated with bubblewrap on plain Linux.

Use it wherever a jupyter_client KernelManager is accepted:

    from kit.sandbox import AsyncSandboxedKernelManager, Limits, GiB, death_reason
    km = AsyncSandboxedKernelManager(workdir=submission_dir, readonly_paths=[data_dir],
                                     limits=Limits(memory_bytes=4 * GiB))
    client = NotebookClient(nb, km=km, timeout=600, allow_errors=True)
    async with client.async_setup_kernel(cleanup_kc=True, env={"KIT_QUICK": "1"}):
        ...  # on DeadKernelError: death_reason(km) -> "the kernel died: memory limit ..."

`kernel_manager(workdir, readonly=[...])` builds one for short. nbclient does NOT shut
down a kernel manager it was given unless `cleanup_kc=True` (or call
`km.shutdown_kernel(now=True)` yourself); a manager that is garbage-collected or still
alive at exit has its sandbox killed and cleaned anyway. `SandboxedKernelManager` is the
blocking variant (a `jupyter_client.KernelManager`, e.g. nbgrader's kernel_manager_class).

What the kernel sees (bubblewrap 0.8, `--unshare-all --unshare-user --disable-userns
--die-with-parent --new-session --cap-drop ALL --clearenv`):
- no network: a new network namespace holding only `lo` (its 127.0.0.1 is the sandbox's
  own, empty loopback); its own pid, ipc, uts (hostname "sandbox") and cgroup namespaces;
  no new user namespaces inside, no capabilities, so no mounts;
- a minimal file system: /usr (with the /bin, /lib* links) read-only; from /etc only the
  loader cache and config, localtime, nsswitch.conf, fonts/ and generated passwd, group,
  hosts, hostname; the Python installation (sys.prefix, sys.base_prefix, site-packages
  and the folders their .pth files name) read-only; a fresh /dev; a fresh /proc mounted
  read-only as a whole; a private /tmp and /dev/shm (tmpfs, `max_file_bytes` each);
  `readonly_paths` read-only; `workdir` read-write (cwd and $HOME); the sandbox's own
  root read-only. Nothing else: not /root, /home, /sys, nor the course folder;
- hidden paths (`hidden_paths`, e.g. the kit's own repository with the reference
  solutions, which an editable install's .pth or a bound parent folder would show):
  where one of the folders above contains a hidden folder, an empty tmpfs (mode 0755,
  read-only) covers it, mounted after that bind and before the binds deeper inside it,
  so a readonly path inside a hidden folder stays visible; a hidden file is covered by
  an empty read-only file. Paths are compared as real paths (the same folder reached
  through a host bind mount or a hard-linked file elsewhere is not covered); a hidden
  path missing at start is not covered; one outside every bound folder is invisible
  anyway;
- environment (--clearenv): PATH, HOME=workdir, LANG, MPLBACKEND=Agg,
  PYTHONDONTWRITEBYTECODE=1, TMPDIR=/tmp, MPLCONFIGDIR/IPYTHONDIR/XDG_* under the
  private /tmp (no dot-folders land in the submission), JPY_PARENT_PID=1; from the host
  only OPENBLAS/OMP/MKL/NUMEXPR/VECLIB thread counts and KIT_QUICK when set
  (`env_passthrough`); plus the `env=` dict given to start_kernel (what nbclient's
  async_setup_kernel(env=...) passes; LD_* and PYTHON* except a few are dropped, and a
  dict equal to os.environ is ignored), plus `extra_env`.

Who the kernel runs as ("uid" mode, whenever the grader runs as root): host uid/gid
65534 (nobody, SANDBOX_UID). A launcher (`_LAUNCHER_SOURCE`, `python -I -S -c`, no
preexec_fn) joins the cgroups, sets rlimits, drops to 65534 and execs bwrap, which then
creates an unprivileged user namespace mapping 65534 to itself. So RLIMIT_NPROC counts
sandbox processes only, and escaping the namespaces would leave an unprivileged user.
- Python lives under /root (0700), which 65534 cannot traverse, and bwrap resolves every
  bind source (even --ro-bind-fd, via realpath) by path as the calling user; bind mounts
  keep modes, and chmod on the host is not wanted. So the launcher, still root, unshares
  a private mount namespace (propagation private: the host never sees it), mounts a
  small tmpfs (mode 0755) over each untraversable ancestor (/root, /tmp/pytest-of-root,
  ...) and bind-mounts back only the needed paths, opened before. Files inside those
  paths must be world-readable (pyenv's are; a read-only path that is not gets a warning).
- workdir must be writable by 65534: its tree is lchown'ed (symlinks never followed) to
  65534 at start and back to its owner after the last manager using it shuts down
  (set-uid/set-gid bits cleared). Files the kernel leaves are thus the owner's again.
Other modes: a non-root grader runs the kernel as itself ("user" mode). If root cannot
create unprivileged user namespaces (e.g. Ubuntu's AppArmor restriction), bwrap runs as
root with a user namespace mapping 0 to host 0 and no capabilities ("root" mode, weaker:
such a process still passes root's file-mode checks wherever it can reach, which is why
/proc is read-only in every mode: otherwise it could write host sysctls; RLIMIT_NPROC is
not used there). `isolation_status()` says which mode is used.

Limits (`Limits`: cpu_seconds, memory_bytes, max_processes, max_file_bytes):
- memory and processes: one cgroup per kernel launch, below the grader's own cgroup:
  v2 (memory.max, memory.swap.max=0, memory.oom.group=1, pids.max) where those
  controllers are available, else v1 (memory.limit_in_bytes + memsw, pids.max). Threads
  count as processes. Without a writable memory cgroup: RLIMIT_AS = memory_bytes (per
  process; ipykernel with numpy needs about 1 GiB of address space to run at all).
  Without a writable pids cgroup: RLIMIT_NPROC = max_processes (uid mode only; the count
  is shared by all sandboxes running at the same time).
- CPU: RLIMIT_CPU (per process; SIGXCPU kills the kernel). Files: RLIMIT_FSIZE (a write
  past it fails with OSError EFBIG: Python ignores SIGXFSZ). No core dumps.
- On this VM (root; cgroup v1 memory and pids writable; cgroup v2 mounted without
  controllers, used only for cgroup.kill): memory and processes by cgroup v1, CPU and
  file size by rlimits. `km.enforcement` tells what is in force for a started kernel.
After shutdown (and at exit), everything left in the kernel's cgroups is killed
(cgroup.kill where a v2 group exists, then SIGKILL over cgroup.procs until empty), since
--die-with-parent alone has a start-up race; the cgroups and the run folder are then
removed and the workdir given back. Counters are kept for `limit_hit(km)`.

Transport: ipc (unix sockets) in /tmp/kitsb-XXXXXXXX/ipc (socket paths over ~107 bytes
fail), bound read-write into the sandbox, connection file included. Interrupts are sent
as messages (kernel_spec.interrupt_mode = "message"): a signal to bwrap would not reach
the kernel. nbclient's interrupt_on_timeout works.

Start-up overhead, measured on this VM (2 CPUs, other jobs running), medians of 10:
launching `python -c pass` takes 0.074 s plain, 0.119 s sandboxed, 0.133 s with the
cgroups set up and removed, i.e. about +0.06 s per kernel (launcher ~25 ms, bwrap and
namespaces ~20 ms, cgroups ~15 ms). Kernel start to first executed cell (`1+1`): 1.42 s
plain (ipc) vs 1.44 s sandboxed, the difference lost in the noise. `import numpy,
matplotlib.pyplot` as first cell: 2.44 s plain vs 2.72 s sandboxed, since matplotlib
rebuilds its font cache in the private /tmp in every new kernel (~0.3 s). The first
isolation_status() probe costs 0.07-0.13 s once per process.

Known limits: no seccomp filter (the kernel's whole syscall surface stays reachable,
without capabilities, user namespaces or network); /proc shows host-wide information
(meminfo, cpuinfo, loadavg, kernel version); uid 65534 is shared with other sandboxes and
with host daemons running as nobody (set SANDBOX_UID/SANDBOX_GID to an unused id for
more separation); RLIMIT_CPU and RLIMIT_FSIZE are per process and there is no disk
quota (many files of max_file_bytes can still fill the workdir's disk; total CPU is
bounded by the caller's timeouts); the kernel controls its socket folder, so it could
replace a socket by a symlink that the grader's zmq then connects to on reconnect;
--die-with-parent follows the thread that started the kernel (nbclient's is long-lived;
the cgroup kill covers the rest); without cgroups, memory is bounded per process only.
A launcher that cannot set the sandbox up exits with code 121 and says why on stderr.
"""
import atexit
import json
import os
import re
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
import weakref
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from jupyter_client import AsyncKernelManager, KernelManager
from jupyter_core.utils import run_sync
from traitlets import Any, Bool, Dict, List, TraitError, Unicode, validate

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
SANDBOX_UID = 65534
SANDBOX_GID = 65534
LAUNCHER_FAILED = 121  # exit code of the launcher when it cannot set the sandbox up
# Where the host workdir is seen (read-only) inside the sandbox, and the command that
# copies it into the kernel's own tmpfs working folder (the cwd) before exec'ing the kernel.
SEED_DIR = "/kit-files"
SEED_COMMAND = ("/bin/sh", "-c", f'cp -R --preserve=mode,timestamps {SEED_DIR}/. . && exec "$@"', "kit-seed")

# Host variables worth forwarding when set: thread counts of the numeric libraries and
# the kit's quick setting. Everything else stays outside.
DEFAULT_ENV_PASSTHROUGH = (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "KIT_QUICK",
)
# Never forwarded, even from an explicit env: they would change what code runs.
_ENV_BLOCKLIST = re.compile(
    r"^(LD_|PYTHON(?!DONTWRITEBYTECODE$|UNBUFFERED$|HASHSEED$)|BASH_ENV$|ENV$)")
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "fonts")
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # bound, or linked into /usr


class SandboxUnavailableError(RuntimeError):
    """bubblewrap cannot isolate kernels here and require_isolation was set."""


class SandboxWarning(UserWarning):
    """Kernels run without isolation (rlimits and cgroups only)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (defaults fit grading a CIFAR-10 notebook).

    - cpu_seconds: CPU time of the kernel process (RLIMIT_CPU); int > 0.
    - memory_bytes: memory of the whole sandbox (cgroup), else address space per process.
    - max_processes: processes + threads of the whole sandbox (cgroup), else RLIMIT_NPROC.
    - max_file_bytes: size of any one written file (RLIMIT_FSIZE); also the size of the
      private /tmp and /dev/shm.
    - workdir_bytes: size of the kernel's working folder, a tmpfs seeded with a copy of
      the host workdir (writes never reach the host disk: a full quota fails with ENOSPC).
    """
    cpu_seconds: int = 3600
    memory_bytes: int = 4 * GiB
    max_processes: int = 64
    max_file_bytes: int = 512 * MiB
    workdir_bytes: int = 256 * MiB

    def __post_init__(self):
        minimum = {"cpu_seconds": 1, "memory_bytes": 64 * MiB, "max_processes": 8,
                   "max_file_bytes": 1 * MiB, "workdir_bytes": 1 * MiB}
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"expected Limits.{name} to be an int >= {low}, got {value!r} "
                                 f"instead; pass e.g. Limits({name}={getattr(Limits, name)})")

    def describe(self, kind):
        """Human text of one limit, e.g. describe('memory') -> 'memory limit (4 GiB)'."""
        text = {"memory": f"memory limit ({format_bytes(self.memory_bytes)})",
                "processes": f"process limit ({self.max_processes} processes/threads)",
                "cpu": f"CPU time limit ({self.cpu_seconds} s)",
                "file_size": f"file size limit ({format_bytes(self.max_file_bytes)})"}
        if kind not in text:
            raise ValueError(f"expected one of {sorted(text)}, got {kind!r} instead")
        return text[kind]


class LimitHit(NamedTuple):
    """Which limit stopped the code: kind in memory/processes/cpu/file_size, and a message."""
    kind: str
    message: str

    def __str__(self):
        return self.message


def format_bytes(n):
    """1073741824 -> '1 GiB', 536870912 -> '512 MiB', 1500 -> '1500 bytes'."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


# ------------------------------------------------------------------ the launcher
# Runs as `python -I -S -c _LAUNCHER_SOURCE CONFIG_JSON COMMAND...` (no site, no imports
# of ours: fast and independent of the caller's environment). Steps: join the cgroups,
# reveal paths under untraversable folders in a private mount namespace, set rlimits,
# close inherited descriptors, drop to the sandbox uid, die with the parent, exec.
_LAUNCHER_SOURCE = r'''
import ctypes, json, os, resource, signal, sys
cfg = json.loads(sys.argv[1]); argv = sys.argv[2:]
CLONE_NEWNS, MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 2, 4, 4096, 16384, 0x40000
PR_SET_PDEATHSIG = 1
try:
    libc = ctypes.CDLL(None, use_errno=True)
    def check(rc, what):
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, "%s: %s" % (what, os.strerror(err)))
    for path in cfg["cgroup_procs"]:
        with open(path, "w") as f:
            f.write(str(os.getpid()))
    reveal = cfg["reveal"]
    if reveal:
        check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        opened = [(src, os.path.isdir(src), os.open(src, os.O_PATH)) for src in reveal["sources"]]
        for top in reveal["tops"]:
            check(libc.mount(b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                             b"mode=0755,size=1m"), "tmpfs on " + top)
        for src, is_dir, fd in opened:
            if is_dir:
                os.makedirs(src, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(src), exist_ok=True)
                open(src, "a").close()
            check(libc.mount(("/proc/self/fd/%d" % fd).encode(), src.encode(), None,
                             MS_BIND | MS_REC, None), "bind " + src)
            os.close(fd)
    for name, soft, hard in cfg["rlimits"]:
        resource.setrlimit(getattr(resource, name), (soft, hard))
    os.closerange(3, 1 << 16)
    if cfg["uid"] is not None:
        os.setgroups([])
        os.setgid(cfg["gid"])
        os.setuid(cfg["uid"])
    check(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != cfg["ppid"]:  # the grader died before PR_SET_PDEATHSIG was set
        os._exit(122)
    if cfg["cwd"]:
        os.chdir(cfg["cwd"])
    os.execve(argv[0], argv, cfg["env"])
except BaseException as exc:
    os.write(2, ("kit.sandbox launcher: %s: %s\n" % (type(exc).__name__, exc)).encode())
    os._exit(121)
'''


# ------------------------------------------------------------------ cgroups


def _unescape_mount(path):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _cgroup_hierarchies():
    """[(version, controllers, our cgroup folder)] for every mounted cgroup hierarchy."""
    try:
        with open("/proc/self/cgroup") as f:
            own = [line.rstrip("\n").split(":", 2) for line in f if line.strip()]
        with open("/proc/self/mountinfo") as f:
            mounts = f.read().splitlines()
    except OSError:
        return []
    found, seen = [], set()
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        root, mountpoint = _unescape_mount(fields[3]), _unescape_mount(fields[4])
        if rest[0] == "cgroup2":
            paths = [p for _, ctrls, p in own if ctrls == ""]
            controllers = None  # read from cgroup.controllers when used
        else:
            options = set(rest[2].split(","))
            paths = [p for _, ctrls, p in own if ctrls and set(ctrls.split(",")) <= options]
            controllers = {c for c in options if c in ("memory", "pids")}
            if not controllers:
                continue
        if not paths or not paths[0].startswith(root) or mountpoint in seen:
            continue
        seen.add(mountpoint)
        relative = paths[0][len(root):].lstrip("/")
        folder = os.path.join(mountpoint, relative) if relative else mountpoint
        found.append((2 if rest[0] == "cgroup2" else 1, controllers, folder))
    return found


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def _read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def _process_state(pid):
    """'R', 'S', 'Z', ... from /proc/PID/stat, '' when gone."""
    return _read(f"/proc/{pid}/stat").rpartition(")")[2][:3].strip()


def _keyed(text):
    """'oom_kill 3\\nmax 0' -> {'oom_kill': 3, 'max': 0}."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


class _Cgroups:
    """The cgroups of one kernel launch: memory and pids limits, membership, kill, events."""

    def __init__(self, limits, log):
        self.limits, self.log = limits, log
        self.memory = self.pids = self.unified = None  # (version, folder)
        self.folders, self.notes = [], []

    def create(self):
        name = f"kit-sandbox-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        hierarchies = _cgroup_hierarchies()
        # cgroup v2 first: it also gives cgroup.kill, even without controllers.
        for version, controllers, parent in sorted(hierarchies, key=lambda h: -h[0]):
            if version == 2:
                self._create_v2(parent, name)
        for version, controllers, parent in hierarchies:
            wanted = [c for c in sorted(controllers or ()) if getattr(self, c) is None]
            if version == 1 and wanted:
                folder = self._mkdir(os.path.join(parent, name))
                if folder is None:
                    continue
                for controller in wanted:
                    try:
                        self._limit(controller, 1, folder)
                        setattr(self, controller, (1, folder))
                    except OSError as err:
                        self.notes.append(f"cgroup v1 {controller}: {err}")
        if self.memory is None:
            self.notes.append("no writable memory cgroup: memory is limited by RLIMIT_AS")
        if self.pids is None:
            self.notes.append("no writable pids cgroup: processes are limited by RLIMIT_NPROC")
        return self

    def _create_v2(self, parent, name):
        available = set(_read(os.path.join(parent, "cgroup.controllers")).split())
        enabled = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
        for controller in ("memory", "pids"):
            if controller in available and controller not in enabled:
                try:  # fails (EBUSY) when our own cgroup holds processes and is not the root
                    _write(os.path.join(parent, "cgroup.subtree_control"), "+" + controller)
                    enabled.add(controller)
                except OSError as err:
                    self.notes.append(f"cgroup v2 {controller} not delegated: {err}")
        folder = self._mkdir(os.path.join(parent, name))
        if folder is None:
            return
        self.unified = (2, folder)
        for controller in ("memory", "pids"):
            if controller in enabled:
                try:
                    self._limit(controller, 2, folder)
                    setattr(self, controller, (2, folder))
                except OSError as err:
                    self.notes.append(f"cgroup v2 {controller}: {err}")

    def _mkdir(self, folder):
        try:
            os.mkdir(folder)
        except OSError as err:
            self.notes.append(f"cannot create {folder}: {err}")
            return None
        self.folders.append(folder)
        return folder

    def _limit(self, controller, version, folder):
        limits = self.limits
        if controller == "pids":
            _write(os.path.join(folder, "pids.max"), limits.max_processes)
        elif version == 2:
            _write(os.path.join(folder, "memory.max"), limits.memory_bytes)
            for key, value in (("memory.swap.max", 0), ("memory.oom.group", 1)):
                try:
                    _write(os.path.join(folder, key), value)
                except OSError:
                    pass  # older kernels or no swap accounting: memory.max still holds
        else:
            _write(os.path.join(folder, "memory.limit_in_bytes"), limits.memory_bytes)
            for key, value in (("memory.memsw.limit_in_bytes", limits.memory_bytes),
                               ("memory.swappiness", 0)):
                try:
                    _write(os.path.join(folder, key), value)
                except OSError:
                    pass

    @property
    def procs_files(self):
        return [os.path.join(folder, "cgroup.procs") for folder in self.folders]

    def events(self):
        """Counters so far: oom_kills, memory_peak (bytes or None), pids_max_hits."""
        result = {"oom_kills": 0, "memory_peak": None, "pids_max_hits": 0}
        if self.memory:
            version, folder = self.memory
            events, peak = (("memory.events", "memory.peak") if version == 2 else
                            ("memory.oom_control", "memory.max_usage_in_bytes"))
            result["oom_kills"] = _keyed(_read(os.path.join(folder, events))).get("oom_kill", 0)
            peak = _read(os.path.join(folder, peak)).strip()
            result["memory_peak"] = int(peak) if peak.isdigit() else None
        if self.pids:
            events = _read(os.path.join(self.pids[1], "pids.events"))
            result["pids_max_hits"] = _keyed(events).get("max", 0)
        return result

    def members(self):
        """Live pids in the cgroups (zombies left out: they wait for their parent only)."""
        pids = set()
        for path in self.procs_files:
            pids.update(int(p) for p in _read(path).split() if p.isdigit())
        return {pid for pid in pids if _process_state(pid) != "Z"}

    def kill(self, timeout=5.0):
        """SIGKILL everything in the cgroups; True when they are empty."""
        if self.unified and os.path.exists(os.path.join(self.unified[1], "cgroup.kill")):
            try:
                _write(os.path.join(self.unified[1], "cgroup.kill"), 1)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            members = self.members()
            if not members:
                return True
            if time.monotonic() > deadline:
                self.log.warning("sandbox: processes %s survived SIGKILL", sorted(members))
                return False
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        for folder in reversed(self.folders):
            while True:
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError as err:  # EBUSY while exiting tasks are released
                    if time.monotonic() > deadline:
                        self.log.warning("sandbox: cannot remove cgroup %s: %s", folder, err)
                        break
                    time.sleep(0.02)
        self.folders = []


# ------------------------------------------------------------------ isolation probe

_probe_lock = threading.Lock()
_probe_cache = {}
_warned = False


def _bwrap_path(bwrap=None):
    return bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"


def isolation_status(bwrap=None):
    """Can kernels be isolated here?

    Inputs:
    - bwrap: path of the bubblewrap binary (default: `bwrap` on PATH, else /usr/bin/bwrap).

    Returns a tuple (available, reason): available is a bool; reason is one line saying
    how kernels will run (which uid, which mode) or why isolation is not possible. The
    result is probed once (a tiny real sandbox is started) and cached per bwrap path.
    """
    available, reason, _ = _probe(_bwrap_path(bwrap))
    return available, reason


def _probe(bwrap):
    """(available, reason, mode) with mode in uid/user/root or None; cached."""
    with _probe_lock:
        if bwrap not in _probe_cache:
            _probe_cache[bwrap] = _run_probe(bwrap)
        return _probe_cache[bwrap]


def _candidate_modes():
    return ["uid", "root"] if os.geteuid() == 0 else ["user"]


def _run_probe(bwrap):
    if sys.platform != "linux":
        return False, f"bubblewrap needs Linux, this is {sys.platform}", None
    if not (os.path.isfile(bwrap) and os.access(bwrap, os.X_OK)):
        return False, (f"bubblewrap not found at {bwrap}; install it "
                       "(apt-get install bubblewrap)"), None
    failures = []
    for mode in _candidate_modes():
        work = tempfile.mkdtemp(prefix="kitsb-probe-")
        try:
            plan = _Plan(mode=mode, bwrap=bwrap, workdir=work, run_dir=work, ipc_dir=None,
                         readonly=[], env={"PATH": "/usr/bin:/bin"}, limits=Limits(), etc_dir=None)
            if mode == "uid":
                os.chown(work, SANDBOX_UID, SANDBOX_GID)
            check = ("import os; assert os.getcwd() == %r; "
                     "assert open('/proc/self/status').read().count('CapEff:\\t0000000000000000')"
                     % work)
            command = plan.command([sys.executable, "-I", "-S", "-c", check])
            result = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if result.returncode == 0:
                who = {"uid": f"as uid {SANDBOX_UID} in an unprivileged user namespace",
                       "user": f"as uid {os.getuid()} (the caller) in a user namespace",
                       "root": "as root in a user namespace with all capabilities dropped "
                               "(weaker: unprivileged user namespaces are not allowed here)"}[mode]
                why = f" ({'; '.join(failures)})" if failures else ""
                return True, f"bubblewrap isolates kernels ({bwrap}), {who}{why}", mode
            failures.append(f"{mode} mode: {(result.stderr or result.stdout).strip()[-300:]}")
        except (OSError, subprocess.SubprocessError) as err:
            failures.append(f"{mode} mode: {type(err).__name__}: {err}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return False, "bubblewrap cannot create a sandbox here: " + "; ".join(failures), None


def _warn_unisolated(reason):
    """Say once per process, loudly, that kernels run without isolation."""
    global _warned
    if _warned:
        return
    _warned = True
    banner = "\n".join([
        "!" * 78,
        "!! kit.sandbox: student kernels run WITHOUT isolation (rlimits and cgroups only):",
        "!! " + reason,
        "!! Set require_isolation=True to refuse instead.",
        "!" * 78])
    print(banner, file=sys.stderr, flush=True)
    warnings.warn("kernels run without isolation: " + reason, SandboxWarning, stacklevel=3)


# ------------------------------------------------------------------ paths


def _python_paths():
    """Folders the kernel's Python needs, read-only: prefixes, site dirs, .pth targets."""
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    sites = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        sites.append(site.getusersitepackages())
    for folder in sites:
        if not os.path.isdir(folder):
            continue
        paths.add(os.path.realpath(folder))
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".pth"):
                continue
            for line in _read(os.path.join(folder, name)).splitlines():
                line = line.strip()
                if line.startswith("/") and not line.startswith("import") and os.path.isdir(line):
                    paths.add(os.path.realpath(line))
    return _outermost(p for p in paths if not _inside(p, "/usr"))


def _system_mounts(etc_dir):
    """The host system every sandbox shows, as (option, source, destination): /usr, the
    /bin and /lib* folders (or their links into /usr), the /etc files taken from the host
    and those generated for the sandbox in etc_dir."""
    mounts = [("--ro-bind", "/usr", "/usr")]
    for name in _ROOT_LINKS:
        path = "/" + name
        if os.path.islink(path):
            mounts.append(("--symlink", os.readlink(path), path))
        elif os.path.isdir(path):
            mounts.append(("--ro-bind", path, path))
    generated = sorted(os.listdir(etc_dir)) if etc_dir and os.path.isdir(etc_dir) else []
    mounts += [("--ro-bind-try", "/etc/" + name, "/etc/" + name)
               for name in _ETC_FILES if name not in generated]
    mounts += [("--ro-bind", os.path.join(etc_dir, name), "/etc/" + name) for name in generated]
    return mounts


def _system_binds(etc_dir):
    """The host paths _system_mounts shows at their own path (links and absent files left out)."""
    return [dest for option, src, dest in _system_mounts(etc_dir)
            if option != "--symlink" and src == dest
            and os.path.exists(src) and not os.path.islink(src)]


def _reachable(path, top, uid, gid):
    """Can uid/gid (no supplementary groups) walk from folder `top` down to `path`?"""
    if path == top:
        return True
    current = top
    for part in [""] + path[len(top):].strip("/").split("/")[:-1]:
        current = os.path.join(current, part) if part else current
        try:
            if not _can_traverse(os.stat(current), uid, gid):
                return False
        except OSError:
            return False
    return True


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(paths):
    result = []
    for path in sorted(set(paths), key=len):
        if not any(_inside(path, kept) for kept in result):
            result.append(path)
    return result


def _can_traverse(st, uid, gid):
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _blocked_ancestor(path, uid, gid):
    """The outermost ancestor of `path` that uid/gid cannot traverse, or None."""
    current = "/"
    for part in path.strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        if not _can_traverse(os.stat(current), uid, gid):
            return current
    return None


def _chown_tree(top, uid, gid, strip_setid=False):
    """lchown top and everything below it; symlinks are never followed.

    strip_setid also clears set-uid/set-gid bits of regular files (when handing files
    written by the sandbox back to their owner).
    """
    paths = [top]
    for folder, dirs, files in os.walk(top, followlinks=False):
        paths.extend(os.path.join(folder, name) for name in dirs + files)
    for path in paths:
        try:
            os.chown(path, uid, gid, follow_symlinks=False)
            if strip_setid:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                    os.chmod(path, stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
        except FileNotFoundError:
            pass


# Workdirs handed to the sandbox uid: {workdir: [original (uid, gid), users]}. Two
# managers on one workdir (a notebook kernel, then a test kernel) restore the owner once.
_lent_workdirs = {}
_lent_lock = threading.Lock()


def _lend_workdir(workdir):
    with _lent_lock:
        entry = _lent_workdirs.get(workdir)
        if entry is None:
            st = os.stat(workdir)
            entry = _lent_workdirs[workdir] = [(st.st_uid, st.st_gid), 0]
        entry[1] += 1
        _chown_tree(workdir, SANDBOX_UID, SANDBOX_GID)


def _return_workdir(workdir, log):
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
                _chown_tree(workdir, *entry[0], strip_setid=True)
            except OSError as err:
                log.warning("sandbox: cannot give %s back to uid %d: %s", workdir, entry[0][0], err)


# ------------------------------------------------------------------ the command


@dataclass
class _Plan:
    """Everything one launch needs; command(kernel_cmd) gives the full argv."""
    mode: Optional[str]        # uid / user / root, or None when running unisolated
    bwrap: str
    workdir: str
    run_dir: str
    ipc_dir: Optional[str]
    readonly: list
    env: dict
    limits: Limits
    etc_dir: Optional[str]
    cgroups: Optional[_Cgroups] = None
    hidden: list = field(default_factory=list)  # realpaths covered wherever they are bound

    @property
    def uid(self):
        return SANDBOX_UID if self.mode == "uid" else None

    def rlimits(self):
        limits, cg = self.limits, self.cgroups
        result = [["RLIMIT_CPU", limits.cpu_seconds, limits.cpu_seconds + 5],
                  ["RLIMIT_FSIZE", limits.max_file_bytes, limits.max_file_bytes],
                  ["RLIMIT_CORE", 0, 0]]
        if cg is None or cg.memory is None:
            result.append(["RLIMIT_AS", limits.memory_bytes, limits.memory_bytes])
        if (cg is None or cg.pids is None) and self.mode == "uid":
            result.append(["RLIMIT_NPROC", limits.max_processes, limits.max_processes])
        return result

    def _own_binds(self):
        items = [("--ro-bind", p, p) for p in _python_paths()]
        items += [("--ro-bind", p, p) for p in self.readonly]
        if self.ipc_dir:
            items.append(("--bind", self.ipc_dir, self.ipc_dir))
        # The host workdir is only read: the kernel gets a copy in a tmpfs of its own
        # (see bwrap_args), so nothing it writes can fill the host's disk.
        items.append(("--ro-bind", self.workdir, SEED_DIR) if self.mode else
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
        folder (with no bind in between) is hidden by it; in uid mode, one that uid
        65534 cannot reach from the bind that shows it (a folder on the way without
        search permission for it) is unreachable already, and bwrap, running as that
        uid, could not mount over it.
        """
        if not self.hidden:
            return []
        shown = [dest for _, _, dest in self._own_binds()] + _system_binds(self.etc_dir)
        result = []
        for path in sorted(set(self.hidden)):
            if not os.path.lexists(path):
                continue  # nothing there to hide
            containing = [folder for folder in shown if _inside(path, folder)]
            if not containing:
                continue
            innermost = max(containing, key=len)
            if any(other != path and _inside(path, other) and _inside(other, innermost)
                   for other in self.hidden):
                continue
            if self.mode == "uid" and not _reachable(path, innermost, SANDBOX_UID, SANDBOX_GID):
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
        """What the launcher must re-expose for uid 65534, or None."""
        if self.mode != "uid":
            return None
        sources = [src for _, src, _ in self.binds() if src is not None]
        if self.etc_dir:
            sources.append(self.etc_dir)
        tops, needed = [], []
        for src in sources:
            top = _blocked_ancestor(src, SANDBOX_UID, SANDBOX_GID)
            if top:
                needed.append(src)
                if top not in tops:
                    tops.append(top)
        return {"tops": _outermost(tops), "sources": needed} if tops else None

    def bwrap_args(self):
        env = dict(self.env)
        args = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--hostname", "sandbox", "--clearenv"]
        for key in sorted(env):
            args += ["--setenv", key, env[key]]
        for option, src, dest in _system_mounts(self.etc_dir):
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
        config = {
            "cgroup_procs": self.cgroups.procs_files if self.cgroups else [],
            "reveal": self.reveal(),
            "rlimits": self.rlimits(),
            "uid": self.uid, "gid": SANDBOX_GID if self.uid is not None else None,
            "ppid": os.getpid(),
            "env": self.env if self.mode is None else {"PATH": "/usr/bin:/bin"},
            "cwd": self.workdir if self.mode is None else None,
        }
        wrapped = list(kernel_cmd) if self.mode is None else self.bwrap_args() + list(kernel_cmd)
        return [sys.executable, "-I", "-S", "-c", _LAUNCHER_SOURCE, json.dumps(config)] + wrapped


# ------------------------------------------------------------------ kernel managers

_live_states = set()  # launch states with something left to clean (atexit)


class _LaunchState:
    """What one manager's launches leave behind: process, cgroups, run folder, chowned workdir.

    Kept apart from the manager so that atexit and garbage collection can clean up
    without the manager (nbclient does not shut down a kernel manager it was given).
    """

    def __init__(self, log):
        self.log = log
        self.proc = self.cgroups = self.run_dir = self.lent_workdir = None
        self.last_events = self.last_returncode = None

    def events(self):
        if self.cgroups is not None and self.cgroups.folders:
            events = self.cgroups.events()
        else:
            events = self.last_events or {"oom_kills": 0, "memory_peak": None, "pids_max_hits": 0}
        events = dict(events)
        returncode = self.last_returncode
        if self.proc is not None:
            returncode = self.proc.poll()
        events["returncode"] = returncode
        return events

    def kill_tree(self):
        if self.cgroups is not None and self.cgroups.folders:
            self.cgroups.kill()

    def drop_cgroups(self):
        """Kill whatever is left in this launch's cgroups, keep their counters, remove them."""
        if self.proc is not None:
            self.last_returncode = self.proc.poll()
        cgroups = self.cgroups
        if cgroups is None or not cgroups.folders:
            return
        self.last_events = cgroups.events()
        cgroups.kill()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)  # reap bwrap so that the cgroups can be removed
                self.last_returncode = self.proc.returncode
            except subprocess.TimeoutExpired:
                pass
        cgroups.remove()

    def cleanup(self, restart=False):
        if self.proc is not None and self.proc.poll() is None and not restart:
            self.proc.kill()  # only reached when the manager never shut its kernel down
        self.drop_cgroups()
        if restart:
            return
        if self.lent_workdir is not None:
            _return_workdir(self.lent_workdir, self.log)
            self.lent_workdir = None
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        _live_states.discard(self)


class _SandboxMixin(KernelManager):
    """The sandboxing part shared by the blocking and the async kernel manager."""

    workdir = Unicode(None, allow_none=True, config=True,
                      help="The only writable folder; the kernel's cwd and HOME. Default: the "
                           "cwd given to start_kernel (nbclient: resources['metadata']['path']).")
    readonly_paths = List(Unicode(), config=True, help="Extra folders bound read-only.")
    hidden_paths = List(Unicode(), config=True,
                        help="Folders or files the kernel must not see even where a bound "
                             "folder contains them (e.g. the kit's own repository): each "
                             "is covered by an empty read-only tmpfs (a file: an empty "
                             "file); paths bound explicitly below a hidden folder stay "
                             "visible.")
    limits = Any(Limits(), config=True, help="A kit.sandbox.Limits, or a dict of its fields.")
    require_isolation = Bool(False, config=True,
                             help="Raise SandboxUnavailableError when bwrap is unusable.")
    use_cgroups = Bool(True, config=True, help="Use cgroups for memory/processes where writable.")
    bwrap_path = Unicode(None, allow_none=True, config=True, help="bubblewrap binary.")
    env_passthrough = List(Unicode(), default_value=list(DEFAULT_ENV_PASSTHROUGH), config=True,
                           help="Host variables forwarded when set.")
    extra_env = Dict(config=True, help="Variables always set inside the sandbox.")
    chown_workdir = Bool(True, config=True,
                         help="In uid-65534 mode, chown the workdir tree to 65534 and back.")

    @validate("limits")
    def _validate_limits(self, proposal):
        value = proposal["value"]
        if isinstance(value, dict):
            return Limits(**value)
        if not isinstance(value, Limits):
            raise TraitError(f"expected limits to be a kit.sandbox.Limits or a dict, got "
                             f"{type(value).__name__} instead; e.g. Limits(memory_bytes=4 * GiB)")
        return value

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._plan = None
        self._isolated = None
        self._state = _LaunchState(self.log)
        # A manager dropped without shutdown still gets its kernel killed and files removed.
        weakref.finalize(self, self._state.cleanup)

    # -- public read-only state

    @property
    def isolated(self):
        """True/False once started: whether this kernel runs inside bubblewrap."""
        return self._isolated

    @property
    def enforcement(self):
        """{limit kind: mechanism or None} for the current/last launch."""
        plan = self._plan
        if plan is None:
            return {}
        cg = plan.cgroups
        rl = {name for name, _, _ in plan.rlimits()}

        def mechanism(entry, knob, rlimit):
            if entry:
                return f"cgroup v{entry[0]} {knob}"
            return rlimit if rlimit in rl else None
        return {"memory": mechanism(cg and cg.memory, "memory", "RLIMIT_AS"),
                "processes": mechanism(cg and cg.pids, "pids.max", "RLIMIT_NPROC"),
                "cpu": "RLIMIT_CPU", "file_size": "RLIMIT_FSIZE"}

    def limit_events(self):
        """{'oom_kills', 'memory_peak' (bytes or None), 'pids_max_hits', 'returncode'}.

        Cgroup counters of the current/last launch (kept after shutdown) and the exit code
        of the sandbox process (None while it runs; 128+N or -N for signal N).
        """
        return self._state.events()

    def kill_processes(self):
        """Kill every process of the current launch, the kernel included, at once (the
        cgroup's): whoever waits on the kernel then sees it dead. Without cgroups, nothing."""
        self._state.kill_tree()

    # -- launch

    async def _async_pre_start_kernel(self, **kw):
        workdir = self.workdir or kw.get("cwd")
        if not workdir:
            raise ValueError("expected a workdir (the submission folder), got None instead; "
                             "pass workdir=... or start_kernel(cwd=...)")
        workdir = os.path.realpath(os.fspath(workdir))
        if not os.path.isdir(workdir):
            raise ValueError(f"expected workdir to be an existing folder, got {workdir!r} instead")
        readonly = []
        for path in self.readonly_paths:
            real = os.path.realpath(os.fspath(path))
            if not os.path.exists(real):
                raise ValueError(f"expected readonly path {path!r} to exist, got a missing path "
                                 "instead; create it or drop it from readonly_paths")
            readonly.append(real)
        hidden = [os.path.realpath(os.fspath(path)) for path in self.hidden_paths]
        kw["cwd"] = workdir
        self.workdir = workdir

        bwrap = _bwrap_path(self.bwrap_path)
        available, reason, mode = _probe(bwrap)
        if not available:
            if self.require_isolation:
                raise SandboxUnavailableError(
                    f"refusing to run student code without isolation: {reason} "
                    "(or drop require_isolation to run with resource limits only)")
            _warn_unisolated(reason)
            mode = None
        self._isolated = mode is not None

        state = self._state
        _live_states.add(state)
        if state.run_dir is None or not os.path.isdir(state.run_dir):
            state.run_dir = tempfile.mkdtemp(prefix="kitsb-", dir="/tmp")
            os.chmod(state.run_dir, 0o755)
            os.mkdir(os.path.join(state.run_dir, "ipc"), 0o700)
            self._write_etc(state.run_dir, workdir)
            self.transport = "ipc"
            self.ip = os.path.join(state.run_dir, "ipc", "k")
            self.connection_file = os.path.join(state.run_dir, "ipc", "kernel.json")
        ipc_dir = os.path.join(state.run_dir, "ipc")

        if mode == "uid":
            os.chown(ipc_dir, SANDBOX_UID, SANDBOX_GID)
            self._check_readable(readonly)
            if self.chown_workdir:
                if state.lent_workdir != workdir:
                    if state.lent_workdir is not None:
                        _return_workdir(state.lent_workdir, self.log)
                    _lend_workdir(workdir)
                    state.lent_workdir = workdir
                else:  # a restart: files the student added since are the sandbox's too
                    _chown_tree(workdir, SANDBOX_UID, SANDBOX_GID)

        state.drop_cgroups()  # a restart: the previous launch's cgroups
        cgroups = _Cgroups(self.limits, self.log).create() if self.use_cgroups else None
        state.cgroups = cgroups
        for note in (cgroups.notes if cgroups else ["cgroups disabled (use_cgroups=False)"]):
            self.log.debug("sandbox: %s", note)

        if mode is None:  # unisolated: the host's /tmp is shared, keep caches in the run folder
            tmp = os.path.join(state.run_dir, "tmp")
            os.makedirs(tmp, exist_ok=True)
        else:
            tmp = "/tmp"
        env = self._kernel_env(workdir, kw.get("env"), tmp)
        self._plan = _Plan(mode=mode, bwrap=bwrap, workdir=workdir, run_dir=state.run_dir,
                           ipc_dir=ipc_dir, readonly=readonly, env=env, limits=self.limits,
                           etc_dir=os.path.join(state.run_dir, "etc"), cgroups=cgroups,
                           hidden=hidden)
        # Signals to the bwrap process would not reach the kernel: interrupt by message.
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"

        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        if mode == "uid" and os.path.exists(self.connection_file):
            os.chown(self.connection_file, SANDBOX_UID, SANDBOX_GID)
        return self._plan.command(kernel_cmd), kw

    pre_start_kernel = run_sync(_async_pre_start_kernel)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self._state.proc = getattr(self.provisioner, "process", None)
        self._state.last_returncode = None

    _launch_kernel = run_sync(_async_launch_kernel)

    def _kernel_env(self, workdir, given, tmp):
        python_bin = os.path.dirname(os.path.realpath(sys.executable))
        env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
               "LANG": os.environ.get("LANG", "C.UTF-8")}
        for name in self.env_passthrough:
            if name in os.environ:
                env[name] = os.environ[name]
        if given is not None and dict(given) != dict(os.environ):
            for key, value in given.items():
                if not _ENV_BLOCKLIST.match(key):
                    env[key] = str(value)
        env.update({str(k): str(v) for k, v in self.extra_env.items()})
        env.update({"HOME": workdir, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
                    "TMPDIR": tmp, "MPLCONFIGDIR": tmp + "/.config/matplotlib",
                    "IPYTHONDIR": tmp + "/.ipython", "XDG_CACHE_HOME": tmp + "/.cache",
                    "XDG_CONFIG_HOME": tmp + "/.config"})
        # The kernel's parent is the sandbox's pid 1 (bwrap); "1" also stops ipykernel from
        # printing its stand-alone banner on the grader's terminal.
        env["JPY_PARENT_PID"] = "1"
        return env

    @staticmethod
    def _write_etc(run_dir, workdir):
        etc = os.path.join(run_dir, "etc")
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

    def _check_readable(self, readonly):
        for path in readonly:
            st = os.stat(path)
            need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(st.st_mode) else 0)
            if st.st_mode & need != need and st.st_uid != SANDBOX_UID:
                self.log.warning("sandbox: %s (mode %o) is not readable by uid %d inside the "
                                 "sandbox; make it world-readable (chmod o+rX)",
                                 path, stat.S_IMODE(st.st_mode), SANDBOX_UID)

    # -- shutdown

    async def _async_kill_kernel(self, restart=False):
        await super()._async_kill_kernel(restart=restart)
        self._state.kill_tree()

    _kill_kernel = run_sync(_async_kill_kernel)

    async def _async_cleanup_resources(self, restart=False):
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            self._state.cleanup(restart=restart)

    cleanup_resources = run_sync(_async_cleanup_resources)


class SandboxedKernelManager(_SandboxMixin, KernelManager):
    """A blocking jupyter_client KernelManager whose kernel runs in a bubblewrap sandbox.

    Traits (settable as keyword arguments or traitlets config):
    - workdir: the only writable folder, the kernel's cwd and HOME (default: the cwd given
      to start_kernel).
    - readonly_paths: list of extra folders bound read-only (e.g. the data folder).
    - hidden_paths: list of folders/files never shown, even inside a bound folder (e.g.
      the kit's repository with the reference solutions, kit.course.KIT_ROOT).
    - limits: a Limits (or a dict of its fields).
    - require_isolation: raise SandboxUnavailableError instead of warning when bwrap is
      unusable.
    - use_cgroups, bwrap_path, env_passthrough, extra_env, chown_workdir: see the traits.
    After start: `.isolated`, `.enforcement`, `.limit_events()`; limit_hit(km) after a death.
    """


class AsyncSandboxedKernelManager(_SandboxMixin, AsyncKernelManager):
    """The same sandbox as an AsyncKernelManager (nbclient's native kind)."""

    pre_start_kernel = _SandboxMixin._async_pre_start_kernel
    _launch_kernel = _SandboxMixin._async_launch_kernel
    _kill_kernel = _SandboxMixin._async_kill_kernel
    cleanup_resources = _SandboxMixin._async_cleanup_resources


@atexit.register
def _cleanup_at_exit():
    for state in list(_live_states):
        try:
            state.cleanup()
        except Exception:  # never let one launch stop the others' cleanup
            pass


# ------------------------------------------------------------------ after a death

_TEXT_SIGNS = (
    ("memory", re.compile(r"MemoryError|Cannot allocate memory|std::bad_alloc")),
    ("file_size", re.compile(r"File too large|Errno 27\]|EFBIG")),
    ("processes", re.compile(r"can't start new thread|Resource temporarily unavailable"
                             r"|pthread_create failed|Errno 11\]")),
)


def limit_hit(km, error=None):
    """Which limit stopped the code, if that can be told.

    Inputs:
    - km: a (Async)SandboxedKernelManager, after its kernel died or a cell failed (before
      or after shutdown: counters are kept).
    - error: optional exception (e.g. nbclient's CellExecutionError or DeadKernelError)
      or text (a traceback, an error output's ename/evalue) to look at as well.

    Returns a LimitHit(kind, message) with kind in memory/processes/cpu/file_size and a
    message like "memory limit (4 GiB) exceeded", or None when no limit explains it.
    """
    limits = getattr(km, "limits", None)
    if not isinstance(limits, Limits):
        raise TypeError(f"expected a SandboxedKernelManager, got {type(km).__name__} instead")
    events = km.limit_events()
    code = events.get("returncode")
    signum = _exit_signal(code)
    # What killed the kernel first, then what the given error says, then what the
    # counters saw at any time (a contained fork bomb leaves the kernel alive).
    kind = None
    if events.get("oom_kills"):
        kind = "memory"
    elif signum == signal.SIGXCPU:
        kind = "cpu"
    if kind is None and error is not None:
        text = error if isinstance(error, str) else " ".join(
            str(part) for part in (type(error).__name__, getattr(error, "ename", ""),
                                   getattr(error, "evalue", ""), error))
        kind = next((name for name, pattern in _TEXT_SIGNS if pattern.search(text)), None)
    if kind is None and events.get("pids_max_hits"):
        kind = "processes"
    if kind is None:
        return None
    message = limits.describe(kind) + " exceeded"
    if kind == "memory" and events.get("memory_peak"):
        message += f" (peak {format_bytes(events['memory_peak'])})"
    return LimitHit(kind, message)


def _exit_signal(code):
    """The signal that ended the sandbox: Popen gives -N, bwrap exits with 128+N."""
    if code is None:
        return None
    if code < 0:
        return -code
    return code - 128 if code > 128 else None


def death_reason(km, error=None):
    """One line for a grader after a kernel died: which limit, else the exit status."""
    hit = limit_hit(km, error)
    if hit is not None:
        return f"the kernel died: {hit.message}"
    code = km.limit_events().get("returncode")
    if code is None:
        return "the kernel died"
    if code == LAUNCHER_FAILED:
        return "the kernel died: the sandbox could not be set up (see the kernel's stderr)"
    signum = _exit_signal(code)
    if signum is not None:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"the kernel died ({name})"
    return f"the kernel died (exit code {code})"


def kernel_manager(workdir, readonly=(), require_isolation=False, limits=None,
                   asynchronous=True, hidden=(), **traits):
    """A sandboxed kernel manager for nbclient.

    Inputs:
    - workdir: the submission folder (writable, cwd, HOME).
    - readonly: folders bound read-only (data, instructor utils).
    - hidden: folders/files the kernel must not see even where a bound folder (the
      Python installation, readonly, workdir) contains them, e.g. [kit.course.KIT_ROOT];
      readonly folders inside a hidden folder stay visible.
    - require_isolation: refuse instead of warn when bwrap is unusable.
    - limits: a Limits (default Limits()).
    - asynchronous: AsyncSandboxedKernelManager (default, nbclient's kind) or the blocking one.
    - traits: any other trait of the manager (e.g. extra_env, kernel_name).
    Returns the kernel manager (not started).
    """
    cls = AsyncSandboxedKernelManager if asynchronous else SandboxedKernelManager
    return cls(workdir=os.fspath(workdir), readonly_paths=[os.fspath(p) for p in readonly],
               hidden_paths=[os.fspath(p) for p in hidden],
               require_isolation=bool(require_isolation), limits=limits or Limits(), **traits)
