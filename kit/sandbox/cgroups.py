"""The cgroups of one kernel launch: memory, pids and CPU share, membership, counters, kill.

One cgroup per launch, below the grader's own, in every mounted hierarchy that can hold
it: cgroup v2 first (it also gives cgroup.kill, even without controllers), then v1 for
the controllers v2 could not give. Without a writable memory or pids cgroup the launch
falls back to rlimits (kit.sandbox.command decides which).

CPU: every launch's cgroup has the same weight (v2 cpu.weight 100, v1 cpu.shares 1024),
so the scheduler shares the cores between kernels, not between processes: a submission
that starts 40 busy processes gets one kernel's share, not 40 of the grader's. Without a
writable cpu cgroup the kernel runs at a lower priority (nice, kit.sandbox.command) and
the notes say so.

Inputs: a Limits and a logger.
Returns: `Cgroups` (create, procs_files, events, members, kill, remove) and
`hierarchies()`, the mounted hierarchies this process belongs to.
"""
import os
import re
import signal
import time
import uuid
from typing import NamedTuple, Optional

CONTROLLERS = ("memory", "pids", "cpu")
CPU_WEIGHT_V2, CPU_SHARES_V1 = 100, 1024   # each the hierarchy's default: one equal share


class Hierarchy(NamedTuple):
    """One mounted cgroup hierarchy: version 1 or 2, controllers (v1: from the mount
    options; v2: None, read from cgroup.controllers when used), our cgroup's folder."""
    version: int
    controllers: Optional[frozenset]
    folder: str


def _unescape_mount(path):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def hierarchies():
    """[Hierarchy] for every mounted cgroup hierarchy holding this process, v2 first."""
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
            controllers = None
        else:
            options = set(rest[2].split(","))
            paths = [p for _, ctrls, p in own if ctrls and set(ctrls.split(",")) <= options]
            controllers = frozenset(c for c in options if c in CONTROLLERS)
            if not controllers:
                continue
        if not paths or not paths[0].startswith(root) or mountpoint in seen:
            continue
        seen.add(mountpoint)
        relative = paths[0][len(root):].lstrip("/")
        folder = os.path.join(mountpoint, relative) if relative else mountpoint
        found.append(Hierarchy(2 if rest[0] == "cgroup2" else 1, controllers, folder))
    return sorted(found, key=lambda h: -h.version)


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def read_text(path, default=""):
    """The file's text, or `default` when it cannot be read (cgroup files come and go)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def _process_state(pid):
    """'R', 'S', 'Z', ... from /proc/PID/stat, '' when gone."""
    return read_text(f"/proc/{pid}/stat").rpartition(")")[2][:3].strip()


def _keyed(text):
    """'oom_kill 3\\nmax 0' -> {'oom_kill': 3, 'max': 0}."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


# What each controller writes, per version: (file, value from the Limits, required). An
# optional file may be missing (older kernels, no swap accounting): the required one holds.
_LIMIT_FILES = {
    ("pids", 1): [("pids.max", lambda l: l.max_processes, True)],
    ("pids", 2): [("pids.max", lambda l: l.max_processes, True)],
    ("memory", 1): [("memory.limit_in_bytes", lambda l: l.memory_bytes, True),
                    ("memory.memsw.limit_in_bytes", lambda l: l.memory_bytes, False),
                    ("memory.swappiness", lambda l: 0, False)],
    ("memory", 2): [("memory.max", lambda l: l.memory_bytes, True),
                    ("memory.swap.max", lambda l: 0, False),
                    ("memory.oom.group", lambda l: 1, False)],
    ("cpu", 1): [("cpu.shares", lambda l: CPU_SHARES_V1, True)],
    ("cpu", 2): [("cpu.weight", lambda l: CPU_WEIGHT_V2, True)],
}
# Where the counters live, per version: (events file, peak file).
_COUNTER_FILES = {1: ("memory.oom_control", "memory.max_usage_in_bytes"),
                  2: ("memory.events", "memory.peak")}
NO_EVENTS = {"oom_kills": 0, "memory_peak": None, "pids_max_hits": 0}


