"""The diagnosis of failing trusted checks (kit/mistakes.py), on results sent the way the
checking kernel sends them: every mistake of the table is recognised from a function that
makes it (written here from the mistake's description, independently of the table's
predictions), the reference has none, and an unknown mistake is "other"."""
import base64
import io

import numpy as np
import pytest

from kit import checks, judging, mistakes, reference


def encoded(value):
    buf = io.BytesIO()
    np.save(buf, np.asarray(value, dtype=np.float64), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def outputs_of(call, function, cases):
    """The display outputs the checking kernel's runner would send for `call`."""
    outputs = []
    for case, a in cases.items():
        with np.errstate(all="ignore"):
            loss, dW = function(a["W"].copy(), a["X"].copy(), a["y"].copy(), float(a["reg"]))
        outputs.append({"output_type": "display_data", "data": {checks.MIME: {
            "call": call, "case": case, "arrays": {"loss": encoded(loss), "dW": encoded(dW)}}}})
    return outputs


def hinge(W, X, y, reg, *, margin=1.0, skip_correct=True, average=True, reg_grad=lambda W, reg, N: 2 * reg * W,
          reg_loss=True):
    """A multiclass SVM loss written out with loops, with a mistake switched on by the options."""
    N, C = X.shape[0], W.shape[1]
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(N):
        scores = X[i] @ W
        for j in range(C):
            if j == y[i] and skip_correct:
                continue
            m = scores[j] - scores[y[i]] + margin
            if m > 0:
                loss += m
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    if average:
        loss, dW = loss / N, dW / N
    return loss + (reg * np.sum(W * W) if reg_loss else 0.0), dW + reg_grad(W, reg, N)


def softmax_without_shift(W, X, y, reg):
    N = X.shape[0]
    e = np.exp(X @ W)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), y]))
    p[np.arange(N), y] -= 1
    return loss + reg * np.sum(W * W), X.T @ p / N + 2 * reg * W


def per_example(W, reg, N):
    total = np.zeros_like(W)
    for _ in range(N):
        total += 2 * reg * W
    return total


WRONG_SVMS = {
    "reg_missing_loss": dict(reg_loss=False),
    "reg_missing_grad": dict(reg_grad=lambda W, reg, N: 0 * W),
    "reg_grad_per_example": dict(reg_grad=per_example),
    "reg_grad_factor_2": dict(reg_grad=lambda W, reg, N: reg * W),
    "summed_not_averaged": dict(average=False),
    "margin_counts_correct_class": dict(skip_correct=False),
    "margin_zero": dict(margin=0.0),
}
LOSS_ONLY = ("reg_missing_loss", "margin_counts_correct_class")


def diagnosed(check, function, seed=12345):
    call = checks.call_of(check)
    outputs = {call: outputs_of(call, function, checks.cases_for(call, seed))}
    found = {}
    verdicts = judging.judge(outputs, {check}, seed, found)
    return verdicts[check], found[check]


@pytest.mark.parametrize("name", sorted(WRONG_SVMS))
def test_each_svm_mistake_is_named(name):
    function = lambda W, X, y, reg: hinge(W, X, y, reg, **WRONG_SVMS[name])
    # Each check judges its own aspect: a mistake that leaves the gradient right shows on
    # the loss's check only (counting the correct class adds 1 per example to the loss and
    # cancels in dW).
    check = "svm_loss_naive:loss" if name in LOSS_ONLY else "svm_loss_naive:grad"
    verdict, found = diagnosed(check, function)
    assert verdict is not None and found == [name]


def test_the_reference_and_a_loop_version_have_no_mistake():
    for check in ("svm_loss_naive:grad", "svm_loss_vectorized:loss"):
        assert diagnosed(check, hinge) == (None, [])
    assert diagnosed("softmax_loss_vectorized:grad", reference.softmax_loss) == (None, [])
    assert diagnosed(checks.OFFSET, reference.softmax_loss) == (None, [])


@pytest.mark.parametrize("check", ["softmax_loss_naive:offset", checks.OFFSET])
def test_no_max_shift_is_named_on_the_offset_check(check):
    verdict, found = diagnosed(check, softmax_without_shift)
    assert verdict is not None and found == ["no_max_shift"]
    # At the loss checks' small scores the same function is right.
    assert diagnosed("softmax_loss_vectorized:grad", softmax_without_shift) == (None, [])


def test_softmax_regularization_mistakes_are_named():
    def no_reg_loss(W, X, y, reg):
        return reference.softmax_loss(W, X, y, 0.0)[0], reference.softmax_loss(W, X, y, reg)[1]
    verdict, found = diagnosed("softmax_loss_naive:loss", no_reg_loss)
    assert verdict is not None and found == ["reg_missing_loss"]
    # Margin mistakes are the SVM's only.
    assert all(not m.svm_only or "margin" in m.name for m in mistakes.MISTAKES)


def test_an_unknown_mistake_is_other_and_no_readable_result_is_no_result():
    verdict, found = diagnosed("svm_loss_naive:grad", lambda W, X, y, reg: (hinge(W, X, y, reg)[0] * 1.5, W))
    assert verdict is not None and found == [mistakes.OTHER]
    verdict, found = diagnosed("svm_loss_naive:grad", lambda W, X, y, reg: (hinge(W, X, y, reg)[0], W[:2]))
    assert verdict is not None and found == [mistakes.NO_RESULT]
    found = {}
    judging.judge({}, {"svm_loss_naive:loss", "LinearClassifier:predict"}, 1, found)
    assert found == {"svm_loss_naive:loss": [mistakes.NO_RESULT], "LinearClassifier:predict": [mistakes.NO_RESULT]}


