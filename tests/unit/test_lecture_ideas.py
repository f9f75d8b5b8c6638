"""The lecture's ideas the notebooks teach by asking (issue 26, item 7), and the totals
(item B), read from the notebooks' JSON and run cell by cell, without a whole notebook:

- the lecture's three images (losses 2.9, 0, 12.9, mean 5.27), the initial loss for any C
  (SVM: C - 1; Softmax: log C), the binary SVM as the two-class case, the regularizers
  written out (L1, elastic net, max norm, dropout; simpler models) and L1's sparsity: each is
  something the student computes or predicts in a cell of their own, which the release empties,
  followed by a cell that checks it, and each check tells a right answer from a wrong one;
- both notebooks state the assignment's total and their own share, equal to the nbgrader
  points, in both editions;
- no figure a notebook draws carries an English sentence (captions are in the text).
"""
import ast
import contextlib
import io
import json
import re

import numpy as np
import pytest

from kit import i18n
from kit.notebook_rules import BEGIN_SOLUTION, END_SOLUTION
from kit_helpers import REPO

NOTEBOOKS = ("svm.ipynb", "softmax.ipynb")


def cells(name):
    nb = json.loads((REPO / "notebooks" / name).read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]}, nb["cells"]


def source(cell):
    return "".join(cell["source"])


def model_answer(cell):
    """A solution cell with its markers dropped: the instructor's answer, runnable."""
    return "\n".join(line for line in source(cell).splitlines()
                     if BEGIN_SOLUTION not in line and END_SOLUTION not in line)


def run(code, namespace):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, namespace)
    return out.getvalue()


def namespace():
    from classifiers.linear_svm import svm_loss_naive
    from classifiers.softmax import softmax_loss_naive
    return {"np": np, "svm_loss_naive": svm_loss_naive, "softmax_loss_naive": softmax_loss_naive}


# (notebook, the student's cell, the cell that checks it, a text the question cell holds)
EXERCISES = [
    ("svm.ipynb", "svm_lecture_example_losses", "svm_lecture_example_check", "three images"),
    ("svm.ipynb", "svm_initial_loss_prediction", "svm_initial_loss_check", "any number of classes"),
    ("svm.ipynb", "svm_regularizers_compute", "svm_regularizers_check", "elastic net"),
    ("softmax.ipynb", "softmax_initial_loss_prediction", "softmax_initial_loss_check",
     "any number of classes"),
]


@pytest.mark.parametrize("name, answer, check, asked", EXERCISES, ids=[e[1] for e in EXERCISES])
def test_each_exercise_asks_first_and_checks_after(name, answer, check, asked):
    by_id, ordered = cells(name)
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in ordered]
    meta = by_id[answer]["metadata"]["nbgrader"]
    # The student's cell: their code, emptied by the release, worth no points (self-check).
    assert meta["solution"] and not meta["grade"] and not meta["locked"]
    assert BEGIN_SOLUTION in source(by_id[answer]) and END_SOLUTION in source(by_id[answer])
    assert by_id[check]["metadata"]["nbgrader"]["locked"] and ids.index(answer) < ids.index(check)
    question = next(source(c) for c in reversed(ordered[:ids.index(answer)]) if c["cell_type"] == "markdown")
    assert asked in question, question


def test_the_lecture_example_is_checked_against_the_students_own_loss():
    by_id, _ = cells("svm.ipynb")
    ns = namespace()
    run(model_answer(by_id["svm_lecture_example_losses"]), ns)
    out = run(source(by_id["svm_lecture_example_check"]), ns)
    for image, loss in (("cat", "2.90"), ("car", "0.00"), ("frog", "12.90")):
        assert re.search(rf"{image}\s+by hand\s+{loss}\s+svm_loss_naive\s+{loss}", out), out
    assert "data loss L: by hand 5.27   svm_loss_naive 5.27" in out and "they agree" in out
    ns["hand_losses"] = [2.9, 0.0, 6.3]   # the frog's second term forgotten
    assert "they differ" in run(source(by_id["svm_lecture_example_check"]), ns)
    # The table is the lecture's; the student's hand numbers are not in what they get.
    table = source(by_id["svm_lecture_example_md"])
    for row in ("| cat | **3.2** | 5.1 | -1.7 |", "| car | 1.3 | **4.9** | 2.0 |",
                "| frog | 2.2 | 2.5 | **-3.1** |"):
        assert row in table
    assert "12.9" not in table and "5.27" not in table


