"""jupyter_client kernel managers whose kernels run in the sandbox, blocking and async.

Inputs: traits (workdir, readonly_paths, hidden_paths, limits, require_isolation, ...),
as keyword arguments or traitlets config; start_kernel's cwd and env.
Returns: SandboxedKernelManager, AsyncSandboxedKernelManager, and kernel_manager(), the
short way to build one. After start: .isolated, .enforcement, .limit_events(),
.cgroup_folders, .kill_processes().

What a launch leaves (process, cgroups, run folder, lent workdir) lives in a
`_LaunchState` apart from its manager, so that one weakref.finalize cleans it when the
manager is shut down, garbage-collected, or still alive at interpreter exit (nbclient
does not shut down a kernel manager it was given).
"""
import os
import shutil
import signal
import subprocess
import weakref

from jupyter_client import AsyncKernelManager, KernelManager
from jupyter_core.utils import run_sync
from traitlets import Any, Bool, Dict, List, TraitError, Unicode, validate

from . import probe
from .cgroups import NO_EVENTS, Cgroups
from .command import LaunchPlan
from .environment import DEFAULT_ENV_PASSTHROUGH, kernel_env
from .identity import SANDBOX_GID, SANDBOX_UID, Mode
from .limits import Limits
from .workdir import check_readable, lend_workdir, make_run_dir, relend_workdir, return_workdir


class _LaunchState:
    """What one manager's launches leave behind: process, cgroups, run folder, lent workdir."""

    def __init__(self, log):
        self.log = log
        self.proc = self.cgroups = self.run_dir = self.lent_workdir = None
        self.last_events = self.last_returncode = None

    def events(self):
        if self.cgroups is not None and self.cgroups.folders:
            events = self.cgroups.events()
        else:
            events = self.last_events or NO_EVENTS
        events = dict(events)
        returncode = self.last_returncode
        if self.proc is not None:
            returncode = self.proc.poll()
        events["returncode"] = returncode
        return events

    def kill_tree(self):
        if self.cgroups is not None and self.cgroups.folders:
            self.cgroups.kill()
        elif self.proc is not None and self.proc.poll() is None:
            # No cgroups: kill the launch's process group (jupyter_client starts each kernel
            # in a session of its own). Isolated, that is bwrap, whose --die-with-parent and
            # pid namespace take every sandboxed process with it; unisolated, the kernel and
            # whatever it started that stayed in its group.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()

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
                pass  # cgroups.remove() retries, then warns
        cgroups.remove()

    def lend(self, workdir):
        """Lend `workdir` to the sandbox uid for this manager (again after a restart)."""
        if self.lent_workdir == workdir:
            relend_workdir(workdir)
            return
        if self.lent_workdir is not None:
            return_workdir(self.lent_workdir, self.log)
        lend_workdir(workdir)
        self.lent_workdir = workdir

    def cleanup(self, restart=False):
        """Idempotent: called on shutdown, restart, collection and at exit."""
        if self.proc is not None and self.proc.poll() is None and not restart:
            self.proc.kill()  # only reached when the manager never shut its kernel down
        self.drop_cgroups()
        if restart:
            return
        if self.lent_workdir is not None:
            return_workdir(self.lent_workdir, self.log)
            self.lent_workdir = None
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None


