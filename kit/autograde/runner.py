"""Running chosen cells of a notebook in sandboxed kernels: a kernel that dies or a cell that
times out costs that cell, and a fresh kernel runs the cells after it; a watchdog stops a
kernel that hits the sandbox's process limit."""
import asyncio
import os
import signal
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .. import cells, sandbox
from ..locations import HIDDEN
from ..outputs import MAX_MESSAGE_BYTES, MiB, BoundedNotebookClient, bounded_error
from ..problems import Problem, ProblemKind
from ..notebook_rules import NOTEBOOKS
from .limits import PACKAGE, CellInfo, cell_limit

LIMIT_POLL_SECONDS = 0.5        # how often a running cell's kernel is checked for a process-limit hit
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Threads count against the sandbox's process limit (64), and a kernel that hits it is
# killed: on a many-core grader, one BLAS thread per core would do that. The assignment's
# thin (N x D) x (D x 10) products gain little beyond a few threads anyway.
MAX_BLAS_THREADS = 8
OUTPUT_DROPPED = (f"the kernel sent one output message over {MAX_MESSAGE_BYTES // MiB} MiB and was stopped "
                  "(the grader keeps no such message, and a kernel sending one is not run further)")
SENT_TOO_MUCH = f"sent an output message over {MAX_MESSAGE_BYTES // MiB} MiB"


def grading_runner(task, workdir, environment=None, hangs=None):
    """Kernels for grading: sandboxed, with the data folder (and the batch's prepared copy,
    kit/shared_data.py) in their env, read-only; a kernel that cannot start is the grader's
    problem (appended to `environment`); `hangs` (limits.Hangs) shared with the
    submission's other kernels."""
    # Set always: kernels graded side by side would otherwise each start one BLAS thread per core.
    env = {var: str(kernel_blas_threads(task)) for var in BLAS_THREAD_VARIABLES}
    readonly = []
    if task.data_dir:
        env["CIFAR10_DIR"] = task.data_dir
        readonly.append(task.data_dir)
    if task.shared_data:
        from utils.data_utils import PREPARED_ENV
        env[PREPARED_ENV] = task.shared_data
        readonly.append(task.shared_data)
    limit = task.submission_timeout
    return KernelRunner(
        make_kernel_manager=lambda: sandbox.kernel_manager(
            workdir=workdir, readonly=readonly, require_isolation=task.require_isolation,
            hidden=list(HIDDEN),  # the grader's own code and solutions, should they be in view
            client_class="kit.outputs.BoundedKernelClient"),
        workdir=workdir, env=env, cell_timeout=task.cell_timeout, environment=environment,
        time_limit_note=f"the submission's time limit ({limit:.0f} s) was reached",
        reference_times=task.reference_times, hangs=hangs)


