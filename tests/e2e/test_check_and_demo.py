"""`utils.check` (students) and `kit demo` (the README's main command), run as a user runs them."""
import os
import re
import shutil
import subprocess
import sys
import zipfile
from itertools import takewhile

import pytest

from kit.cells import grade_id, is_test
from kit_helpers import notebook, reference_submission, save_notebook

pytestmark = pytest.mark.slow


def kit(*args, cwd, cifar10_dir, timeout=900):
    return python_m("kit", *args, cwd=cwd, cifar10_dir=cifar10_dir, timeout=timeout)


def check(*args, cwd, cifar10_dir, timeout=900):
    return python_m("utils.check", *args, cwd=cwd, cifar10_dir=cifar10_dir, timeout=timeout)


def python_m(module, *args, cwd, cifar10_dir, timeout):
    env = {**os.environ, "CIFAR10_DIR": cifar10_dir}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory, released_course):
    """The student zip, unpacked as a student would."""
    root = tmp_path_factory.mktemp("check")
    with zipfile.ZipFile(released_course.parent / "dist" / "linear_classifiers.zip") as zf:
        zf.extractall(root / "student")
    return root / "student" / "linear_classifiers"


@pytest.fixture(scope="module")
def solved_folder(tmp_path_factory, released_course):
    """The release with the reference solution in it: classifiers/, the search cells and
    the model answers (what the demo's reference student hands in)."""
    return reference_submission(released_course, tmp_path_factory.mktemp("solved") / "solved")


@pytest.fixture(scope="module")
def fresh_report(student_folder, cifar10_dir):
    return check(cwd=student_folder, cifar10_dir=cifar10_dir)


@pytest.fixture(scope="module")
def solved_report(solved_folder, cifar10_dir):
    return check(cwd=solved_folder, cifar10_dir=cifar10_dir)


MAX_LINES = 40
MAX_WIDTH = 110  # a terminal's width: long error messages are cut
# What the kernel's connection printed on every start before the check asked for encryption.
TRANSPORT_WARNING = "without encryption"


def assert_short_and_quiet(proc, *, returncode):
    """The check's report: its exit status, at most MAX_LINES of at most MAX_WIDTH, no
    kernel transport warning."""
    out = proc.stdout
    assert proc.returncode == returncode, out + proc.stderr
    assert len(out.splitlines()) <= MAX_LINES, out
    assert max(len(line) for line in out.splitlines()) <= MAX_WIDTH, out
    assert TRANSPORT_WARNING not in proc.stderr + out, proc.stderr


def released_cells(folder, name):
    import nbformat
    return nbformat.read(folder / name, as_version=4).cells


def test_fresh_release_report_is_short_and_complete(student_folder, fresh_report):
    proc = fresh_report
    out = proc.stdout
    assert_short_and_quiet(proc, returncode=1)
    assert "VALIDATION" not in out and "nbgrader" not in out, out
    # Every visible test cell, failing with the stub's NotImplementedError, and the points.
    ids = [grade_id(c) for name in ("svm.ipynb", "softmax.ipynb")
           for c in released_cells(student_folder, name) if is_test(c)]
    total = sum(c.metadata.nbgrader["points"] for name in ("svm.ipynb", "softmax.ipynb")
                for c in released_cells(student_folder, name) if is_test(c))
    assert len(ids) >= 12  # six test cells per notebook
    for gid in ids:
        line = next(l for l in out.splitlines() if l.split()[:1] == [gid])
        assert "FAILED NotImplementedError" in line, line
    assert f"Visible points: 0 of {total:g} (0 of {len(ids)} visible test cells pass" in out
    # The functions still to write, and not the base class's loss, which raises on purpose.
    for name in ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive",
                 "softmax_loss_vectorized", "LinearClassifier.train", "LinearClassifier.predict"):
        assert name in out, name
    assert "LinearClassifier.loss" not in out
    assert "hidden tests run when your work is graded" in out
    assert "Not done yet:" in out.splitlines()[-1]


def expected_question_names(folder, name):
    """"<bold question name> (<points> points)" of each written answer cell of a released
    notebook, the name taken from the markdown cell just above it."""
    cells, names = released_cells(folder, name), []
    for index, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
            above = re.findall(r"\*\*([^*]*question[^*]*)\*\*", cells[index - 1].source, re.IGNORECASE)
            assert above, f"{name}: no bold question name above {meta['grade_id']}"
            names.append(f"{above[-1].strip()} ({meta['points']:g} points)")
    return names


def test_fresh_release_report_names_every_written_question_with_its_points(student_folder, fresh_report):
    out = fresh_report.stdout
    count = points = 0
    for name in ("svm.ipynb", "softmax.ipynb"):
        names = expected_question_names(student_folder, name)
        assert names, name
        # The notebook's block: its line and the continuation lines under it.
        lines = out.splitlines()
        first = next(i for i, l in enumerate(lines) if l.startswith(f"  {name}: ") and "question" in l.lower())
        block = " ".join([lines[first][len(f"  {name}: "):]]
                         + [l.strip() for l in takewhile(lambda l: l.startswith("    "), lines[first + 1:])])
        assert block.split(", ") == names, block
        count += len(names)
        points += sum(float(n.rsplit("(", 1)[1].split()[0]) for n in names)
    assert f"Written answers still to give ({count}, {points:g} points" in out


