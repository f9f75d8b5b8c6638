"""What grading one submission returns: a `GradingResult`, plain data that pickles (it comes
back from a process pool or a Dask worker) and that `score_store.store` writes to disk."""
from dataclasses import dataclass, field

from ..problems import Problem, ProblemKind, status_kinds, status_text
from ..scores import AUTO, cells_of, totals

GRADER_ERROR = ProblemKind.GRADER_ERROR.value


@dataclass
class NotebookResult:
    """One graded notebook: its sanitized JSON text, its scores, its problems.

    scores: {grade_id: CellScore} (kit/scores.py).
    """
    graded: str
    scores: dict
    problems: list = field(default_factory=list)   # Problem


@dataclass
class GradingResult:
    """One submission's grading.

    Inputs: student; timestamp (the submission time's text, None when unknown); notebooks
    {name: NotebookResult}; problems, the submission's own (each notebook's are in it);
    checks {check: [] when right, else the names of the known mistakes that explain it};
    memory_peaks {kernel role ("notebooks", "tests", "checks"): the most bytes its kernels
    used at once (the sandbox's cgroup counter; absent where there is none)}.
    """
    student: str
    timestamp: str = None
    notebooks: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)   # Problem
    checks: dict = field(default_factory=dict)
    memory_peaks: dict = field(default_factory=dict)

    def cells(self, kind=None):
        """Every CellScore of the submission (of one kind, if given), notebook by notebook."""
        return cells_of((nb.scores for nb in self.notebooks.values()), kind)

    def totals(self, kind=AUTO):
        """(points, most points) of the cells of one kind."""
        return totals(self.cells(kind))

    def all_problems(self):
        """The submission's problems, then each notebook's."""
        return list(self.problems) + [p for nb in self.notebooks.values() for p in nb.problems]

    @property
    def kinds(self):
        """The problem kinds grades.csv names, each once, in the order first met."""
        return status_kinds(self.all_problems())

    @property
    def status(self):
        """A few words for grades.csv: what kept this submission from a plain, full grading."""
        return status_text(self.kinds)

    @property
    def failed(self):
        """True when the grader (not the student) failed: nothing of it is to be stored."""
        return ProblemKind.GRADER_ERROR in self.kinds


def failed_result(task, message):
    """A result for a submission the grader failed on (`task` a GradingTask or a result)."""
    return GradingResult(student=task.student, timestamp=task.timestamp,
                         problems=[Problem(ProblemKind.GRADER_ERROR, message)])


def grader_errors(results):
    """The results the grader failed on."""
    return [r for r in results if r.failed]
