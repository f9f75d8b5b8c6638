"""Host-wide counters in /proc, replaced by constant files inside every sandbox.

A /proc mounted in a new pid namespace still shows some numbers that belong to the whole
machine: the number of threads and running processes (loadavg, stat), free memory
(meminfo, vmstat, zoneinfo), the system-wide file-lock table (locks), open file handles
(sys/fs/file-nr). One sandbox moves them at will (start 200 threads, allocate 1 GiB) and
another reads them exactly: a channel between sandboxes graded at the same time. Each such
file is covered by a read-only bind of a constant file that keeps its format, so code that
reads them (os.cpu_count through /proc/stat, a library reading MemTotal) still works and
learns nothing that moves.

Inputs: the host's own files, read once when the covers are written (only what does not
move: the CPU count and MemTotal).
Returns: `cover_files(folder)`, [(constant file, /proc path)] for bubblewrap's --ro-bind.
"""
import os

PROC_FILES = ("loadavg", "stat", "meminfo", "vmstat", "zoneinfo", "buddyinfo", "locks",
              "interrupts", "softirqs", "schedstat", "diskstats", "key-users",
              "sys/fs/file-nr", "sys/fs/inode-nr", "sys/kernel/random/entropy_avail")
FOLDER = "proc"


def _cpu_count():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _mem_total_kib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 4 * 1024 * 1024


def constant_text(name):
    """The constant stand-in for /proc/NAME: the same format, numbers that never move."""
    if name == "loadavg":
        return "0.00 0.00 0.00 1/1 1\n"
    if name == "stat":
        cpus = "".join(f"cpu{i} 0 0 0 0 0 0 0 0 0 0\n" for i in range(_cpu_count()))
        return ("cpu  0 0 0 0 0 0 0 0 0 0\n" + cpus + "intr 0\nctxt 0\nbtime 0\nprocesses 1\n"
                "procs_running 1\nprocs_blocked 0\nsoftirq 0\n")
    if name == "meminfo":
        total = _mem_total_kib()
        return (f"MemTotal:       {total} kB\nMemFree:        {total // 2} kB\n"
                f"MemAvailable:   {total // 2} kB\nBuffers:               0 kB\n"
                "Cached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n")
    if name == "sys/fs/file-nr":
        return "0\t0\t0\n"
    if name == "sys/fs/inode-nr":
        return "0\t0\n"
    if name == "sys/kernel/random/entropy_avail":
        return "256\n"
    return ""


def cover_files(folder):
    """Write the constant files into folder/proc (once) and pair each with its /proc path.

    Inputs: folder, the launch's run folder (the grader's).
    Returns [(constant file, "/proc/NAME")] for the names that exist on this host (a bind
    needs a file to cover).
    """
    base = os.path.join(folder, FOLDER)
    pairs = []
    for name in PROC_FILES:
        target = "/proc/" + name
        if not os.path.exists(target):
            continue
        path = os.path.join(base, name.replace("/", "_"))
        if not os.path.exists(path):
            os.makedirs(base, exist_ok=True)
            with open(path, "w") as f:
                f.write(constant_text(name))
            os.chmod(path, 0o444)
        pairs.append((path, target))
    return pairs