def test_fresh_release_report_flags_the_search_cells(student_folder, fresh_report):
    for name in ("svm.ipynb", "softmax.ipynb"):
        solution_code = [c for c in released_cells(student_folder, name)
                         if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
        assert solution_code, name
        flagged = [l for l in fresh_report.stdout.splitlines() if l.startswith(f"  {name}: the code cell under")]
        assert len(flagged) == len(solution_code), fresh_report.stdout


def test_solved_release_report_passes_and_reveals_no_hidden_test(solved_folder, solved_report):
    proc = solved_report
    out = proc.stdout
    assert_short_and_quiet(proc, returncode=0)
    cells = [c for name in ("svm.ipynb", "softmax.ipynb") for c in released_cells(solved_folder, name)]
    tests = [c for c in cells if is_test(c)]
    total = sum(c.metadata.nbgrader["points"] for c in tests)
    answers = sum(1 for c in cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution"))
    assert f"Visible points: {total:g} of {total:g} ({len(tests)} of {len(tests)} visible test cells pass" in out
    assert "Code still to write: none" in out
    assert f"Written answers: all {answers} given" in out
    assert "FAILED" not in out and "HIDDEN" not in out
    assert out.splitlines()[-1].startswith("Everything this check can see is done")


def test_unanswered_question_and_unwritten_search_are_named(solved_folder, student_folder, cifar10_dir, tmp_path):
    """A solved copy with one answer back to the placeholder, one emptied down to its
    prompt, and the SVM search cell back to the handed-out stub."""
    folder = tmp_path / "partial"
    shutil.copytree(solved_folder, folder)
    released = {grade_id(c): c for c in released_cells(student_folder, "svm.ipynb")}
    nb = notebook(folder, "svm.ipynb")
    answers = [c for c in nb["cells"] if c["cell_type"] == "markdown"
               and c["metadata"].get("nbgrader", {}).get("solution")]
    first, last = answers[0], answers[-1]
    first["source"] = released[first["metadata"]["nbgrader"]["grade_id"]].source
    last["source"] = "**Your answer:**\n\n"
    search = next(c for c in nb["cells"] if c["cell_type"] == "code"
                  and c["metadata"].get("nbgrader", {}).get("solution"))
    search["source"] = released[search["metadata"]["nbgrader"]["grade_id"]].source
    save_notebook(folder, "svm.ipynb", nb)
    proc = check(cwd=folder, cifar10_dir=cifar10_dir)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    names = expected_question_names(student_folder, "svm.ipynb")
    points = sum(a["metadata"]["nbgrader"]["points"] for a in (first, last))
    assert f"Written answers still to give (2, {points:g} points" in out, out
    assert f"  svm.ipynb: {names[0]}, {names[-1]}" in out, out
    assert "softmax.ipynb: " not in out.split("Written answers")[1], out
    assert out.count("the code cell under") == 1 and "  svm.ipynb: the code cell under" in out, out
    assert out.splitlines()[-1] == ("Not done yet: 1 places raise NotImplementedError, "
                                    "2 written answers missing."), out


def test_check_never_runs_a_hidden_test(solved_folder, cifar10_dir, tmp_path):
    """Should a hidden-test region reach a student's notebook, the check drops it: neither
    run (it would fail here) nor shown."""
    from nbgrader.preprocessors import ClearHiddenTests
    begin = ClearHiddenTests.begin_test_delimeter.default_value
    end = ClearHiddenTests.end_test_delimeter.default_value
    folder = tmp_path / "hidden"
    shutil.copytree(solved_folder, folder)
    nb = notebook(folder, "softmax.ipynb")
    test = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")
                and not c["metadata"]["nbgrader"].get("solution") and c["cell_type"] == "code")
    test["source"] = "".join(test["source"]) + f"\n### {begin}\nraise AssertionError('secret-7781')\n### {end}\n"
    save_notebook(folder, "softmax.ipynb", nb)
    proc = check(cwd=folder, cifar10_dir=cifar10_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "secret-7781" not in proc.stdout + proc.stderr


def test_check_constants_are_nbgraders_defaults():
    """The check cannot import nbgrader (students do not install it): its copies of
    nbgrader's placeholder and hidden-test markers must stay nbgrader's. (utils/check.py
    spells the markers in two parts: written whole, the file would itself look like it held
    a hidden test, and the release would refuse it. Its answer prompt, "**Your answer:**"
    or the Korean edition's "**답변:**", is kit/i18n.py's.)"""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    from utils import check as student_check
    clear_solutions, clear_hidden = ClearSolutions(), ClearHiddenTests()
    assert student_check.ANSWER_PLACEHOLDER == clear_solutions.text_stub
    assert student_check.BEGIN_HIDDEN == clear_hidden.begin_test_delimeter
    assert student_check.END_HIDDEN == clear_hidden.end_test_delimeter
    # A search cell left as handed out is what the check flags.
    assert student_check.RAISE_NOT_IMPLEMENTED.search(clear_solutions.code_stub["python"])


def test_check_outside_an_assignment_folder_says_how_to_use_it(student_folder, tmp_path, cifar10_dir):
    proc = check(str(tmp_path), cwd=student_folder, cifar10_dir=cifar10_dir)
    assert proc.returncode == 2 and "inside your assignment folder" in proc.stderr


# `kit demo`, the README's main command, is run by tests/e2e/test_wheel.py (from an installed wheel).


def test_stubs_and_unanswered_cells_are_told_from_written_ones():
    from utils import check as student_check
    module = '''
class Base:
    def loss(self):
        raise NotImplementedError("subclasses define the loss")
    def train(self):
        # YOUR CODE HERE
        raise NotImplementedError("train: not implemented yet")
class Child(Base):
    def loss(self):
        return 0
def done():
    return 1
def todo():
    raise NotImplementedError
'''
    assert student_check.stubbed_functions(module) == ["todo", "Base.train"]
    for blank in ("**Your answer:**\n\nYOUR ANSWER HERE", "**Your answer:**\n\n", "", "*Your answer*: \n"):
        assert student_check.unanswered(blank), blank
    assert not student_check.unanswered("**Your answer:**\n\nThe margin is 1, so the loss is C - 1.")
