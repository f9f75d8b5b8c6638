"""Both notebooks run top to bottom with the reference solution on real CIFAR-10 data, as the
grader runs them (the reference submission graded in full in the sandbox, once per session:
tests/conftest.py), and the weights each presents as the learned templates look like
templates; the setup cell also finds the package from notebooks/ in this repository.

"Look like templates" is measured, not eyeballed: for each class, the correlation of its
weight image with the class's mean training image (relative to the mean of all training
images, as the classifier sees them; utils.vis_utils.template_correlation). The median over
the 10 classes is about 0.6 for a trained SVM and 0.9 for a strongly regularized Softmax,
and 0.03-0.26 for weights that still look like their random start, which is what the
notebooks used to show.

The Softmax notebook's weak-regularization model (reg 1e3) is measured too, because its
picture is there to show what a weak penalty lets the weights learn (issue 26). Started from
train's default 0.001 * randn, it was mostly that random start after its 1,500 steps (the
decay per step is only 1 - 1e-3): median correlation 0.96 with its initial weights and 0.13
with the class means on the tests' data (4,170 training images), 0.96 and 0.12 at full size
(the same images tiled to 49,000), so the question about it asked why it was noisy while the
picture showed noise the data had never touched. Started from 1e-5 * randn, as the notebook
now does, it measures 0.04 with its initial weights and 0.52 with the class means on the
tests' data, and 0.04 and 0.52 at full size, against 0.88 for the strong model at both sizes:
class templates, grainier than the strong model's. The thresholds sit between the two
setups, far from both: at most 0.2 with the initial weights, at least 0.4 with the class means.
The best model of the reference search, which the notebook now shows as well (learning rate
5e-7, reg 2.5e3 on the tests' data, started from train's default 0.001 * randn), measures 0.53
with the class means there; it is printed (BEST), not asserted.
"""
import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from notebook_measurements import TEMPLATES

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIN_MEDIAN_CORRELATION = 0.5
MIN_WEAK_CORRELATION = 0.4        # with the class means: a class template, if a grainy one
MAX_WEAK_START_CORRELATION = 0.2  # with the initial weights: the random start is gone

pytestmark = pytest.mark.slow


def stream_text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_notebook_runs_and_shows_real_templates(name, reference_graded_in_full):
    """The reference submission's notebooks as the grader ran them in full, in the sandbox (one
    run for the session, shared with tests/e2e/test_autograde.py), with a measurement cell at
    the end of each (tests/notebook_measurements.py)."""
    nb = nbformat.reads(reference_graded_in_full.notebooks[name].graded, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]
    measuring = next(c for c in nb.cells if "_show('TEMPLATES'" in c.source)
    measured = measurements(measuring)
    median = measured["TEMPLATES"]
    notes = [l for l in stream_text(measuring).splitlines() if l.startswith("best setting")]
    print(f"{name}: template correlation medians {measured}", *notes)
    assert median >= MIN_MEDIAN_CORRELATION, \
        f"{name}: the weights shown as templates correlate {median:.2f} (median) with the class means; " \
        f"expected at least {MIN_MEDIAN_CORRELATION}: they look like noise"
    # Every figure the notebook draws is an image, never a blank output.
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5, f"{name}: expected its figures, got {len(images)}"
    if name == "svm.ipynb":
        text_matches_the_sgd_output(nb)
        text_matches_the_strategy_outputs(nb)
    else:
        weak_model_is_not_its_random_start(measured)
        text_matches_the_weights_output(nb)


def measurements(cell):
    """{label: median over the classes} of the measurement cell's lines."""
    import statistics
    found = {}
    for line in stream_text(cell).splitlines():
        label, _, values = line.partition(" ")
        if label.isupper() and values.startswith("["):
            found[label] = statistics.median(json.loads(values))
    assert "TEMPLATES" in found, stream_text(cell)[:500]
    return found


def weak_model_is_not_its_random_start(measured):
    """The weak-regularization picture shows what the weak penalty let the weights learn, not
    what is left of their random start (see the module docstring for the measurements)."""
    assert measured["WEAK_START"] <= MAX_WEAK_START_CORRELATION, \
        f"softmax.ipynb: the weakly regularized weights correlate {measured['WEAK_START']:.2f} " \
        f"(median) with their initial weights; expected at most {MAX_WEAK_START_CORRELATION}: " \
        f"the picture shows the random start"
    assert measured["WEAK"] >= MIN_WEAK_CORRELATION, \
        f"softmax.ipynb: the weakly regularized weights correlate {measured['WEAK']:.2f} (median) " \
        f"with the class means; expected at least {MIN_WEAK_CORRELATION}: they look like noise"