@pytest.mark.parametrize("name, expected", [("svm.ipynb", lambda c: c - 1.0),
                                            ("softmax.ipynb", np.log)])
def test_the_initial_loss_for_any_number_of_classes(name, expected):
    by_id, _ = cells(name)
    prefix = "svm" if name == "svm.ipynb" else "softmax"
    ns = namespace()
    run(model_answer(by_id[f"{prefix}_initial_loss_prediction"]), ns)
    out = run(source(by_id[f"{prefix}_initial_loss_check"]), ns)
    rows = re.findall(r"C = +(\d+): \w+ +([\d.]+) +your prediction +([\d.]+)", out)
    assert [int(c) for c, *_ in rows] == [2, 3, 10, 100], out
    for c, measured, predicted in rows:
        assert float(predicted) == pytest.approx(expected(int(c)), abs=1e-3)
        assert float(measured) == pytest.approx(expected(int(c)), abs=0.02), out


def test_the_two_class_svm_is_the_binary_hinge():
    by_id, _ = cells("svm.ipynb")
    assert "binary SVM" in source(by_id["svm_binary_md"]) and "**Predict**" in source(by_id["svm_binary_md"])
    out = run(source(by_id["svm_binary_check"]), namespace())
    rows = re.findall(r"multiclass L_i ([\d.]+) +binary hinge ([\d.]+)", out)
    assert len(rows) == 6 and all(a == b for a, b in rows), out


def test_the_regularizers_are_written_out_and_computed():
    by_id, _ = cells("svm.ipynb")
    text = source(by_id["svm_regularizers_md"])
    for idea in (r"\sum_{k,l} |W_{k,l}|", "elastic net", "max norm", "dropout", "simpler",
                 "Occam"):
        assert idea in text, idea

    class Trained:
        W = np.random.default_rng(0).standard_normal((7, 3))
    ns = {**namespace(), "svm": Trained}
    run(model_answer(by_id["svm_regularizers_compute"]), ns)
    out = run(source(by_id["svm_regularizers_check"]), ns)
    assert out.count("right") == 3, out
    ns["l1_penalty"] = np.sum(Trained.W)   # absolute values forgotten
    out = run(source(by_id["svm_regularizers_check"]), ns)
    assert re.search(r"l1_penalty .* not what the formula gives", out), out


def test_the_regularizers_print_the_trained_weights_penalties_readably():
    """The weights the SVM notebook trains are small (its L2 penalty about 2e-5 on the run the
    issue-26 read-through looked at): printed with four decimals it read "l2_penalty 0.0000
    right" and the elastic net equal to L1, as if the weights had no L2 penalty at all."""
    by_id, _ = cells("svm.ipynb")

    class Trained:
        W = 5e-5 * np.random.default_rng(1).standard_normal((3073, 10))
    ns = {**namespace(), "svm": Trained}
    run(model_answer(by_id["svm_regularizers_compute"]), ns)
    out = run(source(by_id["svm_regularizers_check"]), ns)
    for name in ("l2_penalty", "l1_penalty", "elastic_net_penalty"):
        printed = float(re.search(rf"{name}\s+(\S+)\s+right", out).group(1))
        assert printed == pytest.approx(ns[name], rel=1e-3), (name, out)


def test_l1_sparsity_is_shown_after_question_4():
    by_id, ordered = cells("svm.ipynb")
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in ordered]
    assert ids.index("q_svm_l2_vs_l1") < ids.index("svm_l1_sparsity_md") < ids.index("svm_l1_sparsity_check")
    before = "".join(source(c) for c in ordered[:ids.index("q_svm_l2_vs_l1")]
                     if c["cell_type"] == "markdown" and not c["metadata"]["nbgrader"]["solution"])
    assert not re.search(r"\bsparse\b|sparsity", before), "Question 4's answer before it is asked"
    out = run(source(by_id["svm_l1_sparsity_check"]), namespace())
    assert re.search(r"L1 .* exact zeros: 3", out) and re.search(r"L2 .* exact zeros: 0", out), out


