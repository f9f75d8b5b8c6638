"""What one sandboxed kernel may use: the `Limits` it is given and the `LimitHit` it ran into.

Inputs: the numbers an instructor chooses (CPU seconds, bytes, processes).
Returns: frozen, validated values, and the human text of each limit for graders' messages.
"""
from dataclasses import dataclass
from typing import NamedTuple

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (defaults fit grading a CIFAR-10 notebook).

    - cpu_seconds: CPU time of the kernel process (RLIMIT_CPU); int > 0.
    - memory_bytes: memory of the whole sandbox (cgroup), else address space per process.
      4 GiB: at full size (49,000 training images) the largest notebook kernel peaked at
      1.6 GiB (python -m bench, item 8) when it loads CIFAR-10 itself (a Dask worker, or
      share_data off), and far less when it maps the batch's shared copy; 4 GiB leaves
      room for a student's own copy of the training matrix (1.2 GB) on top.
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
