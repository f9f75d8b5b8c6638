"""The score contract: what a graded cell's score is, when it counts as passed, what a
student's scores add up to, and what a notebook restored for grading holds. One rule each,
for grading, the store, feedback and the reports.

A cell's score is a `CellScore` everywhere in the kit: grading makes it, a GradingResult
carries it (it pickles to a process pool or a Dask worker and back), the score store writes
it to grading.json (`CellScore.stored`, plain JSON) and the gradebook, and reads both back
as CellScores (`CellScore.read`, `StudentScores`). Nothing passes a score around as a dict.
"""
from dataclasses import dataclass, field, replace

AUTO, MANUAL = "auto", "manual"


@dataclass(frozen=True)
class CellScore:
    """One graded cell's score.

    grade_id: the cell's nbgrader grade id; kind: AUTO for a test cell, MANUAL for a written
    answer (notebook_rules.grading_kind); score: the points, None while a written answer
    waits for a grader; max: its points; message: the grader's word for it ("passed",
    "unanswered", ...: English, translated as a page is rendered); feedback: the kit's
    lines for a test cell (verdicts.py), None where it has none.
    Read from the gradebook (StudentScores) it also has by_hand (a grader gave the score),
    state (a written answer's: "graded", "pending" or "unanswered") and comment (a grader's).
    """
    grade_id: str
    kind: str
    score: float = None
    max: float = 0.0
    message: str = None
    feedback: tuple = None
    by_hand: bool = False
    state: str = None
    comment: str = None

    @property
    def passed(self):
        """Full marks: the one rule for 'passed'."""
        return self.score is not None and self.score == self.max

    @property
    def points(self):
        """The points the score counts for in a total (a pending answer counts 0)."""
        return self.score or 0   # 0 while pending: a total of pending cells stays the integer 0

    def with_feedback(self, lines):
        return replace(self, feedback=tuple(lines))

    def stored(self):
        """grading.json's entry for this score: plain JSON, feedback left out when None (what
        the gradebook holds, by_hand, state and comment, is not kept there)."""
        entry = {"score": self.score, "max": self.max, "kind": self.kind, "message": self.message}
        if self.feedback is not None:
            entry["feedback"] = list(self.feedback)
        return entry

    @classmethod
    def read(cls, grade_id, stored):
        """The score of a grading.json entry (`stored`, a dict as `stored()` writes)."""
        feedback = stored.get("feedback")
        return cls(grade_id=grade_id, kind=stored["kind"], score=stored.get("score"),
                   max=float(stored.get("max", 0.0)), message=stored.get("message"),
                   feedback=tuple(feedback) if isinstance(feedback, list) else None)


def totals(cell_scores):
    """(points, most points) of some CellScores: the one rule for adding scores up."""
    cell_scores = list(cell_scores)
    return sum(s.points for s in cell_scores), sum(s.max for s in cell_scores)


def cells_of(sheets, kind=None):
    """Every CellScore of some notebooks' scores ({grade_id: CellScore} each), of one kind if given."""
    return [s for sheet in sheets for s in sheet.values() if kind is None or s.kind == kind]


def read_sheet(stored):
    """{grade_id: CellScore} of one notebook's grading.json scores ({grade_id: entry})."""
    return {gid: CellScore.read(gid, entry) for gid, entry in stored.items()}


@dataclass(frozen=True)
class StudentScores:
    """One graded submission's scores as the store holds them now (hand grades included).

    student: the id; status: grades.csv's few words (grading.json's); late: late.late_info()
    of the submission ({penalty: points taken off or None without a due date, seconds_late:
    None when the time is unknown, ...}); scores: {notebook: {grade_id: CellScore}}.
    """
    student: str
    status: str
    late: dict
    scores: dict = field(default_factory=dict)

    def cells(self, kind=None):
        """Every CellScore of the submission (of one kind, if given), notebook by notebook."""
        return cells_of(self.scores.values(), kind)

    def totals(self, kind=AUTO):
        """(points, most points) of the cells of one kind."""
        return totals(self.cells(kind))

    @property
    def hand_points(self):
        """The points graders gave by hand (written answers, test cells they overruled)."""
        return sum(s.points for s in self.cells() if s.by_hand)

    @property
    def ungraded(self):
        """How many cells still wait for a grader."""
        return sum(s.score is None for s in self.cells())

    def answer_counts(self):
        """{graded, pending, unanswered}: how many written answers are in each state."""
        counts = dict.fromkeys(("graded", "pending", "unanswered"), 0)
        for s in self.cells():
            if s.state in counts:
                counts[s.state] += 1
        return counts

    @property
    def final_total(self):
        """The final grade: its points (auto and by hand) less its late penalty. nbgrader
        caps a penalty at the score; the floor only guards an odd gradebook."""
        (auto, _), (by_hand, _) = self.totals(AUTO), self.totals(MANUAL)
        return max(0.0, auto + by_hand - (self.late["penalty"] or 0.0))

    @property
    def most(self):
        """The most points the submission can get (test cells and written answers)."""
        return self.totals(AUTO)[1] + self.totals(MANUAL)[1]


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