# --- the totals ---------------------------------------------------------------------------

def points():
    found = {}
    for name in NOTEBOOKS:
        _, ordered = cells(name)
        found[name] = sum(c["metadata"]["nbgrader"].get("points", 0) for c in ordered
                          if c["metadata"]["nbgrader"].get("grade"))
    return found


def intro(name, lang):
    text = (REPO / "notebooks" / name).read_text()
    if lang != "en":
        table = i18n.load_table(i18n.table_path(REPO, lang, f"notebooks/{name}"))
        text = i18n.translate_text(f"notebooks/{name}", text, table, lang)
    return source(json.loads(text)["cells"][0])


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_states_the_total_and_its_share(name, lang):
    share = points()
    total = sum(share.values())
    other = next(n for n in NOTEBOOKS if n != name)
    percent = round(100 * share[name] / total)
    text = " ".join(intro(name, lang).split())
    if lang == "en":
        stated = (f"This notebook is worth {share[name]} of the assignment's {total} points "
                  f"({percent}%); `{other}` holds the other {share[other]}.")
    else:
        stated = (f"이 노트북은 과제 전체 {total}점 중 {share[name]}점({percent}%)이고, 나머지 "
                  f"{share[other]}점은 `{other}`에 있습니다.")
    assert stated in text, text


# --- figures ------------------------------------------------------------------------------

def test_figures_carry_no_sentence():
    """show_weights and show_mean_image write an English caption unless told not to; the
    notebooks say it in their (translated) text instead."""
    for name in NOTEBOOKS:
        _, ordered = cells(name)
        for cell in ordered:
            if cell["cell_type"] != "code":
                continue
            code = "\n".join(l for l in source(cell).splitlines() if not l.startswith("%"))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                        "show_weights", "show_mean_image"):
                    caption = [k for k in node.keywords if k.arg == "caption"]
                    assert caption and caption[0].value.value is False, \
                        f"{name} {cell['metadata']['nbgrader']['grade_id']}: {ast.unparse(node)}"


def test_comments_above_a_figure_name_only_panels_it_draws():
    """plot_training draws the data loss, the regularization loss and the validation accuracy,
    never their total: a comment that speaks of the total loss says what it would show (the
    SVM notebook's comment read "The total loss mostly shows ...", a curve nobody sees)."""
    for name in NOTEBOOKS:
        _, ordered = cells(name)
        for cell in ordered:
            text = source(cell)
            if cell["cell_type"] != "code" or "plot_training(" not in text:
                continue
            comment = " ".join(l.strip().lstrip("#").strip() for l in text.splitlines()
                               if l.strip().startswith("#"))
            for sentence in re.split(r"(?<=[.;:])\s+", comment):
                if "total loss" in sentence:
                    assert "would" in sentence, f"{name} {cell['metadata']['nbgrader']['grade_id']}: {sentence}"


def test_the_losses_announced_at_the_start_of_training_are_those_of_its_start(cifar10_dir):
    """svm_sgd_md announces the two parts of the loss at `train`'s start (weights 0.001 * randn,
    reg 2.5e4): both are measured here on the dev images. (It said "the data loss of about 9",
    the loss of far smaller weights; at this start it is about 23.)"""
    from classifiers.linear_svm import svm_loss_vectorized
    from utils.data_utils import get_CIFAR10_data
    by_id, _ = cells("svm.ipynb")
    text = " ".join(source(by_id["svm_sgd_md"]).split())
    announced_reg = float(re.search(r"\\approx (\d+)\$, far above the data loss", text).group(1))
    announced_data = float(re.search(r"data loss(?:, which is| of) about (\d+)", text).group(1))
    data = get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000, num_dev=500,
                            cifar10_dir=cifar10_dir)
    np.random.seed(0)
    W = 0.001 * np.random.randn(3073, 10)
    assert 2.5e4 * np.sum(W * W) == pytest.approx(announced_reg, rel=0.05)
    measured = svm_loss_vectorized(W, data["X_dev"], data["y_dev"], 0.0)[0]
    assert measured == pytest.approx(announced_data, rel=0.25), measured
