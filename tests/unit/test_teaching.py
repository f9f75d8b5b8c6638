"""The notebooks teach, not dictate (issue 14): what students can read before they answer.

Checked on the released assignment, the text a student gets: no gradient formula or recipe,
no answer to a written question, no grader machinery; questions numbered, with the points
their answer cells are worth; every requirement the TODOs state is graded, and nothing else.
(The learned templates are checked where the notebooks run: tests/e2e/test_notebooks.py.)
"""
import ast
import functools
import re

import nbformat
import pytest

from kit import checks as kit_checks
from kit.course import Course
from giveaways import GIVEAWAYS, student_texts
from kit_helpers import REPO

NOTEBOOKS = ("svm.ipynb", "softmax.ipynb")

QUESTION = re.compile(r"^\*\*(Inline question|Question) (\d+)\*\* \((\d+) points?\)")


@pytest.fixture(scope="module")
def released(released_course):
    return Course(released_course).release


@pytest.mark.parametrize("what, pattern", GIVEAWAYS, ids=[g[0] for g in GIVEAWAYS])
def test_released_text_gives_nothing_away(released, what, pattern):
    found = [f"{where}: {m.group(0)!r}" for where, text in student_texts(released)
             for m in re.finditer(pattern, text)]
    assert not found, f"{what} in what students read:\n" + "\n".join(found)


def answer_pairs(nb):
    """(question cell, answer cell) for every graded written answer."""
    pairs = []
    for before, cell in zip(nb.cells, nb.cells[1:]):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("grade"):
            pairs.append((before, cell))
    return pairs


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_questions_are_numbered_with_the_points_of_their_answers(name):
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    numbers = {"Inline question": [], "Question": []}
    for question, answer in answer_pairs(nb):
        heading = QUESTION.match(question.source)
        assert heading, f"{name}: the cell before {answer.metadata['nbgrader']['grade_id']} is no question heading"
        kind, number, points = heading.group(1), int(heading.group(2)), int(heading.group(3))
        numbers[kind].append(number)
        assert answer.metadata["nbgrader"]["points"] == points, \
            f"{name} {kind} {number}: heading says {points} points, the answer cell is worth " \
            f"{answer.metadata['nbgrader']['points']}"
    for kind, seen in numbers.items():
        assert seen == list(range(1, len(seen) + 1)), f"{name}: {kind}s numbered {seen}"
    # Every question heading has an answer cell right after it.
    headings = [c for c in nb.cells if c.cell_type == "markdown" and QUESTION.match(c.source)]
    assert len(headings) == len(answer_pairs(nb))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_introduction_states_the_points_there_are(name):
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    tests = sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells
                if c.cell_type == "code" and c.metadata["nbgrader"].get("grade"))
    hand = sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells
               if c.cell_type == "markdown" and c.metadata["nbgrader"].get("grade"))
    intro = nb.cells[0].source
    assert f"worth {tests} points in all" in intro and f"are worth {hand} points" in intro, intro


def test_the_same_question_is_worth_the_same_in_both_notebooks():
    def weights_points(name):
        nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
        return [a.metadata["nbgrader"]["points"] for q, a in answer_pairs(nb) if "weights" in
                a.metadata["nbgrader"]["grade_id"]]
    assert weights_points("svm.ipynb") == weights_points("softmax.ipynb") == [3]


def test_students_are_asked_to_derive_both_gradients_before_implementing():
    for name, function in (("svm.ipynb", "svm_loss_naive"), ("softmax.ipynb", "softmax_loss_naive")):
        cells = nbformat.read(REPO / "notebooks" / name, as_version=4).cells
        derive = next(i for i, c in enumerate(cells) if QUESTION.match(c.source) and "Derive" in c.source)
        task = next(i for i, c in enumerate(cells) if "**Your task:**" in c.source and function in c.source)
        assert derive < task, f"{name}: the derivation question comes after the task"


