"""What kept a submission from a plain, full grading: a `Problem` is a kind and a message.

The kind is decided where the problem is met (a cell timed out, a notebook is missing),
never read back out of the message: the status column of grades.csv is computed from the
kinds alone, so rewording a message changes what a grader reads, never the CSV.
"""
from dataclasses import dataclass
from enum import Enum


class ProblemKind(Enum):
    """Each kind's value is the words grades.csv shows for it."""
    MISSING_NOTEBOOK = "missing notebook"
    UNREADABLE_NOTEBOOK = "unreadable notebook"
    TIMEOUT = "timeout"
    TIME_LIMIT = "time limit"
    RESOURCE_LIMIT = "resource limit"
    DEAD_KERNEL = "dead kernel"
    TRUSTED_CHECK_FAILED = "trusted check failed"
    CELLS_RESTORED = "cells restored"
    TIME_UNKNOWN = "submission time unknown"
    GRADER_ERROR = "grader error"
    # Reported to the grader but not in the status: they change no score by themselves.
    NOT_RUN = "not run"
    METADATA_REMOVED = "metadata removed"
    FILE_IGNORED = "file ignored"


# The kinds grades.csv names, in the order of the enum above.
STATUS_KINDS = tuple(k for k in ProblemKind if k not in (
    ProblemKind.NOT_RUN, ProblemKind.METADATA_REMOVED, ProblemKind.FILE_IGNORED))
OK = "ok"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    message: str

    def within(self, where):
        """The same problem, its message prefixed by where it happened ("svm.ipynb cell 3")."""
        return Problem(self.kind, f"{where}: {self.message}")

    def __str__(self):
        return self.message


def status_kinds(problems):
    """The kinds of `problems` that grades.csv names, each once, in the order first met."""
    return list(dict.fromkeys(p.kind for p in problems if p.kind in STATUS_KINDS))


def status_text(kinds):
    """The status column: the kinds' words joined by "; ", or "ok" when there are none."""
    return "; ".join(k.value for k in kinds) or OK


def kinds_from_status(text):
    """The kinds a stored status names (grading.json written before kinds were stored):
    every word of a status is a kind's value. Raises ValueError naming an unknown one."""
    kinds = []
    for word in (w for w in (text or "").split("; ") if w and w != OK):
        try:
            kinds.append(ProblemKind(word))
        except ValueError:
            raise ValueError(f"expected a status made of {[k.value for k in STATUS_KINDS]}, got "
                             f"{word!r} instead; grade the submission again to rewrite its "
                             "grading.json") from None
    return kinds
