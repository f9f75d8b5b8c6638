"""Where grading tasks run: in this process, in a local process pool (`--jobs N`) or on a
Dask cluster. Each yields results as tasks finish; a task that raises, or whose worker is
lost, becomes a failed result naming the error, never an exception that stops the batch."""
import time
from concurrent.futures import as_completed

from ..pools import process_pool
from . import cluster
from .steps import grade_submission
from .result import failed_result

POLL_SECONDS = 2.0   # how often a Dask batch looks whether the cluster still has workers


def execute_tasks(tasks, *, jobs, scheduler=None, progress=True):
    """Yield one GradingResult per GradingTask, in the order they finish.

    Inputs: tasks; jobs, processes at a time (1: this process); scheduler, a Dask
    scheduler's cluster.Access, from cluster.check_scheduler (then jobs is not used);
    progress, whether to show a progress bar. Raises KitError if the scheduler cannot be
    reached (before any task is sent).
    """
    from tqdm import tqdm
    bar = tqdm(total=len(tasks), desc="Grading", unit="submission", disable=not progress)
    try:
        if scheduler:
            yield from _on_dask(tasks, scheduler, bar)
        elif jobs == 1 or len(tasks) == 1:
            for task in tasks:
                yield grade_or_fail(task)
                bar.update()
        else:
            with process_pool(jobs, preload=[__name__]) as pool:
                futures = {pool.submit(grade_or_fail, task): task for task in tasks}
                for future in as_completed(futures):
                    yield result_or_failure(future, futures[future])
                    bar.update()
    finally:
        bar.close()


def _on_dask(tasks, access, bar):
    """Results as the cluster's workers finish them. While the cluster has no worker at all
    for access.no_worker_timeout seconds (every worker gone, none started), the submissions
    still waiting become grader errors saying so: the batch ends instead of waiting forever."""
    from distributed import wait
    with cluster.connect(access) as client:
        futures = client.map(grade_or_fail, tasks, pure=False)
        task_of = {f.key: t for f, t in zip(futures, tasks)}
        pending, alone_since = set(futures), None
        while pending:
            try:
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                yield result_or_failure(future, task_of[future.key])
                bar.update()
            if not pending:
                break
            if client.scheduler_info().get("workers"):
                alone_since = None
                continue
            alone_since = alone_since if alone_since is not None else time.monotonic()
            if time.monotonic() - alone_since >= access.no_worker_timeout:
                client.cancel(list(pending))
                note = (f"no Dask worker on {access.address} for {access.no_worker_timeout:.0f} s: "
                        "start workers (see the README's Dask section) and grade these again, or "
                        "grade them here with --jobs")
                for future in pending:
                    yield failed_result(task_of[future.key], note)
                    bar.update()
                return


def result_or_failure(future, task):
    try:
        return future.result()
    except Exception as err:  # a worker process lost, for example
        return failed_result(task, f"grading crashed: {type(err).__name__}: {err}")


def grade_or_fail(task):
    """grade_submission(task), or a failed result naming the exception it raised."""
    try:
        return grade_submission(task)
    except Exception as err:
        return failed_result(task, f"grading crashed: {type(err).__name__}: {err}")
