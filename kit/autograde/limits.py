"""How long each cell of a submission may run, and what a hang already cost.

Cell time limits follow the work: a cell the reference solution runs in t seconds may run
max(FLOOR_SECONDS, FACTOR * t), never more than the course's cell timeout (the ceiling, for
cells the reference does not have). Chosen so that no correct solution is stopped:
- FACTOR 10 covers a grader busier than when the reference was timed (the same notebook
  took 36-110 s on one 2-core machine as its load changed: 3x) and, on top of that, a
  correct solution more than 3x slower than the reference (a Python loop over the
  classes, sampling without replacement);
- FLOOR_SECONDS 30 covers what no factor scales in a short cell: the first import of
  numpy and matplotlib in a fresh kernel, a busy disk, and a grader far busier than when
  the reference was timed (with a floor of 20 s, one grading of the reference solution
  on 2 cores at a load of 6-8 had a cell stopped).
A hanging loss then costs 30 s per cell that calls it instead of the two minutes of a
fixed limit. `Hangs` makes it cost one cell: once a test cell, or the import of the
student's package, has run past its limit, the cells that use the same function (or
any part of the package) are not run again in that submission's kernels; they fail with
a note saying where the hang was seen. A test cell whose function sends an output message
over the size limit (kit/outputs.py) is recorded the same way: every call would again.
"""
from dataclasses import dataclass

from ..checks import targets_of

FACTOR = 10
FLOOR_SECONDS = 30
PACKAGE = "classifiers"       # the target every cell importing the student's package has


def cell_limit(reference_seconds, ceiling):
    """The time limit of a cell the reference ran in `reference_seconds` (None: unknown)."""
    if reference_seconds is None:
        return ceiling
    return min(ceiling, max(FLOOR_SECONDS, FACTOR * reference_seconds))


@dataclass(frozen=True)
class CellInfo:
    """What the runner knows of a cell: `key`, its name in the reference timings; `uses`,
    the student functions (and PACKAGE) it needs, not run once one of them is known to
    hang; `blames`, what its own timeout shows to hang (a test cell: the functions it
    tests; the import check: PACKAGE; a notebook cell, which does much else: nothing)."""
    key: str = None
    uses: frozenset = frozenset()
    blames: frozenset = frozenset()


def cell_uses(source):
    """The student functions a cell's code names, plus PACKAGE when it imports from it."""
    found = set(targets_of(source))
    if PACKAGE in source:
        found.add(PACKAGE)
    return frozenset(found)


class Hangs:
    """The targets that ran past their time limit in one submission, and where; shared by
    the submission's kernels (they run in one event loop: no locking needed)."""

    def __init__(self):
        self.known = {}   # target -> (where it failed, why every call would)

    def record(self, targets, where, why="ran past its time limit"):
        """`targets` failed in a way every later call repeats (`why`), seen in `where`."""
        for target in targets:
            self.known.setdefault(target, (where, why))

    def blocking(self, targets):
        """(target, where, why) of the first known hang among `targets`, else None. A hang
        of the package's import blocks every cell that uses the package."""
        for target in sorted(targets, key=lambda t: t != PACKAGE):
            if target in self.known:
                return (target, *self.known[target])
        return None
