"""kit/notebook_limits.py: a notebook over the structure limits (cells, nesting, JSON containers)
is graded as an unreadable notebook when it reaches the grader without collect (nbgrader's own
autograde, a folder copied into course/submitted). Collect's refusal: tests/unit/test_collect.py."""
import json

import pytest

from kit import notebook_limits
from kit.autograde.task import read_submitted
from kit.notebook_limits import MAX_CELLS, MAX_CONTAINERS, MAX_DEPTH, NotebookTooLarge, check_text
from kit.problems import ProblemKind


def notebook_text(cells=1, depth=0, metadata=None):
    """A notebook of `cells` tiny markdown cells, the first one's metadata nested `depth` lists deep."""
    found = [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": "x"} for i in range(cells)]
    found[0]["metadata"] = {"deep": "<>", **(metadata or {})}
    text = json.dumps({"cells": found, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    return text.replace('"<>"', "[" * depth + "]" * depth if depth else '"x"')


@pytest.mark.parametrize("text, expected", [
    (notebook_text(cells=100_000), "100,000 cells, over the limit of 1,000 cells per notebook"),
    (notebook_text(depth=100_000), "levels deep (lists and objects inside each other), over the limit of 32"),
    (notebook_text(depth=MAX_DEPTH), "levels deep"),   # plus 4 levels around the metadata
    (notebook_text(metadata={"m": [[] for _ in range(MAX_CONTAINERS)]}), "JSON objects and arrays"),
], ids=["cells", "deep", "just-too-deep", "containers"])
def test_over_the_limits_is_an_unreadable_notebook(text, expected):
    nb, problem = read_submitted(text.encode(), "svm.ipynb")
    assert nb is None and problem.kind is ProblemKind.UNREADABLE_NOTEBOOK
    assert problem.message.startswith("svm.ipynb: unreadable notebook") and expected in problem.message, \
        problem.message


def test_at_the_limits_is_read():
    for text in (notebook_text(cells=MAX_CELLS), notebook_text(depth=MAX_DEPTH - 4)):
        nb, problem = read_submitted(text.encode(), "svm.ipynb")
        assert problem is None and len(nb.cells) in (1, MAX_CELLS)


def test_brackets_inside_strings_are_text_not_structure():
    source = "[" * 10_000 + '\\"{' * 10_000 + "]" * 10_000
    text = json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": source}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    assert check_text(text, "svm.ipynb") is None


def test_not_json_is_left_to_the_reader():
    assert check_text("{not json", "svm.ipynb") is None
    nb, problem = read_submitted(b"{not json", "svm.ipynb")
    assert nb is None and problem.kind is ProblemKind.UNREADABLE_NOTEBOOK


def test_check_text_wants_text():
    with pytest.raises(TypeError, match="expected the notebook's text as str, got bytes instead"):
        check_text(b"{}", "svm.ipynb")
    assert issubclass(NotebookTooLarge, ValueError) and notebook_limits.MAX_CELLS == MAX_CELLS
