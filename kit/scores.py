"""The score contract: what a graded cell's score is and when it counts as passed, and what
a notebook restored for grading holds. One rule each, for grading, the store, feedback and
the reports.

A cell's score travels as a plain dict (it pickles to a Dask worker and back, and is
stored as JSON in grading.json): {score (None while a written answer waits for a grader),
max, kind ("auto" for a test cell, "manual" for a written answer: notebook_rules.grading_kind),
message, feedback (the kit's lines for a test cell)}; `CellScore` is its typed reading.
"""
from dataclasses import dataclass, field

AUTO, MANUAL = "auto", "manual"


def passed(score):
    """Whether a cell's score (a dict as above, or None) is full marks: the one rule."""
    return bool(score) and score.get("score") is not None and score["score"] == score.get("max")


@dataclass(frozen=True)
class CellScore:
    """One graded cell's score, typed (see the module's docstring for its fields)."""
    grade_id: str
    kind: str
    score: float = None
    max: float = 0.0
    message: str = None
    feedback: tuple = None

    @property
    def passed(self):
        return self.score is not None and self.score == self.max

    @classmethod
    def read(cls, grade_id, stored):
        """The typed score of a stored dict (grading.json, GradingResult.scores)."""
        feedback = stored.get("feedback")
        return cls(grade_id=grade_id, kind=stored["kind"], score=stored.get("score"),
                   max=float(stored.get("max", 0.0)), message=stored.get("message"),
                   feedback=tuple(feedback) if feedback is not None else None)


@dataclass
class RestoredNotebook:
    """A submitted notebook with the instructor's cells restored, ready to grade.

    nb: the notebook (None when missing or unreadable); source, release: the instructor's
    notebooks; problems: Problems met on the way (restored cells, a missing notebook);
    feedback: {grade_id: the kit's lines} filled in as the test cells are judged."""
    nb: object
    source: object
    release: object
    problems: list
    feedback: dict = field(default_factory=dict)
