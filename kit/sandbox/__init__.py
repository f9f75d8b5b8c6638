"""Jupyter kernels for untrusted student code, isolated with bubblewrap on plain Linux.

Use it wherever a jupyter_client KernelManager is accepted:

    from kit.sandbox import AsyncSandboxedKernelManager, Limits, GiB, death_reason
    km = AsyncSandboxedKernelManager(workdir=submission_dir, readonly_paths=[data_dir],
                                     limits=Limits(memory_bytes=4 * GiB))
    client = NotebookClient(nb, km=km, timeout=600, allow_errors=True)
    async with client.async_setup_kernel(cleanup_kc=True, env={"CIFAR10_DIR": data_dir}):
        ...  # on DeadKernelError: death_reason(km) -> "the kernel died: memory limit ..."

`kernel_manager(workdir, readonly=[...])` builds one for short. nbclient does NOT shut
down a kernel manager it was given unless `cleanup_kc=True`; a manager that is
garbage-collected or still alive at exit has its sandbox killed and cleaned anyway.
What the kernel sees, who it runs as, the limits, the threat model and the measured
overheads: docs/sandbox.md.

Modules, one job each:
- limits: Limits, LimitHit, format_bytes;
- identity: the isolation Mode and the sandbox's uid/gid;
- probe: isolation_status(), the errors and the warning of a grader without isolation;
- cgroups: one launch's cgroups (v1 and v2), counters and kill;
- mounts: host paths a sandbox shows, reachability, file ownership;
- workdir: the lent submission folder and the run folder;
- environment: the kernel's environment variables;
- command: LaunchPlan, the launcher + bubblewrap + kernel command line;
- launcher: the script that sets a launch up and execs bubblewrap (runs on its own);
- managers: the kernel managers; diagnosis: limit_hit() and death_reason().
"""
from .cgroups import Cgroups
from .command import LaunchPlan
from .diagnosis import death_reason, limit_hit
from .identity import SANDBOX_GID, SANDBOX_UID, Mode
from .launcher import FAILED as LAUNCHER_FAILED
from .limits import GiB, KiB, LimitHit, Limits, MiB, format_bytes
from .managers import AsyncSandboxedKernelManager, SandboxedKernelManager, kernel_manager
from .probe import (SandboxUnavailableError, SandboxWarning, isolation_mode, isolation_status,
                    warn_unisolated)

__all__ = [
    "AsyncSandboxedKernelManager", "Cgroups", "GiB", "KiB", "LAUNCHER_FAILED", "LaunchPlan",
    "LimitHit", "Limits", "MiB", "Mode", "SANDBOX_GID", "SANDBOX_UID", "SandboxUnavailableError",
    "SandboxWarning", "SandboxedKernelManager", "death_reason", "format_bytes", "isolation_mode",
    "isolation_status", "kernel_manager", "limit_hit", "warn_unisolated",
]
