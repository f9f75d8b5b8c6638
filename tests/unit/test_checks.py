"""The grader's trusted checks: right code passes, wrong or lying code fails, and nothing the
student's process wrote is ever unpickled or trusted by type."""
import base64
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kit import checks, judging

REPO = Path(__file__).resolve().parents[2]
ALL = set(checks.ALL_CHECKS)


# In a plain process, what the runner would send as display outputs is printed instead.
PRINT_OUTPUTS = "import json as _json\n_publish = lambda data: print('OUTPUT' + _json.dumps(data))\n"


def sent_outputs(workdir, targets, seed):
    """{call: outputs} as the checking kernel would send them, from an ordinary Python
    process in place of the sandboxed kernel."""
    runner, calls = checks.prepare(targets, seed)
    script = workdir / "run_checks.py"
    script.write_text("\n".join([runner, PRINT_OUTPUTS, *calls.values()]))
    proc = subprocess.run([sys.executable, str(script)], cwd=workdir, check=True,
                          capture_output=True, text=True)
    script.unlink()
    sent = [{"output_type": "display_data", "data": json.loads(line[len("OUTPUT"):])}
            for line in proc.stdout.splitlines() if line.startswith("OUTPUT")]
    # Each call's cell would hold its own outputs; the judge also reads only its call's.
    return {call: sent for call in calls}


def run_checks(workdir, targets, seed=None):
    """What the grader does, but with an ordinary Python process in place of the sandbox."""
    seed = checks.new_seed() if seed is None else seed
    return judging.judge(sent_outputs(workdir, targets, seed), targets, seed)


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(REPO / "classifiers", tmp_path / "classifiers")
    shutil.copytree(REPO / "utils", tmp_path / "utils")
    return tmp_path


def test_reference_passes_every_check(workdir):
    assert run_checks(workdir, ALL) == {t: None for t in ALL}


@pytest.mark.parametrize("module, old, new, broken", [
    ("linear_svm.py", "dW += 2 * reg * W", "dW += reg * W", {"svm_loss_naive:grad"}),
    # One slip costs one check: the gradient is right, so only the loss is (issue 24).
    ("linear_svm.py", "loss += reg * np.sum(W * W)", "loss += 0.5 * reg * np.sum(W * W)",
     {"svm_loss_naive:loss"}),
    ("softmax.py", "shifted -= shifted.max(axis=1, keepdims=True)", "pass", {checks.OFFSET}),
    # The naive TODO asks for the same stability: graded on the naive function too.
    ("softmax.py", "shifted = scores - np.max(scores)", "shifted = scores", {"softmax_loss_naive:offset"}),
    ("softmax.py", "dW = X.T.dot(probs) / num_train + 2 * reg * W", "dW = X.T.dot(probs) + 2 * reg * W",
     {"softmax_loss_vectorized:grad", "Softmax:loss"}),
    ("linear_classifier.py", "self.W -= learning_rate * grad", "self.W -= 2 * learning_rate * grad",
     {"LinearClassifier:train"}),
    ("linear_classifier.py", "y_batch = y[batch_indices]", "y_batch = y[np.sort(batch_indices)]",
     {"LinearClassifier:train"}),
    ("linear_classifier.py", "y_pred = np.argmax(X.dot(self.W), axis=1)",
     "y_pred = np.argmin(X.dot(self.W), axis=1)", {"LinearClassifier:predict"}),
])
def test_each_wrong_function_fails_only_its_own_checks(workdir, module, old, new, broken):
    path = workdir / "classifiers" / module
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    verdicts = run_checks(workdir, ALL)
    assert {t for t, v in verdicts.items() if v} == broken, verdicts


def test_a_course_softmax_without_the_max_shift_fails_only_the_offset_check(workdir):
    path = workdir / "classifiers" / "softmax.py"
    path.write_text(path.read_text().replace("shifted -= shifted.max(axis=1, keepdims=True)", "pass"))
    verdicts = run_checks(workdir, checks.expand(["softmax_loss_vectorized"]) | {checks.OFFSET})
    assert verdicts["softmax_loss_vectorized:loss"] is None and verdicts[checks.OFFSET]


def npy_text(value, **kwargs):
    buf = io.BytesIO()
    np.save(buf, value, **kwargs)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def sent(case, **arrays):
    payload = {"call": "svm_loss_naive", "case": case, "arrays": arrays}
    return {"output_type": "display_data", "data": {checks.MIME: payload}}


def test_results_are_never_unpickled_or_taken_on_trust():
    check = "svm_loss_naive:loss"
    pickled = sent("reg0", loss=npy_text(np.array([object()], dtype=object), allow_pickle=True),
                   dW=npy_text(np.zeros((14, 6))))
    verdict = judging.judge({"svm_loss_naive": [pickled]}, {check}, seed=1)[check]
    assert "could not be read as a plain array" in verdict
    wrong_shape = sent("reg0", loss=npy_text(np.zeros((2, 2))), dW=npy_text(np.zeros((14, 6))))
    assert "shape" in judging.judge({"svm_loss_naive": [wrong_shape]}, {check}, seed=1)[check]
    not_base64 = sent("reg0", loss="<script>", dW=npy_text(np.zeros((14, 6))))
    assert "plain array" in judging.judge({"svm_loss_naive": [not_base64]}, {check}, seed=1)[check]


