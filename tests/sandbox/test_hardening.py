"""What a determined student could still do to the grader, each class tested end to end.

- points for nothing: student functions that return what the hidden tests' own reference
  code returns (looked up in the kernel) must score what the untouched release scores;
- hidden tests in feedback: exception messages, printed text and reprs built from the
  hidden tests' source must not reach the kit's feedback lines;
- planted links: nothing the grader reads comes through a folder the sandbox can write;
- floods: output is bounded in the grading process and in the graded notebook;
- disk filling: the kernel's working folder has a quota and the host folder is untouched;
- spreadsheet formulas: ids cannot start with one, and every CSV cell is neutralized.
Each attack starts from the untouched release, so every point it gets is a forged one.
"""
import csv
import json
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest

from kit import collect, grades, sandbox, score_store
from kit.course import ASSIGNMENT, Course
from kit.notebook_rules import BEGIN_HIDDEN, END_HIDDEN
from kit_helpers import (REPO, collect_all, grade, reference_submission, total,
                         untouched_submission)
from payloads import (FORGE_FRAMES, LEAK_HIDDEN, PLANT_LINK, SEARCH_KERNEL, SEARCH_SOFTMAX,
                      STEAL_REFERENCE, STEAL_SOFTMAX, append)

ISOLATED, WHY_NOT = sandbox.isolation_status()
needs_sandbox = pytest.mark.skipif(not ISOLATED, reason=f"no working sandbox here: {WHY_NOT}")


def hidden_lines(course):
    """Every substantial line of every hidden-test region of the source notebooks."""
    found = set()
    for name in ("svm.ipynb", "softmax.ipynb"):
        nb = nbformat.read(Course(course).source / name, as_version=4)
        for cell in nb.cells:
            inside = False
            for line in cell.source.splitlines():
                if BEGIN_HIDDEN in line:
                    inside = True
                elif END_HIDDEN in line:
                    inside = False
                elif inside and len(line.strip()) > 25:
                    found.add(line.strip())
    return found


@pytest.fixture(scope="module")
def attacked(released_course, tmp_path_factory, cifar10_dir):
    """The untouched release and three attacks, graded in one batch (test cells only)."""
    course = released_course
    root = tmp_path_factory.mktemp("hardening")
    host = root / "host-secret"
    host.mkdir()
    # Laid out as the old exchange folder was, for the link to point at.
    for case in ("reg0", "reg", "one_example", "one_class"):
        out = host / "svm_loss_naive" / "out" / case
        out.mkdir(parents=True)
        np.save(out / "loss.npy", np.zeros((7, 3)))
        np.save(out / "dW.npy", np.zeros((7, 3)))
    folders = {}
    for student in ("hard_untouched", "hard_steal", "hard_leak", "hard_search", "hard_frames"):
        folders[student] = untouched_submission(course, root / student)
    # Right code, so that its test cells pass and the trusted checks have the last word.
    folders["hard_link"] = reference_submission(course, root / "hard_link")
    append(folders["hard_steal"], "linear_svm.py", STEAL_REFERENCE)
    append(folders["hard_steal"], "softmax.py", STEAL_SOFTMAX)
    append(folders["hard_leak"], "linear_svm.py", LEAK_HIDDEN)
    append(folders["hard_search"], "linear_svm.py", SEARCH_KERNEL)
    append(folders["hard_search"], "softmax.py", SEARCH_SOFTMAX)
    append(folders["hard_frames"], "linear_svm.py", FORGE_FRAMES)
    path = folders["hard_link"] / "classifiers" / "linear_svm.py"
    path.write_text(PLANT_LINK.format(host=str(host)) + "\n" + path.read_text())
    collect_all(course, folders.values())
    return course, grade(course, list(folders), cifar10_dir, run_notebooks=False), host


@needs_sandbox
def test_copying_the_hidden_reference_scores_nothing(attacked):
    course, results, _ = attacked
    assert total(results["hard_untouched"])[0] == 0
    got = {s.grade_id: s.score for s in results["hard_steal"].cells("auto")}
    assert sum(got.values()) == total(results["hard_untouched"])[0], got
    # No hidden test defines a reference function any more: the copy finds nothing, so no test
    # cell passes in the kernel (before, the trusted checks had to overrule them).
    assert "trusted check failed" not in results["hard_steal"].status, results["hard_steal"].problems


