"""`kit autograde` end to end: real nbgrader notebooks, real kernels, the real CIFAR-10 subset.

One released course; one batch of submissions graded with the whole notebooks run and
one batch graded tests-only (same scores, much faster), each submission the reference
or the release with one change. Every expectation is about scores, statuses, files.
"""
import csv
import json
import os
import sqlite3
import subprocess
import sys
import zipfile

import pytest

from kit import feedback
from kit.course import Course, KitError
from kit_helpers import (append_to_function, collect_all, grade, graded_cells, graded_ids,
                         notebook, reference_submission, save_notebook, scores, total,
                         tree_hashes, untouched_submission)

pytestmark = pytest.mark.slow


def vectorized_tests(course):
    """Test cells that exercise a vectorized loss (the SVM notebook's)."""
    return [g for g in graded_ids(course, "svm.ipynb") if "vectorized" in g]


def edit_first_test(folder, name, new_source):
    nb = notebook(folder, name)
    graded_cells(nb)[0]["source"] = new_source
    save_notebook(folder, name, nb)


def add_cell_after_setup(folder, name, source):
    nb = notebook(folder, name)
    first_code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"].insert(first_code + 1, {"cell_type": "code", "metadata": {}, "source": source,
                                        "outputs": [], "execution_count": None})
    save_notebook(folder, name, nb)


@pytest.fixture(scope="module")
def course(released_course):
    return released_course


@pytest.fixture(scope="module")
def notebook_batch(course, cifar10_dir, tmp_path_factory, reference_graded_in_full):
    """Submissions whose notebooks are run in full: notebook-level tampering, and the reference
    (the session's one full grading of it, conftest.py)."""
    root = tmp_path_factory.mktemp("subs-notebook")
    untouched_submission(course, root / "untouched")

    # Built on the untouched release (stubs only): cheap to run, and any point is a forged one.
    cheat = untouched_submission(course, root / "assert_true")
    edit_first_test(cheat, "svm.ipynb", "assert True")

    transformer = untouched_submission(course, root / "transformer")
    add_cell_after_setup(transformer, "svm.ipynb",
                         "ip = get_ipython()\n"
                         "def swallow(lines):\n"
                         "    return ['try:\\n'] + ['    ' + l for l in lines] + ['\\nexcept BaseException:\\n    pass\\n']\n"
                         "ip.input_transformers_post.append(swallow)\n"
                         "ip.showtraceback = lambda *a, **k: None\n")
    hang = untouched_submission(course, root / "import_hang")
    path = hang / "classifiers" / "softmax.py"
    path.write_text("while True:\n    pass\n" + path.read_text())
    cheats = ["untouched", "assert_true", "transformer", "import_hang"]
    collect_all(course, [root / s for s in cheats])
    # The release-based cheats, whose cells stop at their first stub (none runs for more
    # than a few seconds), under a 15 s ceiling: at or under the 30 s floor every limit is
    # the ceiling, so the reference is not timed, and the import hang costs 15 s a kernel.
    batch = grade(course, cheats, cifar10_dir, run_notebooks=True, cell_timeout=15)
    batch["reference"] = reference_graded_in_full
    return batch


@pytest.fixture(scope="module")
def module_batch(course, cifar10_dir, tmp_path_factory):
    """Submissions whose modules misbehave: graded tests-only."""
    root = tmp_path_factory.mktemp("subs-module")
    partial = untouched_submission(course, root / "partial")
    for name in ("linear_svm.py", "softmax.py"):
        ref = (course / "source" / "linear_classifiers" / "classifiers" / name).read_text()
        from kit.release import cut_solutions
        (partial / "classifiers" / name).write_text(
            cut_solutions(ref, keep=("svm_loss_naive", "softmax_loss_naive")))

    loop = reference_submission(course, root / "infinite_loop")
    append_to_function(loop / "classifiers" / "linear_svm.py", "svm_loss_vectorized", "while True: pass")

    exit_ = reference_submission(course, root / "os_exit")
    append_to_function(exit_ / "classifiers" / "softmax.py", "softmax_loss_naive",
                       "import os; os._exit(0)")

    warn = reference_submission(course, root / "warns")
    append_to_function(warn / "classifiers" / "linear_svm.py", "svm_loss_naive",
                       "import warnings; warnings.warn('a harmless warning', RuntimeWarning)")

    tampered = untouched_submission(course, root / "tampered_utils")
    (tampered / "utils" / "gradient_check.py").write_text("raise SystemExit('tampered')\n")
    for name in ("linear_svm.py", "softmax.py", "linear_classifier.py"):
        (tampered / "classifiers" / name).write_text(
            (course / "source" / "linear_classifiers" / "classifiers" / name).read_text())

    deleted = reference_submission(course, root / "deleted_cell")
    nb = notebook(deleted, "svm.ipynb")
    nb["cells"].remove(graded_cells(nb)[0])
    save_notebook(deleted, "svm.ipynb", nb)

    reference_submission(course, root / "reference_again")
    students = ["partial", "infinite_loop", "os_exit", "warns", "tampered_utils", "deleted_cell",
                "reference_again"]
    collect_all(course, [root / s for s in students])
    return grade(course, students, cifar10_dir, run_notebooks=False, cell_timeout=8)


