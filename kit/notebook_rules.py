"""The assignment's notebook rules, in one place: which notebooks there are and how a
notebook's id and file name map, the region markers (solution, hidden tests) as the
course's nbgrader configuration sets them, the solution regions of a text, and which
cells are whose (release, grading, feedback and i18n all ask here).

The students' `utils/check.py` ships without nbgrader and without the kit, so it keeps
its own copy of the few rules it needs (the notebook list, the hidden-test markers, the
test-cell rule); tests/unit/test_notebook_rules.py proves the copies agree.
"""
from dataclasses import dataclass

from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

# One rule for "test cell", for the grader and the students' own check (utils/check.py
# cannot import the kit, so the rule lives there; its rule for "failed", first_error, is
# imported from there by kit/cells.py).
from utils.check import is_test

from .errors import KitError

NOTEBOOKS = ("svm.ipynb", "softmax.ipynb")
NOTEBOOK_SUFFIX = ".ipynb"


def notebook_id(name):
    """nbgrader's id of a notebook (`svm`) from its file name (`svm.ipynb`)."""
    return name[:-len(NOTEBOOK_SUFFIX)] if name.endswith(NOTEBOOK_SUFFIX) else name


def notebook_file(notebook):
    """The file name (`svm.ipynb`) of an nbgrader notebook id (`svm`)."""
    return notebook + NOTEBOOK_SUFFIX


@dataclass(frozen=True)
class Markers:
    """The delimiters nbgrader matches anywhere in a line (its ClearSolutions and
    ClearHiddenTests settings, `c.ClearSolutions.begin_solution_delimeter`, ...)."""
    begin_solution: str
    end_solution: str
    begin_hidden: str
    end_hidden: str

    @property
    def words(self):
        return (self.begin_solution, self.end_solution, self.begin_hidden, self.end_hidden)


def markers(config=None):
    """The markers a course configuration (a traitlets Config; None: nbgrader's defaults) sets."""
    solutions, hidden = ClearSolutions(config=config), ClearHiddenTests(config=config)
    return Markers(solutions.begin_solution_delimeter, solutions.end_solution_delimeter,
                   hidden.begin_test_delimeter, hidden.end_test_delimeter)


DEFAULT_MARKERS = markers()
BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN = DEFAULT_MARKERS.words
MARKER_WORDS = DEFAULT_MARKERS.words


def solution_regions(lines, marks=DEFAULT_MARKERS):
    """Yield (begin, end) line indices of each solution region; raise on unbalanced markers."""
    begin = None
    for i, line in enumerate(lines):
        if marks.begin_solution in line:
            if begin is not None:
                raise KitError(f"line {i + 1}: a solution region starts inside another one")
            begin = i
        elif marks.end_solution in line:
            if begin is None:
                raise KitError(f"line {i + 1}: a solution region ends that never began")
            yield begin, i
            begin = None
    if begin is not None:
        raise KitError(f"line {begin + 1}: a solution region is never closed")


def hidden_flags(lines, marks=DEFAULT_MARKERS):
    """For each line of a test cell, whether the release leaves it out (a hidden-test line
    or one of the markers around it). The one rule for what of a test cell students see."""
    hidden = False
    for line in lines:
        if marks.begin_hidden in line:
            hidden = True
            yield True
        elif marks.end_hidden in line:
            hidden = False
            yield True
        else:
            yield hidden


# ---------------------------------------------------------------- cells
# nbgrader's conventions: graded cells carry `metadata.nbgrader` with `grade_id`, `grade`,
# `solution`, `locked` and `points`.

def meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell):
    return meta(cell).get("grade_id")


def flags(cell):
    """The metadata that decides how a cell is graded (nbgrader adds checksums on release)."""
    return {key: meta(cell).get(key) for key in ("grade", "solution", "locked", "points")}


def is_graded(cell):
    """A cell that earns points: a test cell (autograded) or a written answer (by hand)."""
    return bool(meta(cell).get("grade"))


def kind_of(cell_type, solution):
    """"auto" for a test cell (graded code that is no solution: is_test), "manual" for any
    other graded cell (a written answer, graded by hand): the one rule, for the grader's
    scores and the gradebook's alike."""
    return "auto" if cell_type == "code" and not solution else "manual"


def grading_kind(cell):
    """A graded cell's kind (kind_of)."""
    return kind_of(cell.get("cell_type"), bool(meta(cell).get("solution")))


def is_instructor_cell(cell):
    """Cells the student may not change: locked cells and test cells."""
    return bool(meta(cell).get("locked")) or is_test(cell)