def _existing_real_path(path, what, fix):
    real = os.path.realpath(os.fspath(path))
    if not os.path.exists(real):
        raise ValueError(f"expected {what} {path!r} to exist, got a missing path instead; {fix}")
    return real


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
                         help="In uid mode, chown the workdir tree to the sandbox uid and back.")

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
        # The one clean-up hook: on collection, and at exit for a manager still alive.
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
                "cpu": "RLIMIT_CPU", "file_size": "RLIMIT_FSIZE",
                "cpu_share": (f"cgroup v{cg.cpu[0]} {'cpu.weight' if cg.cpu[0] == 2 else 'cpu.shares'}"
                              if cg and cg.cpu else "nice")}

    @property
    def cgroup_folders(self):
        """The cgroup folders the current launch still holds ([] once shut down)."""
        cgroups = self._state.cgroups
        return list(cgroups.folders) if cgroups is not None else []

    def limit_events(self):
        """{'oom_kills', 'memory_peak' (bytes or None), 'pids_max_hits', 'returncode'}.

        Cgroup counters of the current/last launch (kept after shutdown) and the exit code
        of the sandbox process (None while it runs; 128+N or -N for signal N).
        """
        return self._state.events()

    def kill_processes(self):
        """Kill every process of the current launch, the kernel included, at once (the
        cgroup's; without cgroups, the launch's process group: bwrap's, which takes its
        sandbox with it): whoever waits on the kernel then sees it dead."""
        self._state.kill_tree()

    # -- launch

    async def _async_pre_start_kernel(self, **kw):
        workdir, readonly, hidden = self._resolve_paths(kw.get("cwd"))
        kw["cwd"] = self.workdir = workdir
        mode = self._choose_mode()
        run_dir = self._prepare_run_dir(workdir, mode)
        if mode is Mode.UID:
            check_readable(readonly, self.log)
            if self.chown_workdir:
                self._state.lend(workdir)
        tmp = "/tmp" if mode is not None else self._host_tmp(run_dir)
        env = kernel_env(workdir=workdir, tmp=tmp, passthrough=self.env_passthrough,
                         given=kw.get("env"), extra=self.extra_env)
        self._plan = LaunchPlan(mode=mode, bwrap=self.bwrap_path or probe.find_bwrap(),
                                workdir=workdir, run_dir=run_dir,
                                ipc_dir=os.path.join(run_dir, "ipc"), readonly=readonly, env=env,
                                limits=self.limits, etc_dir=os.path.join(run_dir, "etc"),
                                cgroups=self._fresh_cgroups(), hidden=hidden)
        # Signals to the bwrap process would not reach the kernel: interrupt by message.
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        if mode is Mode.UID and os.path.exists(self.connection_file):
            os.chown(self.connection_file, SANDBOX_UID, SANDBOX_GID)
        return self._plan.command(kernel_cmd), kw

    pre_start_kernel = run_sync(_async_pre_start_kernel)

    def _resolve_paths(self, cwd):
        """(workdir, readonly, hidden) as real paths; raises ValueError on a bad one."""
        workdir = self.workdir or cwd
        if not workdir:
            raise ValueError("expected a workdir (the submission folder), got None instead; "
                             "pass workdir=... or start_kernel(cwd=...)")
        workdir = os.path.realpath(os.fspath(workdir))
        if not os.path.isdir(workdir):
            raise ValueError(f"expected workdir to be an existing folder, got {workdir!r} instead")
        readonly = [_existing_real_path(path, "readonly path", "create it or drop it from readonly_paths")
                    for path in self.readonly_paths]
        hidden = [os.path.realpath(os.fspath(path)) for path in self.hidden_paths]
        return workdir, readonly, hidden

    def _choose_mode(self):
        """The Mode of this launch, or None (unisolated, after a loud warning)."""
        found = probe.probe(self.bwrap_path)
        if not found.available:
            if self.require_isolation:
                raise probe.SandboxUnavailableError(
                    f"refusing to run student code without isolation: {found.reason} "
                    "(or drop require_isolation to run with resource limits only)")
            probe.warn_unisolated(found.reason)
        self._isolated = found.mode is not None
        return found.mode

    def _prepare_run_dir(self, workdir, mode):
        """The launch's run folder (made once per manager) and the ipc transport in it."""
        state = self._state
        if state.run_dir is None or not os.path.isdir(state.run_dir):
            state.run_dir = make_run_dir(workdir, owner_is_sandbox=mode is Mode.UID)
            self.transport = "ipc"
            self.ip = os.path.join(state.run_dir, "ipc", "k")
            self.connection_file = os.path.join(state.run_dir, "ipc", "kernel.json")
        return state.run_dir

    @staticmethod
    def _host_tmp(run_dir):
        """Unisolated, the host's /tmp is shared: keep the kernel's caches in the run folder."""
        tmp = os.path.join(run_dir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        return tmp

    def _fresh_cgroups(self):
        """New cgroups for this launch (a restart's old ones killed and removed first)."""
        self._state.drop_cgroups()
        cgroups = Cgroups(self.limits, self.log).create() if self.use_cgroups else None
        self._state.cgroups = cgroups
        for note in (cgroups.notes if cgroups else ["cgroups disabled (use_cgroups=False)"]):
            self.log.debug("sandbox: %s", note)
        return cgroups

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self._state.proc = getattr(self.provisioner, "process", None)
        self._state.last_returncode = None

    _launch_kernel = run_sync(_async_launch_kernel)

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