def test_reference_gets_full_marks_and_untouched_release_zero(notebook_batch):
    got, most = total(notebook_batch["reference"])
    assert most > 0 and got == most, scores(notebook_batch["reference"])
    assert total(notebook_batch["untouched"])[0] == 0
    assert notebook_batch["reference"].status == "ok"


def test_reference_notebooks_run_without_errors_in_a_flat_folder(notebook_batch):
    """The grader runs each notebook beside classifiers/ and utils/, as in the student's folder."""
    for name, graded in notebook_batch["reference"].notebooks.items():
        nb = json.loads(graded.graded)
        errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
        assert not errors, (name, errors[:1])
        assert sum(1 for c in nb["cells"] if c.get("outputs")) > 10


def test_partial_scores_strictly_between(module_batch):
    got, most = total(module_batch["partial"])
    assert 0 < got < most


def test_rewritten_test_cell_is_graded_with_the_original(notebook_batch, course):
    result = notebook_batch["assert_true"]
    first = graded_ids(course, "svm.ipynb")[0]
    assert scores(result)[first] == 0  # the student's `assert True` was replaced by the real test
    assert total(result)[0] == 0
    graded = json.loads(result.notebooks["svm.ipynb"].graded)
    assert "HIDDEN TESTS" in "".join("".join(c["source"]) for c in graded["cells"])


def test_deleted_test_cell_is_restored_and_graded(module_batch, course):
    result = module_batch["deleted_cell"]
    assert scores(result) == scores(module_batch["reference_again"])
    assert any("restored" in p.message for p in result.notebooks["svm.ipynb"].problems)


def test_notebook_cells_cannot_swallow_test_failures(notebook_batch):
    """Input transformers and a silenced showtraceback in the student's notebook change nothing."""
    assert total(notebook_batch["transformer"])[0] == 0


def test_infinite_loop_costs_only_its_tests(module_batch, course):
    result = scores(module_batch["infinite_loop"])
    reference = scores(module_batch["reference_again"])
    looping = vectorized_tests(course)
    assert looping and all(result[g] == 0 for g in looping)
    others = [g for g in result if g not in looping and "classifier" not in g and "train" not in g
              and "predict" not in g and "sgd" not in g]
    assert any(result[g] == reference[g] > 0 for g in others)
    assert "timeout" in module_batch["infinite_loop"].status


def feedback_text(result, name, gid):
    return " ".join(result.notebooks[name].scores[gid].feedback)


def test_a_hanging_function_costs_its_cells_and_stops_there(module_batch, course):
    """The first test cell of the looping loss runs into its limit; the next cell testing the
    same function is not run at all (it would hang too); cells of other functions run."""
    result = module_batch["infinite_loop"]
    first, *rest = vectorized_tests(course)
    assert rest
    assert "time limit" in feedback_text(result, "svm.ipynb", first)
    for gid in rest:
        text = feedback_text(result, "svm.ipynb", gid)
        assert "not run: svm_loss_vectorized ran past its time limit" in text, text
    assert scores(result)["test_svm_naive_loss"] == scores(module_batch["reference_again"])["test_svm_naive_loss"] > 0


def test_a_hanging_import_stops_the_notebook_run(notebook_batch):
    """Importing the package loops forever: once the test kernel has seen it, the notebook
    kernel runs no further cell that imports it (each would cost a whole time limit)."""
    result = notebook_batch["import_hang"]
    timeouts = [p for p in result.all_problems() if "time limit" in p.message and "timeout" in p.message]
    skipped = [p for p in result.all_problems() if "importing the package classifiers ran past" in p.message]
    assert skipped
    assert len(timeouts) <= 4, [p.message for p in timeouts]   # at most a cell or two per kernel
    assert total(result)[0] == 0