# ---------------------------------------------------------------- stated requirements, graded

# Every requirement a TODO or docstring in classifiers/ states, beside the check that grades it
# (kit/checks.py names). A requirement not listed here is not graded; a check not listed here
# grades something no TODO asks for.
REQUIREMENTS = [
    ("linear_svm.py", "svm_loss_naive", "the loss is the average of the hinge terms", "svm_loss_naive:loss"),
    ("linear_svm.py", "svm_loss_naive", "dW is its", "svm_loss_naive:grad"),
    ("linear_svm.py", "svm_loss_vectorized", "the same loss and gradient", "svm_loss_vectorized:loss"),
    ("linear_svm.py", "svm_loss_vectorized", "the same loss and gradient", "svm_loss_vectorized:grad"),
    ("linear_svm.py", "svm_loss_vectorized", "without any explicit loop over the examples",
     "svm_loss_vectorized:vectorized"),
    ("softmax.py", "softmax_loss_naive", "plus the regularization", "softmax_loss_naive:loss"),
    ("softmax.py", "softmax_loss_naive", "dW is its gradient", "softmax_loss_naive:grad"),
    ("softmax.py", "softmax_loss_naive", "make it numerically stable", "softmax_loss_naive:offset"),
    ("softmax.py", "softmax_loss_vectorized", "the same loss and gradient", "softmax_loss_vectorized:loss"),
    ("softmax.py", "softmax_loss_vectorized", "the same loss and gradient", "softmax_loss_vectorized:grad"),
    ("softmax.py", "softmax_loss_vectorized", "numerically stable", "softmax_loss_vectorized:offset"),
    ("softmax.py", "softmax_loss_vectorized", "instead of a loop over the examples",
     "softmax_loss_vectorized:vectorized"),
    ("linear_classifier.py", "predict", "the class with the highest score", "LinearClassifier:predict"),
    ("linear_classifier.py", "train", "sample batch_size elements", "LinearClassifier:train"),
    ("linear_classifier.py", "train", "update the weights using the gradient", "LinearClassifier:train"),
]


def function_text(module, name):
    tree = ast.parse((REPO / "classifiers" / module).read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)
    return " ".join(ast.get_source_segment((REPO / "classifiers" / module).read_text(), node).split()).lower()


@functools.cache
def declared_checks():
    """{check: [notebook:grade_id of each test cell declaring it]}, read once."""
    checks = {}
    for name in NOTEBOOKS:
        for cell in nbformat.read(REPO / "notebooks" / name, as_version=4).cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                for check in kit_checks.checks_for(cell):
                    checks.setdefault(check, []).append(f"{name}:{cell.metadata['nbgrader']['grade_id']}")
    return checks


@pytest.mark.parametrize("module, function, phrase, check", REQUIREMENTS,
                         ids=[f"{r[1]}:{r[3].split(':')[1]}" for r in REQUIREMENTS])
def test_each_stated_requirement_is_in_its_todo_and_graded(module, function, phrase, check):
    text = function_text(module, function)
    # Comments wrap across lines and boxes: compare the words only.
    words = " ".join(re.sub(r"[#\s]+", " ", text).split())
    assert phrase.lower() in words, f"{module}:{function} no longer states {phrase!r}"
    assert check in declared_checks(), f"{check} is stated in {function} but no test cell grades it"


def test_nothing_is_graded_that_no_todo_asks_for_and_each_once():
    stated = {check for *_, check in REQUIREMENTS}
    declared = declared_checks()
    assert set(declared) <= stated, f"graded but never asked for: {set(declared) - stated}"
    twice = {check: cells for check, cells in declared.items() if len(cells) > 1}
    assert not twice, f"graded in more than one test cell (one bug would cost twice): {twice}"
    # Given code (Softmax.loss, LinearSVM.loss) earns nothing.
    assert not any(check.startswith(("Softmax:", "LinearSVM:")) for check in declared)