def text_matches_the_sgd_output(nb):
    """svm_sgd_md announces a regularization loss of about 770 at the start, and that the first
    line printed (after 100 steps) shows it lower (issue 26: the text promised a first total
    of about 770, the cell printed 276 and no total)."""
    import re
    index = next(i for i, c in enumerate(nb.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "svm_sgd_md")
    assert "approx 770" in nb.cells[index].source and "after the first 100" in nb.cells[index].source
    printed = stream_text(nb.cells[index + 1])
    first = re.search(r"iteration\s+100: data loss ([0-9.]+), regularization loss ([0-9.]+)", printed)
    assert first, printed[:500]
    data_loss, reg_loss = map(float, first.groups())
    assert reg_loss < 770 and data_loss < 9.5, printed[:500]

def text_matches_the_strategy_outputs(nb):
    """What the SVM notebook's text says of the outputs around Inline question 4, against what
    its cells print (issue 26's read-through: text, printed numbers and figures agree):
    random search lowers the loss only a little; a handful of numerical-gradient steps beat a
    thousand random guesses; the two gradients of the small problem agree to about 1e-3; the
    minibatch gradient points roughly the same way as the full one; the gradient check's
    errors are about 1e-7 or less."""
    import re
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}

    def said(grade_id, phrase):
        assert phrase in by_id[grade_id].source, (grade_id, phrase)

    def number(grade_id, pattern):
        found = re.findall(pattern, stream_text(by_id[grade_id]))
        assert found, (grade_id, pattern, stream_text(by_id[grade_id])[:500])
        return float(found[-1])

    one = number("svm_random_search", r"loss of one random W: ([0-9.]+)")
    best = number("svm_random_search", r"best loss of \d+ random tries: ([0-9.]+)")
    said("svm_numgrad_md", "only a little below that of a single random guess")
    assert 0 < one - best < 0.25 * one, (one, best)
    walked = number("svm_numgrad_descent", r"step +\d+: loss ([0-9.]+)")
    said("svm_analytic_md", "lowers the loss more than a thousand random guesses did")
    assert walked < best, (walked, best)
    said("svm_analytic_md", "to about 1e-3")
    difference = number("svm_analytic_vs_numerical", r"whole matrix\): ([0-9.e+-]+)")
    assert 1e-4 <= difference <= 1e-2, difference
    said("svm_sgd_md", "points roughly the same way")
    assert number("svm_minibatch_gradient", r"cosine similarity of the two gradients: ([0-9.-]+)") > 0.5
    said("svm_gradcheck_md", "about 1e-7 or")
    for regularization in ("0", "5e1"):
        assert number("svm_naive_gradcheck", rf"reg = {regularization}: +relative errors: median \S+, "
                                              r"largest ([0-9.e+-]+)") < 1e-5


def text_matches_the_weights_output(nb):
    """softmax_weights_md names the measurements printed for each model shown; the best model
    of the search has no recorded start, so it cannot come "with the same measurements" as the
    two contrast models (issue 26's read-through: the text promised them, one line lacked one)."""
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    text = " ".join(by_id["softmax_weights_md"].source.split())
    printed = stream_text(by_id["softmax_show_weights"]).splitlines()
    for model in ("regularization 2.5e+04", "regularization 1.0e+03"):
        line = next(l for l in printed if l.startswith(model))
        for measured in ("training accuracy", "validation accuracy", "correlation with the class means",
                         "with the starting weights"):
            assert measured in line, (model, measured, line)
    best = next(l for l in printed if l.startswith("best model of your search"))
    promised = ["training accuracy", "validation accuracy", "correlation with the class means"]
    if "same measurements" in text:
        promised.append("with the starting weights")
    for measured in promised:
        assert measured in best, (measured, best)


# From a flat assignment folder: the grader runs the reference submission that way, see
# tests/e2e/test_autograde.py::test_reference_notebooks_run_without_errors_in_a_flat_folder.


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_setup_cell_finds_the_package_from_the_repositorys_notebooks_folder(name, cifar10_dir):
    """The grader runs the notebooks from a flat folder (above); a maintainer runs them from
    notebooks/ here, where the setup cell finds classifiers/ and utils/ one level up."""
    nb = nbformat.read(os.path.join(REPO, "notebooks", name), as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    probe = nbformat.v4.new_code_cell("import classifiers, utils\nprint(os.path.dirname(classifiers.__file__))")
    nb.cells = [setup, probe]
    env = {**os.environ, "CIFAR10_DIR": cifar10_dir, "MPLBACKEND": "Agg"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": os.path.join(REPO, "notebooks")}}).execute(env=env)
    assert os.path.realpath(stream_text(nb.cells[1]).strip()) == os.path.realpath(os.path.join(REPO, "classifiers"))