def test_every_mistake_has_words_for_students():
    assert len({m.name for m in mistakes.MISTAKES}) == len(mistakes.MISTAKES)
    for m in mistakes.MISTAKES:
        assert m.words.endswith(".") and "hidden" not in m.words.lower()
    assert mistakes.words("not-a-mistake") == mistakes.words(mistakes.OTHER)


def softmax_with(W, X, y, reg, *, reg_loss=1.0, reg_grad=1.0, eps=0.0):
    """A softmax loss written out with its regularization scaled by the given factors (each a
    function of N) and eps inside the log, as public course solutions write it."""
    N = X.shape[0]
    S = X @ W
    S = S - S.max(axis=1, keepdims=True)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(P[np.arange(N), y] + eps)) + reg_loss(N) * reg * np.sum(W * W)
    G = P.copy()
    G[np.arange(N), y] -= 1
    return loss, X.T @ G / N + reg_grad(N) * 2 * reg * W


ONE = lambda N: 1.0  # noqa: E731
WRONG_SOFTMAXES = {
    # Issue 24's unnamed mistake: the regularization divided by N, with +1e-8 inside the log:
    # both named on the loss, the first on the gradient.
    "reg_scaled_by_n": (dict(reg_loss=lambda N: 1.0 / N, reg_grad=lambda N: 1.0 / N, eps=1e-8),
                        {"softmax_loss_vectorized:loss": ["log_epsilon", "reg_scaled_by_n"],
                         "softmax_loss_vectorized:grad": ["reg_scaled_by_n"]}),
    "log_epsilon": (dict(eps=1e-8), {"softmax_loss_naive:loss": ["log_epsilon"]}),
    "reg_loss_half": (dict(reg_loss=lambda N: 0.5), {"softmax_loss_naive:loss": ["reg_loss_half"]}),
    "reg_loss_per_example": (dict(reg_loss=lambda N: N), {"softmax_loss_naive:loss": ["reg_loss_per_example"]}),
}


@pytest.mark.parametrize("name", sorted(WRONG_SOFTMAXES))
def test_slips_of_public_solutions_are_named(name):
    options, expected = WRONG_SOFTMAXES[name]
    function = lambda W, X, y, reg: softmax_with(W, X, y, reg, **{"reg_loss": ONE, "reg_grad": ONE, **options})
    for check, names in expected.items():
        verdict, found = diagnosed(check, function)
        assert verdict is not None and found == names, (check, found)


def test_mistake_words_do_not_hand_over_the_fix():
    """Feedback says where to look and what kind of slip, never the formula (issue 26)."""
    for mistake in mistakes.MISTAKES:
        for giveaway in ("2 * reg * W", "subtract", "max(", "j == y", "instead of 1", "divide by"):
            assert giveaway not in mistake.words, (mistake.name, giveaway)


STUBS = {
    "linear_svm.py": "def svm_loss_naive(W, X, y, reg):\n"
                     "    raise NotImplementedError('svm_loss_naive: not implemented yet')\n\n\n"
                     "def svm_loss_vectorized(W, X, y, reg):\n    return {}['no such key']\n",
    "softmax.py": "def softmax_loss_naive(W, X, y, reg)\n    pass\n",          # a syntax error
    "linear_classifier.py": "import numpy as np\n\n\nclass LinearClassifier:\n    W = None\n\n"
                            "    def predict(self, X):\n        pass\n\n\n"
                            "class LinearSVM(LinearClassifier):\n    def loss(self, X, y, reg):\n"
                            "        return 1.0, np.zeros_like(self.W)\n",
}


def test_each_cause_of_a_missing_result_has_its_bucket(tmp_path):
    """The runner in a real kernel, on stubs that fail each way: the check's cause comes from
    what the kernel sent (check_results.failures_of), one bucket per cause (issue 24, item 8)."""
    import shutil

    import nbformat
    from nbclient import NotebookClient
    repo = __import__("pathlib").Path(__file__).resolve().parents[2]
    (tmp_path / "classifiers").mkdir()
    (tmp_path / "classifiers" / "__init__.py").write_text("")
    for name, text in STUBS.items():
        (tmp_path / "classifiers" / name).write_text(text)
    shutil.copytree(repo / "utils", tmp_path / "utils")
    wanted = {"svm_loss_naive:loss", "svm_loss_vectorized:loss", "softmax_loss_naive:loss",
              "LinearClassifier:predict", "LinearSVM:loss"}
    seed = checks.new_seed()
    runner, calls = checks.prepare(wanted, seed)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(runner)] +
                                  [nbformat.v4.new_code_cell(source) for source in calls.values()])
    NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = {call: cell.outputs for call, cell in zip(calls, nb.cells[1:])}
    found = {}
    verdicts = judging.judge(outputs, wanted, seed, found)
    assert all(verdicts.values()), verdicts
    assert found == {"svm_loss_naive:loss": [mistakes.NOT_IMPLEMENTED],
                     "svm_loss_vectorized:loss": [mistakes.RAISED],
                     "softmax_loss_naive:loss": [mistakes.IMPORT_FAILED],
                     "LinearClassifier:predict": [mistakes.NO_RESULT],
                     "LinearSVM:loss": [mistakes.OTHER]}
    # Causes are never named to a student as a mistake (the cell's own error says more).
    from kit.verdicts import mistake_lines
    assert mistake_lines([n for names in found.values() for n in names]) == []
