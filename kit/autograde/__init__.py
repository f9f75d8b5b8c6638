"""`python -m kit autograde`: grade every submission with nbgrader's cell conventions.

Grading one submission is one task with plain inputs and outputs (`GradingTask` in,
a `GradingResult` of scores and graded notebooks out), so the same function runs in this
process, in a local process pool (`--jobs N`) or on Dask workers. Only the calling
process writes the course directory and the gradebook. Feedback for students is a
later stage (`python -m kit feedback`), after any grading by hand.

Per submission, the task:
1. restores every locked cell and test cell of each notebook from the instructor's
   source notebook (hidden tests included), re-inserting deleted ones and dropping
   nbgrader metadata that the source does not know (cells.py);
2. runs each student notebook in a sandboxed kernel of its own (side by side), test
   cells left out, for the outputs a grader reads by hand;
3. at the same time, in a second sandboxed kernel that no notebook cell touches:
   imports the student's package, runs each notebook's setup cell and its test cells;
4. at the same time, in a third sandboxed kernel where no test cell (and so no hidden
   test's reference code) ever runs: the trusted checks (kit/checks.py), on inputs drawn
   afresh and sent only inside the cells that use them, results sent back as outputs;
5. scores each test cell from the second kernel (an error, a timeout or a dead kernel
   costs the cell's points; text on stderr such as warnings does not); a passing cell
   whose functions the trusted checks find wrong scores 0; each written answer is scored
   as nbgrader does (unchanged = 0, else left for a grader). What a student's feedback
   says of a test cell is written by the kit (verdicts.py), never quoted from a kernel.
Each kernel works in its own size-limited copy of the files (kit/sandbox/); everything a
kernel sends is bounded (outputs.py), and the graded notebooks are sanitized before they
are written (sanitize.py): nothing a student wrote runs where they are opened.
A kernel that dies or a cell that times out costs that cell; a fresh kernel runs the
cells after it, so one crash never takes the rest of the submission with it. Each cell's
time limit follows the reference solution's time for it (limits.py, reference_times.py),
and a function (or an import) seen to hang is not called again (limits.Hangs). The
CIFAR-10 arrays are prepared once per batch and mapped read-only (kit/shared_data.py).

Modules, one job each:
- task: GradingTask, make_task, the submission's notebooks restored;
- plans: the test kernel's TestPlan and the checking kernel's CheckPlan;
- runner: KernelRunner (kernels replaced when they die or time out), the process-limit watchdog;
- limits: each cell's time limit and the record of hangs; reference_times: timing the reference;
- steps: grade_submission, made of restore, run_sandboxed, judge and finish (nbgrader runs
  the same steps as its own preprocessors: kit/nbgrader_steps.py);
- grading: the kernels of one submission at the same time, a notebook's scores after;
- result: GradingResult, NotebookResult, failed_result (problems: kit/problems.py);
- executors: this process, a local process pool or Dask;
- stage: run(*, ...), the `python -m kit autograde` stage.
"""
from .executors import execute_tasks, grade_or_fail
from .steps import grade_submission
from .result import GRADER_ERROR, GradingResult, NotebookResult, failed_result, grader_errors
from .runner import BLAS_THREAD_VARIABLES, MAX_BLAS_THREADS, KernelRunner, grading_runner, kernel_blas_threads
from .stage import run, task_settings
from .task import GradingTask, make_task
from ..settings import DEFAULT_CELL_TIMEOUT, DEFAULT_SUBMISSION_TIMEOUT

__all__ = [
    "BLAS_THREAD_VARIABLES", "DEFAULT_CELL_TIMEOUT", "DEFAULT_SUBMISSION_TIMEOUT", "GRADER_ERROR",
    "GradingResult", "GradingTask", "KernelRunner", "MAX_BLAS_THREADS", "NotebookResult",
    "execute_tasks", "failed_result", "grade_or_fail", "grade_submission", "grader_errors",
    "grading_runner", "kernel_blas_threads", "make_task", "run", "task_settings",
]