@needs_sandbox
def test_searching_the_kernel_finds_no_reference_code(attacked):
    """Implements nothing, searches history, memory, modules and files for anything that
    computes a loss: release's score, and not because the trusted checks overruled a test
    cell that passed in the kernel (hidden tests carry no reference code any more)."""
    course, results, _ = attacked
    result = results["hard_search"]
    assert total(result)[0] == total(results["hard_untouched"])[0] == 0, result.problems
    assert "trusted check failed" not in result.status, \
        f"a hidden test passed in the kernel on code found there: {result.problems}"


@needs_sandbox
def test_forged_frames_show_nothing_of_the_kernel(attacked):
    course, results, _ = attacked
    feedback = results["hard_frames"].notebooks["svm.ipynb"].scores["test_svm_naive_loss"].feedback
    text = "\n".join(feedback)
    assert "AB.CD" not in text and "CD.AB" not in text, feedback
    assert text.count("classifiers/linear_svm.py") <= 1, feedback


@needs_sandbox
def test_feedback_lines_never_quote_the_kernel(attacked):
    course, results, _ = attacked
    secret = hidden_lines(course)
    assert secret, "expected hidden-test lines in the source notebooks"
    for student, result in results.items():
        for nb in result.notebooks.values():
            for gid, s in nb.scores.items():
                if s.kind != "auto":
                    continue
                assert s.feedback, f"{student} {gid}: no feedback lines"
                text = "\n".join(s.feedback)
                leaked = [line for line in secret if line in text]
                assert not leaked, f"{student} {gid}: feedback quotes hidden tests: {leaked[:3]}"
    # The leak really was attempted: the instructor's graded notebook shows the printed history.
    graded = (Course(course).autograded("hard_leak") / "svm.ipynb").read_text()
    assert any(line in graded for line in secret)
    summary = json.loads((Course(course).autograded("hard_leak") / score_store.SUMMARY).read_text())
    assert summary["scores"]["svm.ipynb"]["test_svm_naive_loss"]["feedback"][0].startswith("Failed with ValueError")


@needs_sandbox
def test_nothing_is_read_through_a_planted_link(attacked):
    course, results, host = attacked
    result = results["hard_link"]
    assert total(result)[0] == total(result)[1], result.problems
    text = json.dumps(score_store.summary_of(result)) + (Course(course).autograded("hard_link") / "svm.ipynb").read_text()
    assert "(7, 3)" not in text, "the grader read a host file through a link the student planted"


@needs_sandbox
def test_output_flood_is_bounded(released_course, tmp_path, cifar10_dir):
    """64 MiB printed in 1 MiB pieces plus one 48 MiB message, from a test cell's function,
    graded by `python -m kit autograde` in a process of its own: its peak memory stays
    near an honest submission's, and the graded notebook stays small."""
    course = released_course
    honest = reference_submission(course, tmp_path / "flood_honest")
    flood = untouched_submission(course, tmp_path / "flood_student")
    append(flood, "linear_svm.py", textwrap.dedent('''
        def svm_loss_naive(W, X, y, reg):
            import sys
            for _ in range(64):
                sys.stdout.write("x" * (1 << 20))
                sys.stdout.flush()
            sys.stdout.write("y" * (48 << 20))
            sys.stdout.flush()
            raise NotImplementedError
        '''))
    collect_all(course, [honest, flood])
    peaks = {}
    for student in ("flood_honest", "flood_student"):
        script = ("import resource, sys\nfrom kit.__main__ import main\n"
                  f"code = main(['autograde', '--course', {str(course)!r}, '--tests-only', "
                  f"'--data', {cifar10_dir!r}, {student!r}])\n"
                  "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)\n")
        proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        peaks[student] = int(proc.stdout.split("PEAK")[-1].split()[0]) * 1024
    growth = peaks["flood_student"] - peaks["flood_honest"]
    print(f"grader peak memory: honest {peaks['flood_honest'] / 2**20:.0f} MiB, "
          f"flood {peaks['flood_student'] / 2**20:.0f} MiB")
    assert growth < 64 * 2 ** 20, f"the grader grew by {growth / 2**20:.0f} MiB under a flood"
    graded = Course(course).autograded("flood_student") / "svm.ipynb"
    assert graded.stat().st_size < 16 * 2 ** 20, f"graded notebook of {graded.stat().st_size} bytes"
    assert "the grader kept only part of this cell's output" in graded.read_text()