def test_a_case_sent_twice_counts_as_wrong(workdir):
    """Two answers to one case: which counts would be the sender's choice."""
    check = "svm_loss_naive:loss"
    seed = checks.new_seed()
    outputs = sent_outputs(workdir, {check}, seed)
    assert judging.judge(outputs, {check}, seed) == {check: None}
    doubled = {"svm_loss_naive": outputs["svm_loss_naive"] * 2}
    assert "more than one result" in judging.judge(doubled, {check}, seed)[check]


def test_inputs_travel_in_the_cells_and_no_file_is_written(workdir):
    """Nothing is shared with the checking kernel through files it could replace or read early."""
    before = sorted(p for p in workdir.rglob("*"))
    runner, calls = checks.prepare(set(checks.ALL_CHECKS), checks.new_seed())
    assert sorted(p for p in workdir.rglob("*")) == before
    assert set(calls) == {checks.call_of(t) for t in checks.ALL_CHECKS}
    assert "open(" not in runner and "listdir" not in runner


def test_inputs_are_new_for_every_grading_so_no_answer_can_be_prepared(workdir):
    """Outputs computed for one grading's inputs are wrong for the next grading's."""
    check = "svm_loss_vectorized:grad"
    first, second = checks.new_seed(), checks.new_seed()
    assert first != second
    cases = [checks.cases_for("svm_loss_vectorized", seed)["reg"]["X"] for seed in (first, second)]
    assert not np.allclose(*cases)
    old_outputs = sent_outputs(workdir, {check}, first)
    assert judging.judge(old_outputs, {check}, first) == {check: None}
    # Replay: the outputs of the first grading, judged against the second's inputs.
    assert judging.judge(old_outputs, {check}, second)[check], "stale outputs must not pass"


def test_checks_come_from_the_cell_metadata_or_its_code():
    import nbformat
    cell = nbformat.v4.new_code_cell("from classifiers.softmax import softmax_loss_naive\n"
                                     "from classifiers import Softmax\nx = Softmax()")
    assert checks.checks_for(cell) == {"softmax_loss_naive:loss", "softmax_loss_naive:grad", "Softmax:loss"}
    cell.metadata["kit"] = {"checks": ["LinearClassifier:train", "LinearSVM"]}
    assert checks.checks_for(cell) == {"LinearClassifier:train", "LinearSVM:loss"}


@pytest.mark.parametrize("typo", ["LinearClassifer:train", "svm_loss_naive:gradient", "softmax"])
def test_an_unknown_check_name_is_refused_not_dropped(typo):
    """A typo in a cell's kit.checks would otherwise remove a trusted check without a word."""
    import nbformat
    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata["kit"] = {"checks": ["LinearClassifier:predict", typo]}
    with pytest.raises(ValueError, match=typo):
        checks.checks_for(cell)


def test_release_refuses_a_notebook_declaring_an_unknown_check(tmp_path):
    """Named in the message: the notebook, the cell's grade_id and the unknown name."""
    import nbformat
    from kit import release
    from kit.cells import grade_id, is_test
    from kit.course import MASTER_PACKAGES, KitError
    kit_root = tmp_path / "kit_root"
    for folder in ("notebooks", "student", *MASTER_PACKAGES):   # what a release reads
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, kit_root / folder)
    path = kit_root / "notebooks" / "softmax.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if is_test(c) and c.metadata.get("kit", {}).get("checks"))
    cell.metadata["kit"]["checks"].append("softmax_loss_naive:los")
    nbformat.write(nb, str(path))
    with pytest.raises(KitError) as refused:
        release.run(kit_root=kit_root, course=tmp_path / "course", dist=tmp_path / "dist")
    message = str(refused.value)
    assert "softmax.ipynb" in message and repr(grade_id(cell)) in message, message
    assert "softmax_loss_naive:los" in message, message
    assert not (tmp_path / "course" / "source").exists(), "refused before anything was written"


def test_the_runner_is_a_python_file_sent_as_it_is():
    """Linters and coverage see the runner: the cell source is the file's text, unchanged."""
    runner, _ = checks.prepare({"svm_loss_naive:loss"}, 1)
    assert runner == (REPO / "kit" / "check_runner.py").read_text()
    assert f'_MIME = "{checks.MIME}"' in runner


def test_a_loop_in_a_helper_module_fails_the_vectorized_check(workdir):
    """The no-loop check judges the package: a loop moved into a module of its own still counts."""
    (workdir / "classifiers" / "helpers.py").write_text(
        "from .linear_svm import svm_loss_naive as looped\n")
    path = workdir / "classifiers" / "linear_svm.py"
    path.write_text(path.read_text() + "\n\ndef svm_loss_vectorized(W, X, y, reg):\n"
                    "    from .helpers import looped\n    return looped(W, X, y, reg)\n")
    verdicts = run_checks(workdir, ALL)
    assert {t for t, v in verdicts.items() if v} == {"svm_loss_vectorized:vectorized"}, verdicts
    assert "per example" in verdicts["svm_loss_vectorized:vectorized"]


def test_a_train_loop_that_calls_the_loss_twice_is_named(workdir):
    """Issue 24: computing and recording the loss twice per step was "other"."""
    path = workdir / "classifiers" / "linear_classifier.py"
    old = "            loss, grad = self.loss(X_batch, y_batch, reg)\n"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, old + "            loss_history.append(self.loss(X_batch, y_batch, reg)[0])\n"))
    seed = checks.new_seed()
    found = {}
    verdicts = judging.judge(sent_outputs(workdir, ["LinearClassifier:train"], seed),
                            ["LinearClassifier:train"], seed, mistakes=found)
    assert verdicts["LinearClassifier:train"] is not None
    assert found["LinearClassifier:train"] == ["loss_called_twice"]