def test_grades_are_the_same_without_the_shared_data(notebook_batch, course, cifar10_dir):
    """The batch maps the CIFAR-10 arrays prepared once (kit/shared_data.py); each kernel
    loading them itself gives the same scores (hidden tests on the data included). The arrays
    a notebook cell gets either way are equal, value for value and type for type
    (tests/unit/test_shared_data.py), so its printed results are too: graded tests-only here."""
    shared = notebook_batch["reference"]
    # Without reference limits: they are not what is compared, and timing the reference for
    # this setting would be one more run of it.
    alone = grade(course, ["reference"], cifar10_dir, run_notebooks=False, share_data=False,
                  reference_limits=False)["reference"]
    assert alone.status == "ok", [p.message for p in alone.all_problems()]
    assert scores(alone) == scores(shared)


def test_dead_kernel_costs_only_the_cells_it_killed(module_batch):
    result = scores(module_batch["os_exit"])
    reference = scores(module_batch["reference_again"])
    naive_softmax = [g for g in result if "softmax" in g and "naive" in g]
    assert naive_softmax and all(result[g] == 0 for g in naive_softmax)
    svm = [g for g in result if g.startswith("test_svm")]
    assert svm and all(result[g] == reference[g] for g in svm)
    assert "dead kernel" in module_batch["os_exit"].status


def test_warnings_do_not_cost_points(module_batch):
    assert scores(module_batch["warns"]) == scores(module_batch["reference_again"])


def test_tampered_utils_are_replaced_by_the_master_copy(module_batch):
    assert scores(module_batch["tampered_utils"]) == scores(module_batch["reference_again"])


def test_grades_are_identical_across_runs_and_modes(notebook_batch, module_batch):
    assert scores(notebook_batch["reference"]) == scores(module_batch["reference_again"])


def test_grades_csv_gradebook_and_feedback(notebook_batch, module_batch, course):
    with open(course / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) >= {"reference", "untouched", "partial", "os_exit"}
    got, most = total(notebook_batch["reference"])
    assert float(rows["reference"]["auto"]) == got == most
    # Written answers wait for a grader: nothing given by hand yet, all points still possible.
    assert rows["reference"]["manual"] == "0" and float(rows["reference"]["total"]) == got
    assert float(rows["reference"]["max"]) > most
    assert rows["os_exit"]["status"] != "ok"
    assert (course / "grades_summary.png").stat().st_size > 1000

    from nbgrader.api import Gradebook
    with Gradebook(Course(course).gradebook_url) as gb:
        submission = gb.find_submission("linear_classifiers", "reference")
        assert submission.code_score == most
        # Graded two at a time (--jobs 2), stored by the one process that writes the
        # gradebook: every test cell's score of every student arrived, as graded.
        for student, result in {**notebook_batch, **module_batch}.items():
            for nb, graded_nb in result.notebooks.items():
                for gid, score in graded_nb.scores.items():
                    if score.kind == "auto":
                        grade = gb.find_grade(gid, nb.replace(".ipynb", ""), "linear_classifiers", student)
                        assert grade.auto_score == score.score, (student, nb, gid)
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    assert not any(Course(course).feedback(s).exists() for s in ("reference", "untouched", "partial")), \
        "autograde writes no feedback: that comes after hand grading"
    feedback.run(course=course, students=["reference", "untouched", "partial"], jobs=2, progress=False)
    for student in ("reference", "untouched", "partial"):
        folder = Course(course).feedback(student)
        assert sorted(p.name for p in folder.iterdir()) == ["softmax.html", "svm.html", "timestamp.txt"]
        for page in ("svm.html", "softmax.html"):
            html = (folder / page).read_text()
            assert "HIDDEN TESTS" not in html
            if student != "reference":  # the reference hands in the model answers as its own
                assert "BEGIN SOLUTION" not in html
    assert (Course(course).autograded("reference") / "svm.ipynb").is_file()


def test_failing_hidden_test_shows_no_hidden_line(course, cifar10_dir, tmp_path):
    """A function that passes the visible checks but not the hidden ones: no hidden source in feedback."""
    sub = reference_submission(course, tmp_path / "hidden_fail")
    append_to_function(sub / "classifiers" / "linear_svm.py", "svm_loss_naive",
                       "if X.shape[0] == 1: raise ValueError('one example not handled')")
    collect_all(course, [sub])
    result = grade(course, ["hidden_fail"], cifar10_dir, run_notebooks=False, jobs=1)["hidden_fail"]
    hidden_lines = set()
    for cell in graded_cells(json.loads(result.notebooks["svm.ipynb"].graded)):
        source = "".join(cell["source"])
        if "BEGIN HIDDEN TESTS" in source:
            hidden = source.split("BEGIN HIDDEN TESTS")[1].split("END HIDDEN TESTS")[0]
            hidden_lines |= {l.strip() for l in hidden.splitlines() if len(l.strip()) > 15}
    feedback.run(course=course, students=["hidden_fail"], progress=False)
    html = (Course(course).feedback("hidden_fail") / "svm.html").read_text()
    import html as html_lib
    text = html_lib.unescape(html)
    assert hidden_lines and not any(line in text for line in hidden_lines)