@needs_sandbox
def test_working_folder_has_a_quota(tmp_path):
    """A kernel filling its working folder stops at the quota; the host folder is untouched."""
    from kit.outputs import BoundedNotebookClient
    work = tmp_path / "work"
    work.mkdir()
    (work / "given.txt").write_text("from the grader")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent('''
        written = 0
        try:
            for i in range(10000):
                with open("fill-%d.bin" % i, "wb") as f:
                    f.write(b"0" * (1 << 20))
                written += 1 << 20
        except OSError as err:
            print("STOPPED", written, err.errno)
        print("GIVEN", open("given.txt").read())
        '''))])
    limits = sandbox.Limits(workdir_bytes=16 * sandbox.MiB)
    km = sandbox.kernel_manager(work, limits=limits, require_isolation=True)
    BoundedNotebookClient(nb, km=km, timeout=120, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "GIVEN from the grader" in text
    written = int(text.split("STOPPED")[1].split()[0])
    print(f"bytes written before the quota stopped the fill: {written}")
    assert 0 < written <= 16 * sandbox.MiB
    assert sorted(p.name for p in work.iterdir()) == ["given.txt"], "the host folder changed"


def test_student_ids_cannot_start_a_formula(tmp_path):
    for bad in ("-alice", "=1+1", "+cmd", "@SUM(A1)", ".hidden", "a" * 65):
        assert not collect.valid_id(bad), bad
    for good in ("alice", "s1234567", "_bob", "kim.min-jun", "a" * 64):
        assert collect.valid_id(good), good
    folder = tmp_path / "-alice"
    folder.mkdir()
    with pytest.raises(collect.RefusedSubmission):
        collect.student_from_path(str(folder))


def test_every_csv_cell_is_neutralized(tmp_path):
    """Ids made by other tools (nbgrader's own collect) still never start a formula."""
    from kit_helpers import make_course
    course = make_course(tmp_path)
    with Course(course).gradebook() as gb:
        for student in ("-2+3", "=HYPERLINK(\"x\")", "@cmd"):
            gb.update_or_create_student(student)
            gb.update_or_create_submission(ASSIGNMENT, student)
    path = grades.write_reports(course, plot=False)
    with open(path, newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert "'-2+3" in cells and "'=HYPERLINK(\"x\")" in cells and "'@cmd" in cells
    assert not [c for c in cells if c and c[0] in "=+-@"], cells


def kernel_message(msg_type, content):
    return {"msg_type": msg_type, "content": content, "header": {"msg_type": msg_type},
            "parent_header": {"msg_id": "m"}, "metadata": {}}


def test_every_output_kind_counts_against_the_limits():
    """Messages a kernel can forge by hand: a display with a decoy `text` key, many errors."""
    from kit import outputs
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    client = outputs.BoundedNotebookClient(nb)
    client.reset_execution_trackers()
    client.clear_before_next_output = False   # what nbclient sets when a cell starts
    cell = nb.cells[0]
    big = {"text": "", "data": {"text/plain": "x" * (3 << 20)}, "metadata": {}, "transient": {}}
    for _ in range(10):
        client.process_message(kernel_message("display_data", big), cell, 0)
    error = {"ename": "E", "evalue": "v" * 10000, "traceback": ["t" * 10000] * 100}
    for _ in range(1000):
        client.process_message(kernel_message("error", error), cell, 0)
    kept = len(json.dumps(cell.outputs))
    assert kept < outputs.CELL_OUTPUT_BYTES + (1 << 20), f"{kept} bytes kept in one cell"
    assert sum(o["output_type"] == "error" for o in cell.outputs) >= 1


def test_frames_in_feedback_carry_no_free_text():
    """A traceback is the student's text: a forged frame with a long line number (hidden
    source encoded as digits) or an unknown function is not shown (tests/unit/test_verdicts.py
    has the forged dotted names and lines outside the function)."""
    from kit import verdicts
    functions = verdicts.defined_functions({"classifiers/linear_svm.py": b"def f(W):\n    pass\n"})
    text = ("File /s/classifiers/linear_svm.py:2, in f(W)\n"
            "classifiers/linear_svm.py:" + "7" * 3000 + ", in f\n"
            "classifiers/linear_svm.py:1, in not_theirs\nclassifiers/other.py:1, in f\n")
    assert verdicts.student_frame(text, functions) == ["  classifiers/linear_svm.py, line 2, in f",
                                                       "      pass"]
