"""Why a sandboxed kernel died or a cell failed: which limit, else the exit status.

Inputs: a (Async)SandboxedKernelManager (its limits and limit_events()), and optionally
the error nbclient raised or an error output's text.
Returns: limit_hit() -> LimitHit or None; death_reason() -> one line for a grader.
"""
import re
import signal

from .launcher import FAILED
from .limits import LimitHit, Limits, format_bytes

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
    kind = _limit_kind(events, error)
    if kind is None:
        return None
    message = limits.describe(kind) + " exceeded"
    if kind == "memory" and events.get("memory_peak"):
        message += f" (peak {format_bytes(events['memory_peak'])})"
    return LimitHit(kind, message)


def _limit_kind(events, error):
    # What killed the kernel first, then what the given error says, then what the
    # counters saw at any time (a contained fork bomb leaves the kernel alive).
    if events.get("oom_kills"):
        return "memory"
    if _exit_signal(events.get("returncode")) == signal.SIGXCPU:
        return "cpu"
    if error is not None:
        text = error if isinstance(error, str) else " ".join(
            str(part) for part in (type(error).__name__, getattr(error, "ename", ""),
                                   getattr(error, "evalue", ""), error))
        kind = next((name for name, pattern in _TEXT_SIGNS if pattern.search(text)), None)
        if kind is not None:
            return kind
    return "processes" if events.get("pids_max_hits") else None


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
    if code == FAILED:
        return "the kernel died: the sandbox could not be set up (see the kernel's stderr)"
    signum = _exit_signal(code)
    if signum is not None:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"the kernel died ({name})"
    return f"the kernel died (exit code {code})"