def test_feedback_shows_hand_grading_from_the_gradebook(notebook_batch, course):
    """Scores and comments given in formgrader (nbgrader's gradebook) reach the feedback."""
    from nbgrader.api import Gradebook
    answer = next(gid for gid, s in notebook_batch["reference"].notebooks["svm.ipynb"].scores.items()
                  if s.kind == "manual")
    with Gradebook(Course(course).gradebook_url) as gb:
        grade = gb.find_grade(answer, "svm", "linear_classifiers", "reference")
        grade.manual_score = 1.5
        comment = gb.find_comment(answer, "svm", "linear_classifiers", "reference")
        comment.manual_comment = "Good start | but say why the kink matters."
        gb.db.commit()
    feedback.run(course=course, students=["reference"], progress=False)
    import html as html_lib
    text = html_lib.unescape((Course(course).feedback("reference") / "svm.html").read_text())
    assert "Good start" in text and "say why the kink matters" in text
    # The table names the answer as the student saw it (its question), not by its cell id.
    from kit.cells import released_names
    name = released_names(course)["svm.ipynb"][answer]
    rows = [row for row in text.split("<tr>") if name in row.split("</tr>")[0]]
    assert len(rows) == 1 and "1.5 / " in rows[0] and "graded by hand" in rows[0], rows


def test_feedback_refuses_students_never_graded(course):
    with pytest.raises(KitError, match="no graded submission for nobody"):
        feedback.run(course=course, students=["nobody"], progress=False)


def test_collect_refuses_a_zip_with_parent_paths(course, tmp_path):
    bad = tmp_path / "mallory.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("svm.ipynb", "{}")
        zf.writestr("../../evil.py", "print('pwned')")
    before = tree_hashes(course)
    proc = subprocess.run([sys.executable, "-m", "kit", "collect", str(bad), "--course", str(course)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and ".." in (proc.stdout + proc.stderr)
    assert tree_hashes(course) == before


def test_dask_cluster_gives_the_same_grades(module_batch, course, cifar10_dir):
    """Two Dask workers on 127.0.0.1, secured as the README's (mutual TLS, certificates passed
    with `certificates=`), grade exactly as `--jobs 1`/`--jobs 2` did."""
    from kit.autograde import cluster
    students = ["partial", "reference_again"]
    with cluster.local_cluster(workers=2) as dask:
        assert dask["scheduler"].startswith("tls://127.0.0.1:")
        on_dask = grade(course, students, cifar10_dir, run_notebooks=False, cell_timeout=8, **dask)
    for student in students:
        assert scores(on_dask[student]) == scores(module_batch[student])


def test_grading_kernels_get_a_bounded_number_of_blas_threads(monkeypatch, tmp_path):
    """Threads count against the sandbox's process limit, which kills the kernel: on a
    128-core grader (a Dask worker, say) one BLAS thread per core would hit it."""
    from kit import autograde
    from kit.sandbox import Limits
    monkeypatch.setattr(os, "cpu_count", lambda: 128)
    for variable in autograde.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)

    def kernel_threads(blas_threads):
        task = autograde.GradingTask(student="s", files={}, master_files={}, source_notebooks={},
                                     release_notebooks={}, blas_threads=blas_threads)
        env = autograde.grading_runner(task, tmp_path).env
        values = {env[v] for v in autograde.BLAS_THREAD_VARIABLES}
        assert len(values) == 1, env
        return int(values.pop())
    assert kernel_threads(None) == autograde.MAX_BLAS_THREADS
    assert kernel_threads(1) == 1
    assert kernel_threads(64) == autograde.MAX_BLAS_THREADS
    # A Dask worker's nanny gives its process one BLAS thread: its kernels keep that share.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert kernel_threads(None) == 1
    assert kernel_threads(2) == 2   # --jobs decides where it was given
    assert autograde.MAX_BLAS_THREADS < Limits().max_processes // 2
