"""The grader's trusted checks: right code passes, wrong or lying code fails, and nothing the
student's process wrote is ever unpickled or trusted by type."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kit import probes

REPO = Path(__file__).resolve().parent.parent
ALL = set(probes.TARGETS)


def run_checks(workdir, targets, seed=None):
    """What the grader does, but with an ordinary Python process in place of the sandbox."""
    seed = probes.new_seed() if seed is None else seed
    runner, calls = probes.prepare(workdir, targets, seed)
    subprocess.run([sys.executable, "-c", runner + "\n" + "\n".join(calls)], cwd=workdir, check=True,
                   capture_output=True)
    return probes.judge(workdir, targets, seed)


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(REPO / "classifiers", tmp_path / "classifiers")
    return tmp_path


def test_reference_passes_every_check(workdir):
    assert run_checks(workdir, ALL) == {t: None for t in ALL}


@pytest.mark.parametrize("module, old, new, broken", [
    ("linear_svm.py", "dW += 2 * reg * W", "dW += reg * W", {"svm_loss_naive:grad"}),
    ("linear_svm.py", "loss += reg * np.sum(W * W)", "loss += 0.5 * reg * np.sum(W * W)",
     {"svm_loss_naive:loss", "svm_loss_naive:grad"}),
    ("softmax.py", "shifted -= shifted.max(axis=1, keepdims=True)", "pass", {probes.OFFSET}),
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
    verdicts = run_checks(workdir, probes.expand(["softmax_loss_vectorized"]) | {probes.OFFSET})
    assert verdicts["softmax_loss_vectorized:loss"] is None and verdicts[probes.OFFSET]


def test_results_are_never_unpickled_or_taken_on_trust(workdir):
    check = "svm_loss_naive:loss"
    probes.prepare(workdir, {check}, seed=1)
    out = workdir / probes.PROBE_DIR / "svm_loss_naive" / "out" / "reg0"
    out.mkdir(parents=True)
    np.save(out / "loss.npy", np.array([object()], dtype=object), allow_pickle=True)
    np.save(out / "dW.npy", np.zeros((14, 6)))
    assert "could not be read as a plain array" in probes.judge(workdir, {check}, seed=1)[check]
    np.save(out / "loss.npy", np.zeros((2, 2)))
    assert "shape" in probes.judge(workdir, {check}, seed=1)[check]


def test_inputs_are_new_for_every_grading_so_no_answer_can_be_prepared(workdir):
    """Outputs computed for one grading's inputs are wrong for the next grading's."""
    check = "svm_loss_vectorized:grad"
    first, second = probes.new_seed(), probes.new_seed()
    assert first != second
    cases = [probes.cases_for("svm_loss_vectorized", seed)["reg"]["X"] for seed in (first, second)]
    assert not np.allclose(*cases)
    assert run_checks(workdir, {check}, seed=first) == {check: None}
    # Replay: the outputs of the first grading, judged against the second's inputs.
    probes.prepare(workdir, {check}, second)  # clears the folder: write the old outputs back
    run_checks(workdir, {check}, seed=first)
    assert probes.judge(workdir, {check}, second)[check], "stale outputs must not pass"


def test_checks_come_from_the_cell_metadata_or_its_code():
    import nbformat
    cell = nbformat.v4.new_code_cell("from classifiers.softmax import softmax_loss_naive\n"
                                     "from classifiers import Softmax\nx = Softmax()")
    assert probes.checks_for(cell) == {"softmax_loss_naive:loss", "softmax_loss_naive:grad", "Softmax:loss"}
    cell.metadata["kit"] = {"checks": ["LinearClassifier:train", "not_a_check"]}
    assert probes.checks_for(cell) == {"LinearClassifier:train"}