def blas_share(*, jobs, run_notebooks):
    """BLAS threads per kernel for `jobs` submissions graded at once: the cores shared by
    every kernel that runs at the same time (per submission its test and checking kernels,
    and one per notebook unless tests only), at least 1. OpenBLAS threads busy-wait: with
    each of 4 kernels on 2 cores taking 2 threads, nbgrader's path graded a full-size class
    in 571 s instead of 121 s (1,136 busy core-seconds instead of 296)."""
    kernels = jobs * (2 + (len(NOTEBOOKS) if run_notebooks else 0))
    return max(1, (os.cpu_count() or 1) // kernels)


def kernel_blas_threads(task):
    """The task's share of cores (--jobs); else what this process was given (a Dask nanny
    sets one thread per worker); else every core. At most MAX_BLAS_THREADS."""
    wanted = task.blas_threads or next(
        (int(os.environ[v]) for v in BLAS_THREAD_VARIABLES if os.environ.get(v, "").isdigit()),
        os.cpu_count() or 1)
    return max(1, min(wanted, MAX_BLAS_THREADS))


class KernelRunner:
    """Execute chosen cells of a notebook in sandboxed kernels, replacing dead or stuck ones.

    `contexts` maps a cell to the cells a kernel must have run before it (a setup cell):
    run when the cell's context differs from the kernel's, outputs kept from their first
    run only. When a `fatal` cell times out or kills its kernel, no further cell runs.
    `info` maps a cell index to its limits.CellInfo: its time limit comes from
    `reference_times` (limits.cell_limit; the ceiling is `cell_timeout`), and it is not
    run once something it uses is known to hang (`hangs`, limits.Hangs).
    Returns the problems met, as (cell index or None, Problem).
    """

    def __init__(self, *, make_kernel_manager, workdir, env, cell_timeout, time_limit_note,
                 environment=None, reference_times=None, hangs=None):
        self.make_kernel_manager, self.workdir, self.env = make_kernel_manager, workdir, env
        self.environment = environment if environment is not None else []
        self.cell_timeout, self.time_limit_note = cell_timeout, time_limit_note
        self.reference_times, self.hangs = reference_times or {}, hangs
        self.info = lambda index: CellInfo()
        self.limit_baseline = 0   # process-limit hits of the running kernel at its launch
        self.notes = {}           # cell index -> why the grader stopped or skipped it
        self.times = {}           # CellInfo.key -> seconds the cell ran (cells that ended well)
        self.memory_peak = None   # bytes: the most memory any of its kernels used (cgroup), if known
        self.km = None            # the kernel manager of the latest kernel

    async def run(self, nb, indices, deadline, max_restarts, contexts=None, fatal=(), info=None):
        if info is not None:
            self.info = info
        self.skipped = []   # (index, Problem) of the cells a known hang kept from running
        problems = await self._run(nb, indices, deadline, max_restarts, contexts, fatal)
        return problems + self.skipped

    async def _run(self, nb, indices, deadline, max_restarts, contexts, fatal):
        pending, contexts, problems, restarts, seen = list(indices), contexts or {}, [], 0, set()
        while pending:
            try:
                failure = await self._run_in_one_kernel(nb, pending, contexts, deadline, seen, fatal)
                self._note_memory_peak()
            except (RuntimeError, TimeoutError, OSError) as err:
                reason = f"the kernel could not start ({type(err).__name__}: {err})"
                self.environment.append(reason)
                return problems + self._skip(nb, pending, reason)
            if failure:
                index, problem, in_context = failure
                problems.append((index, problem))
                if index in fatal and not in_context:
                    return problems + self._skip(nb, pending, problem.message)
            restarts += 1
            if pending and restarts > max_restarts:
                return problems + self._skip(nb, pending, "not run after repeated kernel failures")
        return problems

    async def _run_in_one_kernel(self, nb, pending, contexts, deadline, seen, fatal):
        """Run pending cells (popped as they run) in one kernel until one fails: then
        (index, Problem, whether it was a context cell run again) of that cell, the kernel
        to be replaced; None when all ran."""
        client = self._client(nb)
        async with client.async_setup_kernel(env=self.env, cleanup_kc=True):
            # Per launch, not per cell: hits a finished cell left behind still count.
            self.limit_baseline = process_limit_hits(client.km)
            loaded = ()
            while pending:
                index = pending[0]
                needed = contexts.get(index, ())
                if needed != loaded:
                    failure = await self._run_context(client, nb, needed, deadline, seen)
                    if failure:
                        return (*failure, True)
                    loaded = needed
                pending.pop(0)
                if self._skip_known_hang(nb, index):
                    continue
                problem = await self._execute(client, nb, index, deadline)
                if problem:
                    return index, problem, False
                if any(index in context for context in contexts.values()):
                    loaded = (*loaded, index)  # run in order: it is not run again
        return None

    async def _run_context(self, client, nb, needed, deadline, seen):
        """Run a kernel's setup cells; (index, Problem) when one times out or kills the kernel."""
        for index in needed:
            saved = nb.cells[index].outputs if index in seen else None
            problem = await self._execute(client, nb, index, deadline)
            if saved is not None:
                nb.cells[index].outputs = saved
            seen.add(index)
            if problem:
                return index, problem
        return None

    async def _execute(self, client, nb, index, deadline):
        """Run one cell; return why its kernel must be replaced (a Problem: timeout, death) or None."""
        cell = nb.cells[index]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            message = self.time_limit_note
            cell.outputs = [cells.error_output("TimeLimit", message)]
            self.notes[index] = message
            return Problem(ProblemKind.TIME_LIMIT, message)
        info = self.info(index)
        limit = cell_limit(self.reference_times.get(info.key), self.cell_timeout)
        client.timeout = int(max(1, min(limit, remaining)))
        started = time.monotonic()
        # Where a failure every later call would repeat was seen (Hangs), if this cell blames any.
        blames = info.blames if self.hangs is not None else ()
        where = info.key or f"cell {index}"
        try:
            await stop_at_limits(client, client.async_execute_cell(cell, index), self.limit_baseline)
        except CellTimeoutError:
            problem = Problem(ProblemKind.TIMEOUT,
                              f"timeout: the cell ran longer than its time limit ({client.timeout} s) "
                              "and was stopped")
            if blames:
                self.hangs.record(blames, where)
        except OutputDropped:
            problem = Problem(ProblemKind.RESOURCE_LIMIT, OUTPUT_DROPPED)
            if blames:
                self.hangs.record(blames, where, why=SENT_TOO_MUCH)
        except DeadKernelError:
            # A limit the sandbox names is the submission's resource use, else a plain death.
            kind = ProblemKind.RESOURCE_LIMIT if sandbox.limit_hit(client.km) else ProblemKind.DEAD_KERNEL
            problem = Problem(kind, sandbox.death_reason(client.km))
        else:
            if info.key:
                self.times[info.key] = time.monotonic() - started
            return None
        cell.outputs.append(cells.error_output("KernelFailure", problem.message))
        self.notes[index] = problem.message
        return problem

    def _note_memory_peak(self):
        events = self.km.limit_events() if hasattr(self.km, "limit_events") else {}
        peak = events.get("memory_peak")
        if peak is not None:
            self.memory_peak = max(self.memory_peak or 0, peak)

    def _skip_known_hang(self, nb, index):
        """Whether the cell was skipped: something it uses already ran past its limit."""
        known = self.hangs.blocking(self.info(index).uses) if self.hangs is not None else None
        if known is None:
            return False
        target, where, why = known
        what = f"importing the package {PACKAGE}" if target == PACKAGE else target
        reason = f"not run: {what} {why} (in {where}), so this cell would too"
        nb.cells[index].outputs = [cells.error_output("NotRun", reason)]
        self.notes[index] = reason
        self.skipped.append((index, Problem(ProblemKind.NOT_RUN, reason)))
        return True

    def _client(self, nb):
        km = self.km = self.make_kernel_manager()
        # "immediate": the sandbox kills the kernel's whole cgroup anyway; a graceful
        # shutdown only waits for a process nobody needs any more.
        return BoundedNotebookClient(nb, km=km, timeout=int(self.cell_timeout), allow_errors=True,
                                     interrupt_on_timeout=False, kernel_name="python3",
                                     shutdown_kernel="immediate", on_cell_executed=record_silent_error,
                                     resources={"metadata": {"path": str(self.workdir)}})

    def _skip(self, nb, pending, reason):
        for index in pending:
            nb.cells[index].outputs = [cells.error_output("NotRun", f"not run: {reason}")]
            self.notes[index] = f"not run: {reason}"
        pending.clear()
        return [(None, Problem(ProblemKind.NOT_RUN, f"not run: {reason}"))]


class OutputDropped(DeadKernelError):
    """The kernel's output connection was dropped (a message over the size limit) and the
    kernel stopped: nothing it sends after that would reach the grader."""


async def stop_at_limits(client, work, baseline):
    """Await `work` (a cell's execution); kill the kernel as soon as its sandbox has hit the
    process limit more often than `baseline` (its count at launch), or its output
    connection has been dropped while it lives (kit/outputs.py: a message over the size
    limit). A fork bomb the limit contains would otherwise keep every core busy until
    the cell's timeout, slowing the submissions graded beside it; a kernel whose outputs
    no longer arrive would have every later cell lose its outputs and wait for a status
    that never comes. The dead kernel costs the cell (DeadKernelError, also when the cell
    ended first; OutputDropped for a dropped connection), and sandbox.death_reason names
    the process limit. Needs the cgroup pids controller: with RLIMIT_NPROC alone no
    process-limit hit is counted."""
    task = asyncio.ensure_future(work)
    killed = None
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=LIMIT_POLL_SECONDS)
            if killed is None:
                killed = await _limit_reached(client, baseline)
                if killed is not None:
                    await stop_kernel(client.km)
            if done and killed is not None:
                task.exception()  # retrieved and set aside: the limit is what counts
                raise killed
            if done:
                return task.result()
    finally:
        if not task.done():  # we were cancelled: the cell's execution must not outlive us
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def stop_kernel(km):
    """Kill the kernel now: with its sandbox's whole process tree where it has one."""
    if hasattr(km, "kill_processes"):
        await asyncio.to_thread(km.kill_processes)
    else:
        await km.signal_kernel(signal.SIGKILL)


async def _limit_reached(client, baseline):
    """The error to end the cell with, when its kernel must be stopped; else None."""
    if process_limit_hits(client.km) > baseline:
        return DeadKernelError("the kernel hit the process limit and was stopped")
    lost = getattr(client.kc, "output_lost", None)
    # A kernel that died drops its connection too: that death is nbclient's to report.
    if lost is not None and lost() and await client.km.is_alive():
        return OutputDropped(OUTPUT_DROPPED)
    return None


def process_limit_hits(km):
    events = km.limit_events() if hasattr(km, "limit_events") else {}
    return events.get("pids_max_hits") or 0


def record_silent_error(cell, cell_index, execute_reply):
    """A cell whose reply says it failed fails, even if its traceback display was silenced."""
    content = execute_reply.get("content", {})
    if content.get("status") == "error" and cells.first_error(cell) is None:
        content = bounded_error(content)
        cell.outputs.append(cells.error_output(content.get("ename") or "Error",
                                               content.get("evalue") or "the cell raised an error"))