class Cgroups:
    """The cgroups of one kernel launch.

    After create(): `memory`, `pids` and `cpu` are (version, folder) or None, `unified` the v2
    folder (for cgroup.kill) or None, `folders` every folder made, `notes` what could not
    be set up and why.
    """

    def __init__(self, limits, log):
        self.limits, self.log = limits, log
        self.memory = self.pids = self.cpu = self.unified = None
        self.folders, self.notes = [], []

    def create(self):
        name = f"kit-sandbox-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for hierarchy in hierarchies():
            controllers = (self._delegated(hierarchy.folder) if hierarchy.version == 2
                           else hierarchy.controllers)
            wanted = [c for c in CONTROLLERS if c in controllers and getattr(self, c) is None]
            if hierarchy.version == 1 and not wanted:
                continue
            folder = self._mkdir(os.path.join(hierarchy.folder, name))
            if folder is None:
                continue
            if hierarchy.version == 2:
                self.unified = (2, folder)
            for controller in wanted:
                try:
                    self._limit(controller, hierarchy.version, folder)
                    setattr(self, controller, (hierarchy.version, folder))
                except OSError as err:
                    self.notes.append(f"cgroup v{hierarchy.version} {controller}: {err}")
        if self.memory is None:
            self.notes.append("no writable memory cgroup: memory is limited by RLIMIT_AS")
        if self.pids is None:
            self.notes.append("no writable pids cgroup: processes are limited by RLIMIT_NPROC")
        if self.cpu is None:
            self.notes.append("no writable cpu cgroup: the kernel gets a lower priority (nice) "
                              "instead of one equal share of the cores")
        return self

    def _delegated(self, parent):
        """The v2 controllers our children can use, enabling those available but not yet on."""
        available = set(read_text(os.path.join(parent, "cgroup.controllers")).split())
        enabled = set(read_text(os.path.join(parent, "cgroup.subtree_control")).split())
        for controller in CONTROLLERS:
            if controller in available and controller not in enabled:
                try:  # fails (EBUSY) when our own cgroup holds processes and is not the root
                    _write(os.path.join(parent, "cgroup.subtree_control"), "+" + controller)
                    enabled.add(controller)
                except OSError as err:
                    self.notes.append(f"cgroup v2 {controller} not delegated: {err}")
        return enabled

    def _mkdir(self, folder):
        try:
            os.mkdir(folder)
        except OSError as err:
            self.notes.append(f"cannot create {folder}: {err}")
            return None
        self.folders.append(folder)
        return folder

    def _limit(self, controller, version, folder):
        for name, value, required in _LIMIT_FILES[(controller, version)]:
            try:
                _write(os.path.join(folder, name), value(self.limits))
            except OSError:
                if required:
                    raise

    @property
    def procs_files(self):
        return [os.path.join(folder, "cgroup.procs") for folder in self.folders]

    def events(self):
        """Counters so far: oom_kills, memory_peak (bytes or None), pids_max_hits."""
        result = dict(NO_EVENTS)
        if self.memory:
            version, folder = self.memory
            events, peak = _COUNTER_FILES[version]
            result["oom_kills"] = _keyed(read_text(os.path.join(folder, events))).get("oom_kill", 0)
            peak = read_text(os.path.join(folder, peak)).strip()
            result["memory_peak"] = int(peak) if peak.isdigit() else None
        if self.pids:
            events = read_text(os.path.join(self.pids[1], "pids.events"))
            result["pids_max_hits"] = _keyed(events).get("max", 0)
        return result

    def members(self):
        """Live pids in the cgroups (zombies left out: they wait for their parent only)."""
        pids = set()
        for path in self.procs_files:
            pids.update(int(p) for p in read_text(path).split() if p.isdigit())
        return {pid for pid in pids if _process_state(pid) != "Z"}

    def kill(self, timeout=5.0):
        """SIGKILL everything in the cgroups; True when they are empty."""
        if self.unified and os.path.exists(os.path.join(self.unified[1], "cgroup.kill")):
            try:
                _write(os.path.join(self.unified[1], "cgroup.kill"), 1)
            except OSError:
                pass  # the SIGKILL loop below still empties it
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
                    pass  # gone in between
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
