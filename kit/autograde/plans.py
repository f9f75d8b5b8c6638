"""The notebooks the two grading kernels run, built from a submission's restored notebooks:
`TestPlan` (the import check, then each notebook's setup cell and test cells) and
`CheckPlan` (the environment check, the checks' runner, the import check, one cell per
target of the trusted checks, kit/checks.py). Each says which cells need which run first."""
import copy

import nbformat

from .. import cells, checks, judging, verdicts
from ..problems import Problem, ProblemKind
from .limits import PACKAGE, CellInfo, cell_uses

IMPORT_CHECK = f"import {PACKAGE}"
# Run in a grading kernel before any student code: what the sandbox must show it.
ENVIRONMENT_CHECK = """\
import os as _os
_data = _os.environ.get("CIFAR10_DIR")
if _data:
    try:
        with open(_os.path.join(_data, "data_batch_1"), "rb") as _f:
            _f.read(1)
    except OSError as _err:
        raise RuntimeError("the sandbox cannot see the CIFAR-10 folder %s (%s); it is bound "
                           "read-only from the grading machine: check that the folder exists there "
                           "and is world-readable (chmod -R o+rX)" % (_data, _err.strerror)) from None
"""


def cell_key(name, cell):
    """A notebook cell's name in the reference timings: notebook and grade_id (else cell id)."""
    return f"{name}:{cells.grade_id(cell) or cell.get('id') or ''}"


def notebook_cell_info(name, nb):
    """index -> CellInfo of a student notebook's cells, run for their outputs: a timeout
    there blames nothing (such a cell does much besides calling the student's functions)."""
    return lambda index: CellInfo(key=cell_key(name, nb.cells[index]),
                                  uses=cell_uses(nb.cells[index].source))


class TestPlan:
    """The test kernel's notebook: the import check, then per notebook its setup cell and
    test cells; which cells each cell needs run first (contexts), and each cell's CellInfo."""

    def __init__(self, graded):
        self.slots, self.contexts, self.labels = [], {}, {0: "importing classifiers"}
        self.infos = {0: CellInfo(key=IMPORT_CHECK, uses=frozenset(), blames=frozenset({PACKAGE}))}
        self.stopped = {}   # cell index -> the grader's note, for cells it stopped or skipped
        self.nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORT_CHECK)])
        for name, g in graded.items():
            if g.nb is not None:
                self.add_tests(name, g.nb)
        tests = [self.nb.cells[i] for _, _, i in self.slots]
        # Every check some test cell asks for: what the checking kernel runs.
        self.checks = set().union(*(checks.checks_for(c) for c in tests)) if tests else set()
        self.pending = [0] + sorted(self.contexts)

    def add_tests(self, name, nb):
        tests = [i for i, c in enumerate(nb.cells) if cells.is_test(c)]
        if not tests:
            return
        if not self.slots:
            self.nb.metadata = copy.deepcopy(nb.metadata)
        setup_cell = cells.setup_cell(nb)
        setup = self.add(setup_cell, f"{name} setup cell")
        self.infos[setup] = CellInfo(key=cell_key(name, setup_cell), uses=cell_uses(setup_cell.source))
        for i in tests:
            cell = copy.deepcopy(nb.cells[i])
            cell.outputs, cell.execution_count = [], None
            scratch_index = self.add(cell, f"{name} test cell {cells.grade_id(cell)!r}")
            self.contexts[scratch_index] = (setup,)
            self.slots.append((name, i, scratch_index))
            tested = frozenset(check.partition(":")[0] for check in checks.checks_for(cell))
            self.infos[scratch_index] = CellInfo(key=cell_key(name, cell),
                                                 uses=cell_uses(cell.source) | tested, blames=tested)

    def add(self, cell, label):
        self.nb.cells.append(cell)
        self.labels[len(self.nb.cells) - 1] = label
        return len(self.nb.cells) - 1

    def label(self, index):
        return self.labels.get(index, f"cell {index}") if index is not None else "test kernel"

    def info(self, index):
        return self.infos.get(index, CellInfo())

    def conclude(self, graded, verdicts_by_check, files, found=None):
        """Copy each test cell's outputs into its notebook, let the trusted checks overrule a
        passing cell, and write the kit's own feedback lines (naming the known mistakes in
        `found`, {check: names}); returns the disagreements, as Problems."""
        functions = verdicts.defined_functions(files)
        disagreements = []
        for name, index, scratch_index in self.slots:
            cell = self.nb.cells[scratch_index]
            asked = sorted(checks.checks_for(cell))
            wrong = [verdicts_by_check[c] for c in asked if verdicts_by_check.get(c)]
            note = self.stopped.get(scratch_index)
            named = [mistake for c in asked for mistake in (found or {}).get(c, ())]
            lines = verdicts.test_cell_feedback(cell, grader_note=note, disagreements=wrong,
                                                functions=functions, mistakes=named)
            # A failing cell fails anyway; a passing cell the trusted checks contradict was misled.
            if wrong and cells.first_error(cell) is None:
                cell.outputs.append(cells.error_output(
                    "TrustedCheckFailed", "the grader's own check of your code disagrees with this "
                    "test cell's result: " + "; ".join(wrong)))
                disagreements += [Problem(ProblemKind.TRUSTED_CHECK_FAILED,
                                          f"trusted check ({self.label(scratch_index)}): {v}") for v in wrong]
            target = graded[name].nb.cells[index]
            target.outputs = cell.outputs
            # Kept with the graded notebook, where nbgrader's generate_feedback finds it too.
            target.metadata.setdefault("kit", {})["feedback"] = lines
            graded[name].feedback[cells.grade_id(target)] = lines
        return disagreements


class CheckPlan:
    """The checking kernel's notebook: the environment check, the runner, the import check,
    then one cell per target of the checks (each needing the runner run first)."""

    def __init__(self, wanted, seed):
        self.seed, self.checks = seed, set(wanted)
        runner, calls = checks.prepare(self.checks, seed) if self.checks else ("", {})
        self.calls = {}   # target -> cell index
        # The grader's own cells first, before any student module loads: the environment
        # check, then the runner, which takes its own references.
        self.nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
            ENVIRONMENT_CHECK, runner, IMPORT_CHECK)])
        self.labels = {0: "environment check", 1: "runner", 2: "importing classifiers"}
        self.contexts = {}
        for target, source in calls.items():
            self.nb.cells.append(nbformat.v4.new_code_cell(source))
            index = len(self.nb.cells) - 1
            self.calls[target], self.labels[index], self.contexts[index] = index, target, (1,)

    def info(self, index):
        """Each check cell's timing key; its own kernel, whose cells are one call each, needs
        no record of hangs (a check may use inputs larger than any test cell's)."""
        return CellInfo(key=f"checks:{self.labels.get(index, index)}")

    def judge(self, found=None):
        """{check: None when right, else why it is wrong}; fills `found` (see judging.judge)."""
        if not self.checks:
            return {}
        outputs = {target: self.nb.cells[index].outputs for target, index in self.calls.items()}
        return judging.judge(outputs, self.checks, self.seed, found)
