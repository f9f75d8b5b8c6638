"""Where grading tasks run: in this process, in a local process pool (`--jobs N`) or on a
Dask cluster. Each yields results as tasks finish; a task that raises, or whose worker is
lost, becomes a failed result naming the error, never an exception that stops the batch."""
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from . import cluster
from .grading import grade_submission
from .result import failed_result


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
            with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(grade_or_fail, task): task for task in tasks}
                for future in as_completed(futures):
                    yield result_or_failure(future, futures[future])
                    bar.update()
    finally:
        bar.close()


def _on_dask(tasks, access, bar):
    from distributed import as_completed as dask_completed
    with cluster.connect(access) as client:
        futures = client.map(grade_or_fail, tasks, pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for future in dask_completed(futures):
            yield result_or_failure(future, by_key[future.key])
            bar.update()


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
