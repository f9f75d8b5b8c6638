"""Can kernels be isolated here, and how? Probed once per bubblewrap binary.

The probe starts a tiny real sandbox in each candidate Mode (strongest first) and keeps
the first that works: the answer is what a kernel would really get, not a guess from
kernel settings.

Inputs: the path of bwrap (None: `bwrap` on PATH, else /usr/bin/bwrap).
Returns: isolation_status() -> (available, reason); probe() -> Probe(available, reason,
mode); warn_unisolated(reason), the loud warning a grader without isolation gets.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from typing import NamedTuple, Optional

from .command import BWRAP_ENV, LaunchPlan
from .identity import SANDBOX_GID, SANDBOX_UID, Mode
from .limits import Limits


class SandboxUnavailableError(RuntimeError):
    """bubblewrap cannot isolate kernels here and require_isolation was set."""


class SandboxWarning(UserWarning):
    """Kernels run without isolation (rlimits and cgroups only)."""


class Probe(NamedTuple):
    """The probe's answer: available, one line saying how or why not, the Mode or None."""
    available: bool
    reason: str
    mode: Optional[Mode]


_lock = threading.Lock()
_cache = {}           # {bwrap path: Probe}
_warned_about = set()  # reasons already shown: each is said once per process


def find_bwrap():
    """The bubblewrap binary to use: `bwrap` on PATH, else /usr/bin/bwrap."""
    return shutil.which("bwrap") or "/usr/bin/bwrap"


def probe(bwrap=None):
    """The cached Probe for `bwrap` (None: find_bwrap()); the first call starts a sandbox."""
    bwrap = bwrap or find_bwrap()
    with _lock:
        if bwrap not in _cache:
            _cache[bwrap] = _run_probe(bwrap)
        return _cache[bwrap]


def isolation_status(bwrap=None):
    """Can kernels be isolated here?

    Inputs:
    - bwrap: path of the bubblewrap binary (default: `bwrap` on PATH, else /usr/bin/bwrap).

    Returns a tuple (available, reason): available is a bool; reason is one line saying
    how kernels will run (which uid, which mode) or why isolation is not possible. The
    result is probed once (a tiny real sandbox is started) and cached per bwrap path.
    """
    result = probe(bwrap)
    return result.available, result.reason


def isolation_mode(bwrap=None):
    """The Mode kernels run in here, or None when they cannot be isolated."""
    return probe(bwrap).mode


def _run_probe(bwrap):
    if sys.platform != "linux":
        return Probe(False, f"bubblewrap needs Linux, this is {sys.platform}", None)
    if not (os.path.isfile(bwrap) and os.access(bwrap, os.X_OK)):
        # What to do about it is the caller's to say (kit.autograde.stage.check_isolation).
        return Probe(False, f"bubblewrap not found at {bwrap}", None)
    failures = []
    for mode in Mode.candidates():
        failure = _try_mode(bwrap, mode)
        if failure is None:
            why = f" ({'; '.join(failures)})" if failures else ""
            return Probe(True, f"bubblewrap isolates kernels ({bwrap}), {mode.describe()}{why}", mode)
        failures.append(f"{mode.value} mode: {failure}")
    return Probe(False, "bubblewrap cannot create a sandbox here: " + "; ".join(failures), None)


def _try_mode(bwrap, mode):
    """None when a sandbox in `mode` runs a check (cwd right, no capabilities), else why not."""
    work = tempfile.mkdtemp(prefix="kitsb-probe-")
    try:
        plan = LaunchPlan(mode=mode, bwrap=bwrap, workdir=work, run_dir=work, ipc_dir=None,
                          readonly=[], env=dict(BWRAP_ENV), limits=Limits(), etc_dir=None)
        if mode.drops_to_sandbox_uid:
            os.chown(work, SANDBOX_UID, SANDBOX_GID)
        check = ("import os; assert os.getcwd() == %r; "
                 "assert open('/proc/self/status').read().count('CapEff:\\t0000000000000000')"
                 % work)
        command = plan.command([sys.executable, "-I", "-S", "-c", check])
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return None
        return (result.stderr or result.stdout).strip()[-300:]
    except (OSError, subprocess.SubprocessError) as err:
        return f"{type(err).__name__}: {err}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def warn_unisolated(reason):
    """Say once per process and reason, loudly, that kernels run without isolation."""
    with _lock:
        if reason in _warned_about:
            return
        _warned_about.add(reason)
    banner = "\n".join([
        "!" * 78,
        "!! kit.sandbox: student kernels run WITHOUT isolation (rlimits and cgroups only):",
        "!! " + reason,
        "!! Set require_isolation=True to refuse instead.",
        "!" * 78])
    print(banner, file=sys.stderr, flush=True)
    warnings.warn("kernels run without isolation: " + reason, SandboxWarning, stacklevel=3)
