"""Cell-level rules of grading: which cells are whose, how a submission is restored, how cells score.

nbgrader's conventions are kept: cells carry `metadata.nbgrader` with `grade_id`,
`grade`, `solution`, `locked` and `points`. What differs from nbgrader's own
preprocessors is that the instructor's source notebook is the only authority: every
locked or test cell is taken from it whatever the submission did to it (edited,
deleted, metadata stripped, duplicated), and a cell whose grade_id the source does not
know is just an ordinary cell.
"""
import copy

import nbformat

# One rule for what a graded cell is called, for the feedback, the report and the students' check.
from utils.cell_names import cell_names
from utils.check import first_error   # "failed": the students' check's rule (kit/notebook_rules.py)
from .course import Course, student_owned
# The cell predicates are the notebook rules' (kit/notebook_rules.py); they are named
# here too because every grading module reads cells through this module.
from .notebook_rules import (NOTEBOOKS, flags, grade_id, grading_kind,  # noqa: F401
                             is_graded, is_instructor_cell, is_test, meta)
from .phrases import N_
from .problems import Problem, ProblemKind
from .scores import AUTO, MANUAL, CellScore


def error_output(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


def restore(submitted, source, release):
    """Return the submission with every instructor cell taken from `source`, and notes on changes
    (Problems: cells restored, metadata removed).

    Missing instructor cells are put back after the nearest earlier cell that is present;
    missing answer cells come back empty (from `release`), never with the model answer.
    """
    masters = {grade_id(c): c for c in source.cells if grade_id(c)}
    blanks = {grade_id(c): c for c in release.cells if grade_id(c)}
    order = [grade_id(c) for c in source.cells if grade_id(c)]
    nb = copy.deepcopy(submitted)
    restored, notes, seen = [], [], set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid not in masters or gid in seen:
            if gid is not None or meta(cell):
                notes.append(Problem(ProblemKind.METADATA_REMOVED,
                                     f"cell {gid!r}: nbgrader metadata the source does not know was removed"))
            cell.get("metadata", {}).pop("nbgrader", None)
            restored.append(clean(cell))
            continue
        seen.add(gid)
        master = masters[gid]
        if is_instructor_cell(master):
            handed_out = blanks.get(gid, master)
            if cell.source != handed_out.source or flags(cell) != flags(handed_out):
                notes.append(Problem(ProblemKind.CELLS_RESTORED,
                                     f"cell {gid!r}: restored from the instructor's version"))
            restored.append(clean(copy.deepcopy(master)))
        else:
            restored.append(answer_cell(cell, master))
    for gid in order:
        if gid in seen:
            continue
        notes.append(Problem(ProblemKind.CELLS_RESTORED, f"cell {gid!r}: missing from the submission, restored"))
        cell = masters[gid] if is_instructor_cell(masters[gid]) else blanks.get(gid, masters[gid])
        restored.insert(insert_position(restored, order, gid), clean(copy.deepcopy(cell)))
        seen.add(gid)
    nb.cells = restored
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb, notes


def answer_cell(cell, master):
    """The student's text in the master's kind of cell, with the master's metadata."""
    if cell.cell_type != master.cell_type:
        cell = (nbformat.v4.new_code_cell if master.cell_type == "code"
                else nbformat.v4.new_markdown_cell)(cell.source)
    cell.metadata["nbgrader"] = copy.deepcopy(meta(master))
    return clean(cell)


def insert_position(cells, order, gid):
    earlier = set(order[:order.index(gid)])
    for pos in range(len(cells) - 1, -1, -1):
        if grade_id(cells[pos]) in earlier:
            return pos + 1
    return 0


def clean(cell):
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def setup_cell(nb):
    """A copy of the notebook's first code cell: the locked setup (paths, imports)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            return copy.deepcopy(cell)
    return nbformat.v4.new_code_cell("")


def scores(nb, release):
    """Score every graded cell: test cells from their outputs, answers as nbgrader does.
    Returns {grade_id: CellScore}."""
    blanks = {grade_id(c): c.source for c in release.cells if grade_id(c)}
    result = {}
    for cell in nb.cells:
        if not is_graded(cell):
            continue
        gid, points = grade_id(cell), float(meta(cell).get("points", 0))
        if is_test(cell):
            error = first_error(cell)
            result[gid] = CellScore(gid, AUTO, score=0.0 if error else points, max=points,
                                    # Never the error's text: it can carry hidden-test source, and
                                    # this record is copied next to the feedback (verdicts.py words it).
                                    message="failed" if error else "passed")
        else:
            unanswered = cell.source.strip() == blanks.get(gid, "").strip()
            result[gid] = CellScore(gid, MANUAL, score=0.0 if unanswered else None, max=points,
                                    message=N_("unanswered") if unanswered else N_("needs manual grading"))
    return result


def zero_scores(source, reason):
    """Every graded cell of a notebook that could not be graded at all (e.g. missing), scored 0:
    {grade_id: CellScore}."""
    return {grade_id(c): CellScore(grade_id(c), grading_kind(c), score=0.0,
                                   max=float(meta(c).get("points", 0)), message=reason)
            for c in source.cells if is_graded(c)}


def student_files(submission):
    """The student's own files in a submitted folder (bytes by relative path), and problems found."""
    files, problems = {}, []
    for rel in [*NOTEBOOKS, *student_owned(submission)]:
        path = submission / rel
        if not path.exists():
            continue
        if path.is_symlink() or not path.is_file():
            problems.append(f"{rel}: not a regular file, ignored")
            continue
        files[rel] = path.read_bytes()
    return files, problems


def released_names(course):
    """{notebook: {grade_id: name}}: each graded cell named as the course's students see it
    (utils/cell_names.py), read from the released notebooks, so in the release's language."""
    found = {}
    for nb in NOTEBOOKS:
        path = Course(course).release / nb
        if path.is_file():
            found[nb] = cell_names(nbformat.read(str(path), as_version=4).cells)
    return found
