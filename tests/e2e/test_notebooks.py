"""Both notebooks run top to bottom with the reference solution on real CIFAR-10 data, from
notebooks/ in this repository, and the weights each presents as the learned templates look
like templates.

"Look like templates" is measured, not eyeballed: for each class, the correlation of its
weight image with the class's mean training image (relative to the mean of all training
images, as the classifier sees them; utils.vis_utils.template_correlation). The median over
the 10 classes is about 0.6 for a trained SVM and 0.9 for a strongly regularized Softmax,
and 0.03-0.26 for weights that still look like their random start, which is what the
notebooks used to show.
"""
import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The weights each notebook shows as "what the classifier learned".
TEMPLATES = {"svm.ipynb": "best_svm", "softmax.ipynb": "strong_softmax"}
MIN_MEDIAN_CORRELATION = 0.5

pytestmark = pytest.mark.slow


def measurement_cell(model):
    return nbformat.v4.new_code_cell(
        "import json as _json\n"
        "from utils.vis_utils import template_correlation as _tc\n"
        f"_corr = _tc({model}.W, X_train[:, :-1], y_train)\n"
        "print('TEMPLATES ' + _json.dumps([float(c) for c in _corr]))\n")


def execute(path, cwd, cifar10_dir):
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(measurement_cell(TEMPLATES[os.path.basename(path)]))
    env = {**os.environ, "CIFAR10_DIR": cifar10_dir, "MPLBACKEND": "Agg"}
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": cwd}}).execute(env=env)
    return nb


def stream_text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_notebook_runs_and_shows_real_templates(name, cifar10_dir):
    nb = execute(os.path.join(REPO, "notebooks", name), os.path.join(REPO, "notebooks"), cifar10_dir)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]
    line = next(l for l in stream_text(nb.cells[-1]).splitlines() if l.startswith("TEMPLATES "))
    correlations = sorted(json.loads(line.split(" ", 1)[1]))
    median = (correlations[4] + correlations[5]) / 2
    print(f"{name}: template correlation median {median:.2f}, per class {correlations}")
    assert median >= MIN_MEDIAN_CORRELATION, \
        f"{name}: the weights shown as templates correlate {median:.2f} (median) with the class means; " \
        f"expected at least {MIN_MEDIAN_CORRELATION}: they look like noise"
    # Every figure the notebook draws is an image, never a blank output.
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5, f"{name}: expected its figures, got {len(images)}"
    if name == "svm.ipynb":
        text_matches_the_sgd_output(nb)


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

# From a flat assignment folder: the grader runs the reference submission that way, see
# tests/e2e/test_autograde.py::test_reference_notebooks_run_without_errors_in_a_flat_folder.
